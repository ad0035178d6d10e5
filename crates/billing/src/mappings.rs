//! Saved CSV column mappings.

use crate::customer_imports::CustomerMapping;
use crate::entity::import_mapping;
use crate::error::{BillingError, unique_or};
use crate::imports::ReadMapping;
use aqueduct_core::{Clock, ImportMappingId};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};
use serde::{Serialize, de::DeserializeOwned};

/// Saves a reads mapping under `name` (1–64 characters, unique).
pub async fn save_reads(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    mapping: &ReadMapping,
) -> Result<import_mapping::Model, BillingError> {
    let is_preset = ReadMapping::preset(name.trim()).is_some();
    save(tx, clock, READS, name, is_preset, mapping).await
}

/// Saved reads mappings, by name.
pub async fn list_reads(tx: &TenantTx) -> Result<Vec<import_mapping::Model>, BillingError> {
    list(tx, READS).await
}

/// A preset or saved reads mapping by name.
pub async fn reads_by_name(tx: &TenantTx, name: &str) -> Result<ReadMapping, BillingError> {
    match ReadMapping::preset(name) {
        Some(p) => Ok(p),
        None => saved(tx, READS, name).await,
    }
}

/// Saves a customers mapping under `name` (1–64 characters, unique among
/// customers mappings).
pub async fn save_customers(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    mapping: &CustomerMapping,
) -> Result<import_mapping::Model, BillingError> {
    let is_preset = CustomerMapping::preset(name.trim()).is_some();
    save(tx, clock, CUSTOMERS, name, is_preset, mapping).await
}

/// Saved customers mappings, by name.
pub async fn list_customers(tx: &TenantTx) -> Result<Vec<import_mapping::Model>, BillingError> {
    list(tx, CUSTOMERS).await
}

/// A preset or saved customers mapping by name.
pub async fn customers_by_name(tx: &TenantTx, name: &str) -> Result<CustomerMapping, BillingError> {
    match CustomerMapping::preset(name) {
        Some(p) => Ok(p),
        None => saved(tx, CUSTOMERS, name).await,
    }
}

const READS: &str = "reads";
const CUSTOMERS: &str = "customers";

/// One saved mapping of a kind: the name checked (1–64 characters, not a
/// preset's), the mapping stored as JSON, a taken name a conflict.
async fn save<M: Serialize>(
    tx: &TenantTx,
    clock: &dyn Clock,
    kind: &str,
    name: &str,
    is_preset: bool,
    mapping: &M,
) -> Result<import_mapping::Model, BillingError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || is_preset {
        return Err(BillingError::Invalid(
            "a mapping name is 1 to 64 characters and not a preset's name".into(),
        ));
    }
    let json = serde_json::to_string(mapping).map_err(|e| BillingError::Invalid(e.to_string()))?;
    import_mapping::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(ImportMappingId::new().uuid()),
        name: Set(name.to_owned()),
        kind: Set(kind.to_owned()),
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

async fn list(tx: &TenantTx, kind: &str) -> Result<Vec<import_mapping::Model>, BillingError> {
    Ok(scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq(kind))
        .order_by_asc(import_mapping::Column::Name)
        .all(tx.conn())
        .await?)
}

async fn saved<M: DeserializeOwned>(
    tx: &TenantTx,
    kind: &str,
    name: &str,
) -> Result<M, BillingError> {
    let row = scoped::<import_mapping::Entity>(tx)
        .filter(import_mapping::Column::Kind.eq(kind))
        .filter(import_mapping::Column::Name.eq(name))
        .one(tx.conn())
        .await?
        .ok_or_else(|| BillingError::Invalid(format!("no mapping named {name:?}")))?;
    serde_json::from_str(&row.mapping).map_err(|e| BillingError::Invalid(e.to_string()))
}
