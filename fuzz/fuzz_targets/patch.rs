//! Any bytes as a PATCH request body, applied to a stored User and Group as
//! the services do: decoding, checking, parsing, applying and normalising
//! never panic, and an accepted result keeps within the length limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::schema::ResourceKind;
use scimd::scim::{input, patch, resource};
use serde_json::{Value, json};

fn stored(kind: ResourceKind) -> Value {
    match kind {
        ResourceKind::User => json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ann@example.com",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true},
                       {"value": "ann@home.example", "type": "home"}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            "active": true,
        }),
        ResourceKind::Group => json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales",
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = input::decode(data) else {
        return;
    };
    if input::check_strings(&body).is_err() {
        return;
    }
    let Ok(ops) = patch::parse_patch_request(&body) else {
        return;
    };
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let _ = patch::check_own_id(&ops, "me");
        if let Ok(patched) = patch::apply(kind, &stored(kind), &ops)
            && let Ok(incoming) = resource::normalize(kind, patched)
        {
            assert!(input::check_lengths(kind, &incoming.resource).is_ok());
        }
    }
});
