//! Typed identifiers. Every id is a UUIDv7 (time-ordered, so inserts stay
//! local in B-tree indexes) wrapped in its own type.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps a UUID read from storage.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The UUID, for storage.
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", $prefix, self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// An association (tenant).
    TenantId,
    "tenant"
);
id_type!(
    /// A person who signs in: staff, operator or customer.
    UserId,
    "user"
);
id_type!(
    /// A customer account of an association.
    AccountId,
    "account"
);
id_type!(
    /// A service location (where the water is delivered).
    LocationId,
    "location"
);
id_type!(
    /// A meter installed at a service location.
    MeterId,
    "meter"
);
id_type!(
    /// A machine client's API key.
    ApiKeyId,
    "api_key"
);
id_type!(
    /// An audit log entry.
    AuditId,
    "audit"
);
// retention
id_type!(
    /// A legal hold on an account or a whole association.
    LegalHoldId,
    "legal_hold"
);
id_type!(
    /// An association's retention policy.
    RetentionPolicyId,
    "retention_policy"
);
id_type!(
    /// A customer's erasure request (restriction until it can be erased).
    ErasureRequestId,
    "erasure_request"
);
// payments
id_type!(
    /// A payment attempt (one Checkout Session).
    PaymentId,
    "payment"
);
id_type!(
    /// A refund of a payment.
    RefundId,
    "refund"
);

id_type!(
    /// A meter read.
    ReadId,
    "read"
);
id_type!(
    /// A saved CSV column mapping.
    ImportMappingId,
    "import_mapping"
);
id_type!(
    /// A ledger entry.
    LedgerEntryId,
    "ledger_entry"
);
id_type!(
    /// A stored rate schedule (a tariff with its versions).
    RateScheduleId,
    "rate_schedule"
);
id_type!(
    /// A bill run (one billing cycle).
    BillRunId,
    "bill_run"
);
id_type!(
    /// A finalized bill.
    BillId,
    "bill"
);
id_type!(
    /// An invitation of a person to an association's staff.
    InvitationId,
    "invitation"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = AccountId::new();
        let parsed: AccountId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert!(format!("{id:?}").starts_with("account("));
    }

    #[test]
    fn new_ids_are_time_ordered() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert!(a < b);
    }
}
