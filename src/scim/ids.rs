//! Typed ids so a tenant id can never be passed where a member id is meant.
//! They are UUIDs kept as text, the form both databases store.

use std::fmt;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Wraps an id read back from the database or taken from a URL;
            /// an unknown id simply finds nothing.
            pub fn from_string(id: String) -> Self {
                Self(id)
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
