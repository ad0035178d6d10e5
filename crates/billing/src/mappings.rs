//! Saved CSV column mappings.

use crate::customer_imports::CustomerMapping;
use crate::entity::import_mapping;
use crate::error::{BillingError, unique_or};
use crate::imports::ReadMapping;
use aqueduct_core::{Clock, ImportMappingId};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};

/// Saves a reads mapping under `name` (1–64 characters, unique).
pub async fn save_reads(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    mapping: &ReadMapping,
) -> Result<import_mapping::Model, BillingError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || ReadMapping::preset(name).is_some() {
        return Err(BillingError::Invalid(
            "a mapping name is 1 to 64 characters and not a preset's name".into(),
        ));
    }
    let json = serde_json::to_string(mapping).map_err(|e| BillingError::Invalid(e.to_string()))?;
    import_mapping::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(ImportMappingId::new().uuid()),
        name: Set(name.to_owned()),
        kind: Set("reads".into()),
        mapping: Set(json),
        created_at: Set(clock.now()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_import_mappings_name", "import_mappings.name"],
            BillingError::Conflict(format!("a mapping named {name:?} exists")),
        )
    })
}

/// Saved reads mappings, by name.
pub async fn list_reads(tx: &TenantTx) -> Result<Vec<import_mapping::Model>, BillingError> {
    Ok(scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq("reads"))
        .order_by_asc(import_mapping::Column::Name)
        .all(tx.conn())
        .await?)
}

/// A preset or saved reads mapping by name.
pub async fn reads_by_name(tx: &TenantTx, name: &str) -> Result<ReadMapping, BillingError> {
    if let Some(p) = ReadMapping::preset(name) {
        return Ok(p);
    }
    let row = scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq("reads"))
        .filter(import_mapping::Column::Name.eq(name))
        .one(tx.conn())
        .await?
        .ok_or_else(|| BillingError::Invalid(format!("no mapping named {name:?}")))?;
    serde_json::from_str(&row.mapping).map_err(|e| BillingError::Invalid(e.to_string()))
}

/// Saves a customers mapping under `name` (1–64 characters, unique among
/// customers mappings).
pub async fn save_customers(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    mapping: &CustomerMapping,
) -> Result<import_mapping::Model, BillingError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || CustomerMapping::preset(name).is_some() {
        return Err(BillingError::Invalid(
            "a mapping name is 1 to 64 characters and not a preset's name".into(),
        ));
    }
    let json = serde_json::to_string(mapping).map_err(|e| BillingError::Invalid(e.to_string()))?;
    import_mapping::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(ImportMappingId::new().uuid()),
        name: Set(name.to_owned()),
        kind: Set("customers".into()),
        mapping: Set(json),
        created_at: Set(clock.now()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_import_mappings_name", "import_mappings.name"],
            BillingError::Conflict(format!("a mapping named {name:?} exists")),
        )
    })
}

/// Saved customers mappings, by name.
pub async fn list_customers(tx: &TenantTx) -> Result<Vec<import_mapping::Model>, BillingError> {
    Ok(scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq("customers"))
        .order_by_asc(import_mapping::Column::Name)
        .all(tx.conn())
        .await?)
}

/// A preset or saved customers mapping by name.
pub async fn customers_by_name(tx: &TenantTx, name: &str) -> Result<CustomerMapping, BillingError> {
    if let Some(p) = CustomerMapping::preset(name) {
        return Ok(p);
    }
    let row = scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq("customers"))
        .filter(import_mapping::Column::Name.eq(name))
        .one(tx.conn())
        .await?
        .ok_or_else(|| BillingError::Invalid(format!("no mapping named {name:?}")))?;
    serde_json::from_str(&row.mapping).map_err(|e| BillingError::Invalid(e.to_string()))
}
