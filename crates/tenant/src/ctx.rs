//! The tenant context: proof that the caller resolved a real association.

use crate::entity::tenant;
use aqueduct_core::{Slug, TenantId};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Lifecycle of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Signed up; payments not yet enabled.
    Onboarding,
    /// Working normally.
    Active,
    /// Suspended by an operator: no sign-ins, data untouched.
    Suspended,
    /// Closed: data follows the retention rules.
    Closed,
}

impl TenantStatus {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Onboarding => "onboarding",
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Closed => "closed",
        }
    }
    /// Whether staff, customers and API keys may use the association.
    pub fn allows_use(self) -> bool {
        matches!(self, TenantStatus::Onboarding | TenantStatus::Active)
    }
}

impl FromStr for TenantStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "onboarding" => TenantStatus::Onboarding,
            "active" => TenantStatus::Active,
            "suspended" => TenantStatus::Suspended,
            "closed" => TenantStatus::Closed,
            other => return Err(format!("unknown tenant status {other:?}")),
        })
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved association. Only this crate can make one (from a row it
/// read), so holding a `TenantCtx` means the tenant exists. Every function
/// that touches tenant data takes it (or a [`crate::TenantTx`]) first.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TenantCtx {
    id: TenantId,
    slug: Slug,
    name: String,
    time_zone: String,
    status: TenantStatus,
    staff_totp_required: bool,
}

impl TenantCtx {
    pub(crate) fn from_model(m: tenant::Model) -> Result<Self, sea_orm::DbErr> {
        let bad = |what: &str| sea_orm::DbErr::Custom(format!("tenant {}: bad {what}", m.id));
        Ok(Self {
            id: TenantId::from_uuid(m.id),
            slug: Slug::parse(&m.slug).map_err(|_| bad("slug"))?,
            status: m.status.parse().map_err(|_| bad("status"))?,
            staff_totp_required: m.staff_totp_required,
            name: m.name,
            time_zone: m.time_zone,
        })
    }
    /// Tenant id.
    pub fn id(&self) -> TenantId {
        self.id
    }
    /// URL name.
    pub fn slug(&self) -> &Slug {
        &self.slug
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// IANA time zone for due dates and periods.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }
    /// Lifecycle status.
    pub fn status(&self) -> TenantStatus {
        self.status
    }
    /// Whether staff must have a second factor to work here.
    pub fn staff_totp_required(&self) -> bool {
        self.staff_totp_required
    }
}

impl fmt::Debug for TenantCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantCtx({}, {})", self.slug, self.id)
    }
}
