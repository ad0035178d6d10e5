//! `autopay_mandates`: a billing account's saved payment method for autopay (Stripe ids only).

use sea_orm::entity::prelude::*;

/// One row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autopay_mandates")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The billing account.
    pub account_id: Uuid,
    /// pending | active | off.
    pub status: String,
    /// The setup-mode Checkout Session last started.
    pub setup_session_id: Option<String>,
    /// Its hosted page.
    pub setup_url: Option<String>,
    /// `cus_…` on the connected account.
    pub stripe_customer_id: Option<String>,
    /// `pm_…` on the connected account.
    pub stripe_payment_method_id: Option<String>,
    /// `card` or `us_bank_account`.
    pub method_type: Option<String>,
    /// When the customer consented (Stripe saved the method).
    pub consented_at: Option<DateTimeUtc>,
    /// When it ended (turned off, or moved to another account).
    pub ended_at: Option<DateTimeUtc>,
    /// `turned_off` | `moved`.
    pub ended_reason: Option<String>,
    /// When Stripe detached the saved method (autopay turned off).
    pub detached_at: Option<DateTimeUtc>,
    /// Who consented to a moved method (`customer:<id>`, `user:<id>`);
    /// none when the customer saved it on Stripe's page.
    pub consent_actor: Option<String>,
    /// The mandate a moved method came from.
    pub moved_from: Option<Uuid>,
    /// Card brand or bank name, as Stripe reports it.
    pub method_brand: Option<String>,
    /// Last four digits, as Stripe reports them.
    pub method_last4: Option<String>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
