//! Meter reads: recording them (idempotently, one per meter and day) and
//! deriving consumption between consecutive reads.

use crate::consumption::{self, Consumption};
use crate::entity::{meter, meter_read};
use crate::error::BillingError;
use crate::meters;
use aqueduct_core::{Clock, MeterId, ReadId};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Where a read came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadSource {
    /// Typed in by staff.
    Manual,
    /// A CSV import.
    Csv,
    /// `POST /api/v1/reads` from a meter-reading system.
    Api,
    /// Estimated by a bill run when a read was missing.
    Estimate,
}

impl ReadSource {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadSource::Manual => "manual",
            ReadSource::Csv => "csv",
            ReadSource::Api => "api",
            ReadSource::Estimate => "estimate",
        }
    }
}

impl fmt::Display for ReadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReadSource {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, BillingError> {
        Ok(match s {
            "manual" => ReadSource::Manual,
            "csv" => ReadSource::Csv,
            "api" => ReadSource::Api,
            "estimate" => ReadSource::Estimate,
            other => {
                return Err(BillingError::Invalid(format!(
                    "unknown read source {other:?}"
                )));
            }
        })
    }
}

/// A validated read to record.
#[derive(Debug, Clone)]
pub struct NewRead {
    /// Day of the read.
    pub read_on: NaiveDate,
    /// Register value (before the multiplier), 0 ≤ value < 10^digits.
    pub value: i64,
    /// Estimated rather than read.
    pub estimated: bool,
    /// Where it came from.
    pub source: ReadSource,
}

/// What recording one read did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Recorded {
    /// Stored. `flags` name anything a clerk should look at.
    Created {
        /// The new read.
        id: ReadId,
        /// Use since the previous read, if there is one.
        consumption: Option<Consumption>,
        /// `out_of_order`, `negative_use`, `below_estimate` (an actual read
        /// under an estimate, trued up by the next bill), `rollover`.
        flags: Vec<&'static str>,
    },
    /// The same read was already stored: nothing changed.
    Duplicate {
        /// The stored read.
        id: ReadId,
    },
    /// A different value is already stored for that meter and day.
    Conflict {
        /// The stored read.
        id: ReadId,
        /// Its value.
        existing_value: i64,
    },
}

/// Records a read of `meter` (already loaded in this transaction). Safe to
/// repeat: the unique key (tenant, meter, day) makes a second identical
/// read a `Duplicate`, never a second row.
pub async fn record(
    tx: &TenantTx,
    clock: &dyn Clock,
    meter: &meter::Model,
    read: NewRead,
) -> Result<Recorded, BillingError> {
    let range = consumption::register_range(meter.register_digits);
    if read.value < 0 || read.value >= range {
        return Err(BillingError::Invalid(format!(
            "read {} does not fit a {}-digit register",
            read.value, meter.register_digits
        )));
    }
    let id = ReadId::new();
    let row = meter_read::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id.uuid()),
        meter_id: Set(meter.id),
        read_on: Set(read.read_on),
        value: Set(read.value),
        estimated: Set(read.estimated),
        source: Set(read.source.as_str().to_owned()),
        created_at: Set(clock.now()),
    };
    let inserted = meter_read::Entity::insert(row)
        .on_conflict_do_nothing_on([
            meter_read::Column::TenantId,
            meter_read::Column::MeterId,
            meter_read::Column::ReadOn,
        ])
        .exec_without_returning(tx.conn())
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        let existing = scoped::<meter_read::Entity>(tx)
            .filter(meter_read::Column::MeterId.eq(meter.id))
            .filter(meter_read::Column::ReadOn.eq(read.read_on))
            .one(tx.conn())
            .await?
            .ok_or_else(|| BillingError::Invalid("read vanished".into()))?;
        let id = ReadId::from_uuid(existing.id);
        return Ok(if existing.value == read.value {
            Recorded::Duplicate { id }
        } else {
            Recorded::Conflict {
                id,
                existing_value: existing.value,
            }
        });
    }
    let later = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.gt(read.read_on))
        .one(tx.conn())
        .await?;
    let previous = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .filter(meter_read::Column::ReadOn.lt(read.read_on))
        .order_by_desc(meter_read::Column::ReadOn)
        .one(tx.conn())
        .await?;
    let use_ = previous.as_ref().map(|p| {
        consumption::between(p.value, read.value, meter.register_digits, meter.multiplier)
    });
    let mut flags = Vec::new();
    if later.is_some() {
        flags.push("out_of_order");
    }
    if let Some(c) = use_ {
        // An actual read below an estimate: the estimate over-read, and the
        // next bill trues it up (`true_up`) — unless it is also below the
        // last actual read.
        let over_estimate = c.negative
            && !read.estimated
            && previous.as_ref().is_some_and(|p| p.estimated)
            && match scoped::<meter_read::Entity>(tx)
                .filter(meter_read::Column::MeterId.eq(meter.id))
                .filter(meter_read::Column::ReadOn.lt(read.read_on))
                .filter(meter_read::Column::Estimated.eq(false))
                .order_by_desc(meter_read::Column::ReadOn)
                .one(tx.conn())
                .await?
            {
                Some(actual) => {
                    !consumption::between(
                        actual.value,
                        read.value,
                        meter.register_digits,
                        meter.multiplier,
                    )
                    .negative
                }
                None => false,
            };
        if over_estimate {
            flags.push("below_estimate");
        } else if c.negative {
            flags.push("negative_use");
        }
        if c.rolled_over {
            flags.push("rollover");
        }
    }
    Ok(Recorded::Created {
        id,
        consumption: use_,
        flags,
    })
}

/// Whether `list[pos]` (reads with use, ascending) is an actual read under
/// the estimated read before it but not under the last actual read: the
/// estimate over-read and the next bill trues it up — not a meter going
/// backwards.
pub fn below_estimate(meter: &meter::Model, list: &[ReadWithUse], pos: usize) -> bool {
    let Some(this) = list.get(pos) else {
        return false;
    };
    let negative = this.consumption.is_some_and(|c| c.negative);
    negative
        && !this.estimated
        && pos > 0
        && list[pos - 1].estimated
        && list[..pos]
            .iter()
            .rev()
            .find(|r| !r.estimated)
            .is_some_and(|a| {
                !consumption::between(a.value, this.value, meter.register_digits, meter.multiplier)
                    .negative
            })
}

/// A stored read with the use since the read before it.
#[derive(Debug, Clone, Serialize)]
pub struct ReadWithUse {
    /// Read id.
    pub id: ReadId,
    /// Day of the read.
    pub read_on: NaiveDate,
    /// Register value.
    pub value: i64,
    /// Estimated rather than read.
    pub estimated: bool,
    /// manual | csv | api.
    pub source: String,
    /// Use since the previous read (none for the first).
    pub consumption: Option<Consumption>,
    /// Recorded after a read with a later date (a late or corrected read).
    pub out_of_order: bool,
}

/// Every read of a meter in date order, with consumption.
pub async fn for_meter(tx: &TenantTx, id: MeterId) -> Result<Vec<ReadWithUse>, BillingError> {
    let meter = meters::get(tx, id).await?;
    let rows = scoped::<meter_read::Entity>(tx)
        .filter(meter_read::Column::MeterId.eq(meter.id))
        .order_by_asc(meter_read::Column::ReadOn)
        .all(tx.conn())
        .await?;
    Ok(with_use(&meter, &rows))
}

/// Consumption and flags for reads of `meter` sorted by date.
pub fn with_use(meter: &meter::Model, rows: &[meter_read::Model]) -> Vec<ReadWithUse> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let consumption = i.checked_sub(1).map(|p| {
            consumption::between(
                rows[p].value,
                r.value,
                meter.register_digits,
                meter.multiplier,
            )
        });
        // Ids are UUIDv7, so they order reads by when they were recorded.
        let out_of_order = rows[i + 1..].iter().any(|l| l.id < r.id);
        out.push(ReadWithUse {
            id: ReadId::from_uuid(r.id),
            read_on: r.read_on,
            value: r.value,
            estimated: r.estimated,
            source: r.source.clone(),
            consumption,
            out_of_order,
        });
    }
    out
}
