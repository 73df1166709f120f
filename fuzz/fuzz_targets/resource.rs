//! Any bytes as a POST or PUT body, through everything the domain does
//! with one before the database: decoding (repeated keys refused), the
//! control-character check, normalisation of a User and of a Group (length
//! limits included), and what the policy and the card read from a User.
//! Nothing may panic; whatever normalises must normalise again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::card;
use scimd::scim::input;
use scimd::scim::policy::Policy;
use scimd::scim::resource::normalize;
use scimd::scim::schema::ResourceKind;

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = input::decode(bytes) else {
        return;
    };
    if input::check_strings(&body).is_err() {
        return;
    }
    let policy = Policy::default();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let Ok(incoming) = normalize(kind, body.clone()) else {
            continue;
        };
        let again = normalize(kind, incoming.resource.clone())
            .expect("a normalised resource normalises again");
        assert_eq!(
            again.resource, incoming.resource,
            "normalising twice changed it"
        );
        if kind == ResourceKind::User {
            let user = &incoming.resource;
            let _ = policy.check_names(user);
            let _ = policy.admin_flags(user);
            let _ = policy.standing(user);
            let _ = card::card_from_user(user);
            let _ = card::email_values(user);
        }
    }
});
