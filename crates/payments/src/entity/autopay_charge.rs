//! `autopay_charges`: what autopay did about one bill.

use sea_orm::entity::prelude::*;

/// One row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autopay_charges")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The bill.
    pub bill_id: Uuid,
    /// Its account.
    pub account_id: Uuid,
    /// The day autopay charges it.
    pub charge_on: Date,
    /// upcoming | charging | charged | failed | skipped.
    pub status: String,
    /// What was charged.
    pub amount_cents: Option<i64>,
    /// The payment made for it.
    pub payment_id: Option<Uuid>,
    /// Stripe's error code on failure (`card_declined`, `authentication_required`).
    pub failure_code: Option<String>,
    /// Why it failed, for staff and the customer.
    pub failure_reason: Option<String>,
    /// When the upcoming-charge notice was queued.
    pub notified_upcoming_at: Option<DateTimeUtc>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
