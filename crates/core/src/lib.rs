#![doc = include_str!("../README.md")]

pub mod clock;
pub mod id;
pub mod money;
pub mod secret;
pub mod slug;

pub use clock::{Clock, ManualClock, SystemClock};
pub use id::{AccountId, ApiKeyId, AuditId, InvitationId, LocationId, MeterId, TenantId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use secret::Secret;
pub use slug::{Slug, SlugError};
