//! Any bytes as a POST/PUT body for a User and a Group: decoding and
//! normalising never panic, and normalising is idempotent (what is stored
//! reads back as itself when a PATCH re-normalises it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::schema::ResourceKind;
use scimd::scim::{input, resource};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = input::decode(data) else {
        return;
    };
    if input::check_strings(&body).is_err() {
        return;
    }
    for kind in [ResourceKind::User, ResourceKind::Group] {
        if let Ok(once) = resource::normalize(kind, body.clone()) {
            let twice = resource::normalize(kind, once.resource.clone())
                .expect("a normalised resource normalises again");
            assert_eq!(twice.resource, once.resource);
        }
    }
});
