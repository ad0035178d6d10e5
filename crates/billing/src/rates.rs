//! Stored rate schedules: a tariff per name, versioned by effective date.
//! Each version is an `aqueduct_rates::RateSchedule` kept as JSON; versions
//! are append-only (a change of rates is a new version), so any bill can be
//! recomputed with the rates it was issued under.

use crate::entity::{rate_schedule, rate_schedule_version};
use crate::error::{BillingError, unique_or};
use aqueduct_core::{Clock, RateScheduleId};
use aqueduct_rates::{BillCalculation, BillInput, RateSchedule, ScheduleHistory};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};

/// A tariff with its versions, oldest first.
#[derive(Debug, Clone)]
pub struct StoredSchedule {
    /// The tariff row.
    pub schedule: rate_schedule::Model,
    /// The validated versions.
    pub history: ScheduleHistory,
}

fn invalid(e: impl std::fmt::Display) -> BillingError {
    BillingError::Invalid(e.to_string())
}

/// Creates a tariff named `name` with its first version.
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    name: &str,
    first: RateSchedule,
) -> Result<StoredSchedule, BillingError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(BillingError::Invalid(
            "a name is 1 to 128 characters".into(),
        ));
    }
    first.validate().map_err(invalid)?;
    let row = rate_schedule::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(RateScheduleId::new().uuid()),
        name: Set(name.to_owned()),
        created_at: Set(clock.now()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_rate_schedules_name", "rate_schedules.name"],
            BillingError::Conflict(format!("a rate schedule named {name:?} exists")),
        )
    })?;
    add_version(tx, clock, RateScheduleId::from_uuid(row.id), first).await
}

/// Adds a version (a new effective date) to a tariff.
pub async fn add_version(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: RateScheduleId,
    version: RateSchedule,
) -> Result<StoredSchedule, BillingError> {
    let current = get(tx, id).await;
    let mut versions = match &current {
        Ok(s) => s.history.versions().to_vec(),
        Err(BillingError::NotFound) => {
            // Just created in this transaction with no version yet.
            scoped::<rate_schedule::Entity>(tx)
                .filter(rate_schedule::Column::Id.eq(id.uuid()))
                .one(tx.conn())
                .await?
                .ok_or(BillingError::NotFound)?;
            Vec::new()
        }
        Err(e) => return Err(BillingError::Invalid(e.to_string())),
    };
    if versions
        .iter()
        .any(|v| v.effective_from == version.effective_from)
    {
        return Err(BillingError::Conflict(
            "a version with that effective date exists".into(),
        ));
    }
    versions.push(version.clone());
    ScheduleHistory::new(versions).map_err(invalid)?;
    let body = serde_json::to_string(&version).map_err(invalid)?;
    rate_schedule_version::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        schedule_id: Set(id.uuid()),
        effective_from: Set(version.effective_from),
        body: Set(body),
        created_at: Set(clock.now()),
    }
    .insert(tx.conn())
    .await
    .map_err(|e| {
        unique_or(
            e,
            &["uq_rate_schedule_versions_date", "rate_schedule_versions."],
            BillingError::Conflict("a version with that effective date exists".into()),
        )
    })?;
    get(tx, id).await
}

/// A tariff with its versions. A tariff without versions is not found.
pub async fn get(tx: &TenantTx, id: RateScheduleId) -> Result<StoredSchedule, BillingError> {
    let schedule = scoped::<rate_schedule::Entity>(tx)
        .filter(rate_schedule::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)?;
    let rows = scoped::<rate_schedule_version::Entity>(tx)
        .filter(rate_schedule_version::Column::ScheduleId.eq(id.uuid()))
        .order_by_asc(rate_schedule_version::Column::EffectiveFrom)
        .all(tx.conn())
        .await?;
    if rows.is_empty() {
        return Err(BillingError::NotFound);
    }
    let versions = rows
        .iter()
        .map(|r| serde_json::from_str::<RateSchedule>(&r.body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let history = ScheduleHistory::new(versions).map_err(invalid)?;
    Ok(StoredSchedule { schedule, history })
}

/// Every tariff of the association, by name.
pub async fn list(tx: &TenantTx) -> Result<Vec<rate_schedule::Model>, BillingError> {
    Ok(scoped::<rate_schedule::Entity>(tx)
        .order_by_asc(rate_schedule::Column::Name)
        .all(tx.conn())
        .await?)
}

/// The bill calculator: prices `input` under the tariff's versions.
pub async fn preview(
    tx: &TenantTx,
    id: RateScheduleId,
    input: &BillInput,
) -> Result<BillCalculation, BillingError> {
    let stored = get(tx, id).await?;
    stored.history.calculate(input).map_err(invalid)
}
