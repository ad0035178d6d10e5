//! sea-orm entities for the tables this crate owns. Generated-style data
//! only; behaviour lives in the modules above.

pub mod api_key;
pub mod audit_log;
pub mod customer_link;
pub mod invitation;
pub mod membership;
pub mod recovery_code;
pub mod session;
pub mod sso_identity;
pub mod sso_pending;
pub mod sso_provider;
pub mod tenant;
pub mod throttle_bucket;
pub mod user;
pub mod user_token;
pub mod user_totp;
