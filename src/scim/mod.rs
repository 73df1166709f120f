//! Domain layer: the SCIM resource model and provisioning rules. Imports
//! neither actix nor diesel.

pub mod activity;
pub mod bulk;
pub mod card;
pub mod error;
pub mod filter_eval;
pub mod ids;
pub mod input;
pub mod list;
pub mod patch;
pub mod policy;
pub mod query;
pub mod resource;
pub mod schema;
pub mod time;
pub mod token;

pub use error::ScimError;
