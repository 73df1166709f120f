//! Any bytes as a PATCH body, applied as the service applies one: decoded
//! and checked as the HTTP layer does, parsed (operations and their paths,
//! value filters included), applied to a stored User and a stored Group,
//! and the result normalised (length limits included). Nothing may panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scimd::scim::input;
use scimd::scim::patch::{apply, check_own_id, parse_patch_request};
use scimd::scim::resource::normalize;
use scimd::scim::schema::ResourceKind;
use serde_json::{Value, json};

/// Resources as they are stored: every kind of attribute a PATCH can aim at.
static STORED: LazyLock<[(ResourceKind, Value); 2]> = LazyLock::new(|| {
    let user = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "ann@example.com",
        "externalId": "ext-1",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "displayName": "Ann Lee",
        "title": "Engineer",
        "active": true,
        "emails": [
            {"value": "ann@example.com", "type": "work", "primary": true},
            {"value": "ann@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
        "addresses": [{"type": "work", "locality": "Lisbon", "country": "PT"}],
        "roles": [{"value": "Global Administrator"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "R&D",
            "manager": {"value": "0190f2a0-0000-7000-8000-000000000001"}
        }
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "externalId": "grp-1"
    });
    let user = normalize(ResourceKind::User, user)
        .expect("a valid user")
        .resource;
    let group = normalize(ResourceKind::Group, group)
        .expect("a valid group")
        .resource;
    [(ResourceKind::User, user), (ResourceKind::Group, group)]
});

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = input::decode(bytes) else {
        return;
    };
    if input::check_strings(&body).is_err() {
        return;
    }
    let Ok(ops) = parse_patch_request(&body) else {
        return;
    };
    let _ = check_own_id(&ops, "0190f2a0-0000-7000-8000-00000000000a");
    for (kind, stored) in STORED.iter() {
        if let Ok(patched) = apply(*kind, stored, &ops) {
            let _ = normalize(*kind, patched);
        }
    }
});
