//! Typed ids so a tenant id can never be passed where a member id is meant.
//! They are UUIDs kept as text, the form both databases store.
//!
//! New ids are version 7 UUIDs: they start with their creation time, so each
//! new member lands at the end of every index keyed by its id (the members',
//! cards', emails', links' and memberships') instead of on a random page. A
//! write then dirties a few hot pages rather than one cold page per index,
//! which is most of what a commit has to write. The time they carry is no
//! more than `meta.created` already says.

use std::fmt;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new, unique id that sorts after the ones made before it.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Wraps an id read back from the database or taken from a URL;
            /// an unknown id simply finds nothing.
            pub fn from_string(id: String) -> Self {
                Self(id)
            }

            /// An id from a request's URL. None of ours holds a control
            /// character, and PostgreSQL refuses NUL in a query, so such
            /// an id is not found without asking the database.
            pub fn from_url(id: String) -> Result<Self, crate::scim::ScimError> {
                match crate::scim::input::forbidden_control(&id) {
                    None => Ok(Self(id)),
                    Some(_) => Err(crate::scim::ScimError::NotFound(
                        "no resource has this id".into(),
                    )),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A team (company) using the product; every row belongs to exactly one.
    TenantId
);
text_id!(
    /// A member of a team; also the SCIM User `id`.
    MemberId
);
text_id!(
    /// A subteam; also the SCIM Group `id`.
    SubteamId
);
text_id!(
    /// An API token's row id (not the secret).
    TokenId
);
