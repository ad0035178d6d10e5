//! `accounts`: customer accounts.

use sea_orm::entity::prelude::*;

/// A customer account row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Account id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Account number, unique per association.
    pub account_number: String,
    /// Primary holder.
    pub holder_name: String,
    /// Second holder.
    pub co_holder_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Mailing address line 1.
    pub mailing_line1: Option<String>,
    /// Mailing address line 2.
    pub mailing_line2: Option<String>,
    /// Mailing city.
    pub mailing_city: Option<String>,
    /// Mailing state (2 letters).
    pub mailing_state: Option<String>,
    /// Mailing ZIP.
    pub mailing_postal_code: Option<String>,
    /// active | closed | suspended.
    pub status: String,
    /// Opened (association's local date).
    pub opened_on: Date,
    /// Closed (UTC): starts the retention clock.
    pub closed_at: Option<DateTimeUtc>,
    /// Bills by email only.
    pub paperless: bool,
    /// Pays automatically.
    pub autopay: bool,
    /// Staff notes.
    pub notes: Option<String>,
    /// Created (UTC).
    pub created_at: DateTimeUtc,
    /// Last changed (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
