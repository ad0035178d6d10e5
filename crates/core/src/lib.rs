#![doc = include_str!("../README.md")]

pub mod clock;
pub mod id;
pub mod money;
pub mod secret;
pub mod slug;

pub use clock::{Clock, ManualClock, SystemClock};
pub use id::InvitationId;
pub use id::{AccountId, ApiKeyId, AuditId, LocationId, MeterId, TenantId, UserId};
pub use id::{BillId, BillRunId, ImportMappingId, LedgerEntryId, RateScheduleId, ReadId};
pub use id::{PaymentId, RefundId};
pub use money::{Currency, Money, MoneyError};
pub use secret::Secret;
pub use slug::{Slug, SlugError};
