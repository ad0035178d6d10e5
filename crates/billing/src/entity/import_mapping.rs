//! `import_mappings`: column mappings an association saved for its files.

use sea_orm::entity::prelude::*;

/// A saved mapping row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_mappings")]
pub struct Model {
    /// Association.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Mapping id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Name, unique per kind.
    pub name: String,
    /// What it imports: `reads`.
    pub kind: String,
    /// The mapping as JSON.
    pub mapping: String,
    /// Saved at.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
