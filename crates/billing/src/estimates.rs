//! Estimated reads: the association's rule for estimating a missing read,
//! and the list of estimated reads for the exceptions report.
//!
//! A bill run asked to estimate (preview or finalize with
//! `estimate_missing`) prices a meter without a read in the cycle from an
//! estimated read — by the average daily use of the last N periods, or the
//! same days a year earlier — and finalizing stores it as a read with
//! `estimated = true`, `source = estimate`, marked on the bill. The next
//! actual read trues it up: that bill's use is measured from the estimate.

use crate::bills::EstimateRule;
use crate::entity::{account, estimate_setting, meter, meter_read, occupancy};
use crate::error::BillingError;
use aqueduct_core::Clock;
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::OnConflict};
use serde::Serialize;
use std::collections::HashMap;

/// The association's rule (the default, average of 3 periods, when unset).
pub async fn rule(tx: &TenantTx) -> Result<EstimateRule, BillingError> {
    let row = scoped::<estimate_setting::Entity>(tx)
        .one(tx.conn())
        .await?;
    Ok(match row {
        None => EstimateRule::default(),
        Some(r) if r.method == "last_year" => EstimateRule::LastYear,
        Some(r) => EstimateRule::Average {
            periods: usize::try_from(r.periods.clamp(1, 12)).unwrap_or(3),
        },
    })
}

/// Parses a rule from its parts: `average` with 1–12 periods (3 when not
/// given) or `last_year`.
pub fn parse_rule(method: &str, periods: Option<i32>) -> Result<EstimateRule, BillingError> {
    match method {
        "average" => {
            let p = periods.unwrap_or(3);
            if !(1..=12).contains(&p) {
                return Err(BillingError::Invalid(
                    "an average covers 1 to 12 periods".into(),
                ));
            }
            Ok(EstimateRule::Average {
                periods: usize::try_from(p).unwrap_or(3),
            })
        }
        "last_year" => Ok(EstimateRule::LastYear),
        other => Err(BillingError::Invalid(format!(
            "estimate method {other:?}: use average or last_year"
        ))),
    }
}

/// Sets the association's rule.
pub async fn set_rule(
    tx: &TenantTx,
    clock: &dyn Clock,
    rule: EstimateRule,
) -> Result<(), BillingError> {
    let (method, periods) = match rule {
        EstimateRule::Average { periods } => ("average", i32::try_from(periods).unwrap_or(3)),
        EstimateRule::LastYear => ("last_year", 0),
    };
    let row = estimate_setting::ActiveModel {
        tenant_id: sea_orm::ActiveValue::Set(tx.tenant_id().uuid()),
        method: sea_orm::ActiveValue::Set(method.into()),
        periods: sea_orm::ActiveValue::Set(periods),
        updated_at: sea_orm::ActiveValue::Set(clock.now()),
    };
    estimate_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(estimate_setting::Column::TenantId)
                .update_columns([
                    estimate_setting::Column::Method,
                    estimate_setting::Column::Periods,
                    estimate_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await?;
    Ok(())
}

/// An estimated read, for the exceptions report.
#[derive(Debug, Clone, Serialize)]
pub struct EstimatedRead {
    /// Account served by the meter now (empty when none).
    pub account_number: String,
    /// Meter serial.
    pub serial: String,
    /// Day of the estimate.
    pub read_on: NaiveDate,
    /// Estimated register value.
    pub value: i64,
    /// An actual read of the meter came later (the estimate is trued up).
    pub trued_up: bool,
}

/// Every estimated read in `from..=to`, by day then serial.
pub async fn estimated_reads(
    tx: &TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<EstimatedRead>, BillingError> {
    let rows = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::Estimated.eq(true))
        .filter(meter_read::Column::ReadOn.between(from, to))
        .order_by_asc(meter_read::Column::ReadOn)
        .all(tx.conn())
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let meter_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.meter_id).collect();
    let meters: HashMap<uuid::Uuid, meter::Model> = scoped::<meter::Entity>(tx)
        .filter(meter::Column::Id.is_in(meter_ids.clone()))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let actual_after: Vec<meter_read::Model> = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.is_in(meter_ids))
        .filter(meter_read::Column::Estimated.eq(false))
        .all(tx.conn())
        .await?;
    let occupied: HashMap<uuid::Uuid, uuid::Uuid> = scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::EndsOn.is_null())
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|o| (o.location_id, o.account_id))
        .collect();
    let numbers: HashMap<uuid::Uuid, String> = scoped::<account::Entity>(tx)
        .filter(account::Column::Id.is_in(occupied.values().copied().collect::<Vec<_>>()))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|a| (a.id, a.account_number))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(m) = meters.get(&r.meter_id) else {
            continue;
        };
        let account_number = occupied
            .get(&m.location_id)
            .and_then(|a| numbers.get(a))
            .cloned()
            .unwrap_or_default();
        out.push(EstimatedRead {
            account_number,
            serial: m.serial.clone(),
            read_on: r.read_on,
            value: r.value,
            trued_up: actual_after
                .iter()
                .any(|a| a.meter_id == r.meter_id && a.read_on > r.read_on),
        });
    }
    out.sort_by(|a, b| (a.read_on, &a.serial).cmp(&(b.read_on, &b.serial)));
    Ok(out)
}
