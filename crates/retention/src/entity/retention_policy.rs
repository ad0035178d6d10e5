//! `retention_policies`: one row per association.

use sea_orm::entity::prelude::*;

/// An association's retention policy.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_policies")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Policy id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Years account information is kept after closure; NULL: the default.
    pub account_years: Option<i32>,
    /// Years payment records are kept after the payment; NULL: the default.
    pub payment_years: Option<i32>,
    /// Years usage data is kept after closure (then only in aggregate);
    /// NULL: the default.
    pub usage_years: Option<i32>,
    /// Salt (hex) for anonymised account numbers.
    pub hash_salt: String,
    /// Who last changed it.
    pub updated_by: String,
    /// When (UTC).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
