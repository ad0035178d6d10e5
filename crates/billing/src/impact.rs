//! Rate-change impact: what a proposed tariff would have billed for the
//! actual use of the last twelve months, against what was billed — by meter
//! size and usage band, the table a board needs before voting on new rates.
//!
//! Every standing (not voided) bill whose period ended in the twelve months
//! before `today` is priced again with the proposed schedule (as if it had
//! been in force all year) from the bill's own use, meter size and reading
//! period. Bills are streamed in keyset batches, so memory does not grow
//! with the number of accounts.

use crate::consumption;
use crate::entity::{bill, bill_void, meter};
use crate::error::BillingError;
use crate::reports::{dollars, escape_cell};
use aqueduct_rates::{
    BillInput, BillingPeriod, MeterSize, RateSchedule, ScheduleHistory, Volume, VolumeUnit,
};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// Usage bands, in gallons per bill: (upper bound inclusive, label).
const BANDS: &[(i64, &str)] = &[
    (2_000, "0–2,000 gal"),
    (5_000, "2,001–5,000 gal"),
    (10_000, "5,001–10,000 gal"),
    (20_000, "10,001–20,000 gal"),
    (i64::MAX, "over 20,000 gal"),
];

/// Bills read per query.
const BATCH: u64 = 2_000;

/// One meter size and usage band.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImpactGroup {
    /// Meter size (`5/8"`).
    pub meter_size: String,
    /// Usage band label.
    pub usage_band: String,
    /// Bills in the group.
    pub bills: u64,
    /// Billed, in cents.
    pub current_cents: i64,
    /// What the proposed schedule would have billed, in cents.
    pub proposed_cents: i64,
    /// Proposed − current, in cents.
    pub change_cents: i64,
    /// The change in basis points of the current amount (125 = +1.25 %).
    pub change_bp: i64,
    /// The group's average bill now, in cents.
    pub average_current_cents: i64,
    /// The group's average bill under the proposal, in cents.
    pub average_proposed_cents: i64,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    /// First day of the window (periods ending on or after it).
    pub from: NaiveDate,
    /// Last day of the window.
    pub to: NaiveDate,
    /// Bills repriced.
    pub bills: u64,
    /// Billed, in cents.
    pub current_cents: i64,
    /// Proposed, in cents.
    pub proposed_cents: i64,
    /// Proposed − current, in cents.
    pub change_cents: i64,
    /// The change in basis points.
    pub change_bp: i64,
    /// By meter size, then usage band.
    pub groups: Vec<ImpactGroup>,
    /// Bills the proposal cannot price (e.g. a meter size it has no charge
    /// for), with the reason; they are left out of the totals.
    pub unpriced: Vec<String>,
}

fn band(usage: Volume) -> &'static str {
    let gallons = usage
        .in_unit(VolumeUnit::Gallon)
        .trunc()
        .to_i64()
        .unwrap_or(i64::MAX);
    BANDS
        .iter()
        .find(|(max, _)| gallons <= *max)
        .map_or("over 20,000 gal", |(_, l)| l)
}

fn bp(change: i64, base: i64) -> i64 {
    if base == 0 {
        0
    } else {
        let v = i128::from(change) * 10_000 / i128::from(base);
        i64::try_from(v).unwrap_or(0)
    }
}

fn size_order(size: &str) -> usize {
    crate::meters::SIZES
        .iter()
        .position(|s| *s == size)
        .unwrap_or(usize::MAX)
}

/// (size order, size, band order, band): sorts groups by meter size, then
/// band. The value is (bills, current cents, proposed cents).
type GroupKey = (usize, String, usize, &'static str);

/// Prices the last twelve months of bills with `proposed`.
pub async fn rate_change_impact(
    tx: &TenantTx,
    proposed: &RateSchedule,
    today: NaiveDate,
) -> Result<Impact, BillingError> {
    proposed
        .validate()
        .map_err(|e| BillingError::Invalid(e.to_string()))?;
    let mut as_if = proposed.clone();
    as_if.effective_from = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    let services: Vec<_> = as_if.services.iter().map(|s| s.service).collect();
    let history =
        ScheduleHistory::new(vec![as_if]).map_err(|e| BillingError::Invalid(e.to_string()))?;
    let from = today
        .checked_sub_days(Days::new(365))
        .unwrap_or(NaiveDate::MIN);
    let mut out = Impact {
        from,
        to: today,
        ..Impact::default()
    };
    let mut groups: BTreeMap<GroupKey, (u64, i64, i64)> = BTreeMap::new();
    let mut sizes: HashMap<uuid::Uuid, String> = HashMap::new();
    let mut after: Option<uuid::Uuid> = None;
    loop {
        let mut q = scoped::<bill::Entity>(tx)
            .filter(bill::Column::PeriodEnd.gte(from))
            .filter(bill::Column::PeriodEnd.lte(today));
        if let Some(a) = after {
            q = q.filter(bill::Column::Id.gt(a));
        }
        let batch = q
            .order_by_asc(bill::Column::Id)
            .limit(BATCH)
            .all(tx.conn())
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let voided: HashSet<uuid::Uuid> = scoped::<bill_void::Entity>(tx)
            .filter(bill_void::Column::BillId.is_in(batch.iter().map(|b| b.id)))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|v| v.bill_id)
            .collect();
        let unknown: HashSet<uuid::Uuid> = batch
            .iter()
            .map(|b| b.meter_id)
            .filter(|m| !sizes.contains_key(m))
            .collect();
        if !unknown.is_empty() {
            for m in scoped::<meter::Entity>(tx)
                .filter(meter::Column::Id.is_in(unknown))
                .all(tx.conn())
                .await?
            {
                sizes.insert(m.id, m.size);
            }
        }
        for b in batch.iter().filter(|b| !voided.contains(&b.id)) {
            let size_text = sizes.get(&b.meter_id).cloned().unwrap_or_default();
            let priced = (|| -> Result<(Volume, i64), String> {
                let usage = consumption::volume(b.usage_units.max(0), &b.usage_unit)
                    .ok_or_else(|| format!("unit {:?} unknown", b.usage_unit))?;
                let input = BillInput {
                    period: BillingPeriod::new(b.read_from, b.read_to)
                        .map_err(|e| e.to_string())?,
                    meter_size: MeterSize::from_str(&size_text).map_err(|e| e.to_string())?,
                    usage,
                    carried_in: Volume::ZERO,
                    winter_average: None,
                    services: services.clone(),
                };
                let calc = history.calculate(&input).map_err(|e| e.to_string())?;
                Ok((usage, calc.total.cents))
            })();
            match priced {
                Ok((usage, proposed_cents)) => {
                    let label = band(usage);
                    let band_order = BANDS.iter().position(|(_, l)| *l == label).unwrap_or(0);
                    let g = groups
                        .entry((size_order(&size_text), size_text, band_order, label))
                        .or_default();
                    g.0 += 1;
                    g.1 += b.total_cents;
                    g.2 += proposed_cents;
                }
                Err(reason) => {
                    if out.unpriced.len() < 100 {
                        out.unpriced.push(format!("bill {}: {reason}", b.number));
                    }
                }
            }
        }
    }
    for ((_, size, _, label), (n, current, proposed)) in groups {
        let divisor = i64::try_from(n.max(1)).unwrap_or(1);
        out.bills += n;
        out.current_cents += current;
        out.proposed_cents += proposed;
        out.groups.push(ImpactGroup {
            meter_size: size,
            usage_band: label.to_owned(),
            bills: n,
            current_cents: current,
            proposed_cents: proposed,
            change_cents: proposed - current,
            change_bp: bp(proposed - current, current),
            average_current_cents: current / divisor,
            average_proposed_cents: proposed / divisor,
        });
    }
    out.change_cents = out.proposed_cents - out.current_cents;
    out.change_bp = bp(out.change_cents, out.current_cents);
    Ok(out)
}

/// The comparison as CSV (one line per group, then the total).
pub fn impact_csv(impact: &Impact) -> Result<String, BillingError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| BillingError::Invalid(e.to_string());
    w.write_record([
        "meter_size",
        "usage_band",
        "bills",
        "current",
        "proposed",
        "change",
        "change_percent",
        "average_current",
        "average_proposed",
    ])
    .map_err(io)?;
    let percent = |bp: i64| Decimal::new(bp, 2).to_string();
    for g in &impact.groups {
        w.write_record([
            escape_cell(&g.meter_size),
            escape_cell(&g.usage_band),
            g.bills.to_string(),
            dollars(g.current_cents),
            dollars(g.proposed_cents),
            dollars(g.change_cents),
            percent(g.change_bp),
            dollars(g.average_current_cents),
            dollars(g.average_proposed_cents),
        ])
        .map_err(io)?;
    }
    let n = i64::try_from(impact.bills.max(1)).unwrap_or(1);
    w.write_record([
        "all".to_owned(),
        "all".to_owned(),
        impact.bills.to_string(),
        dollars(impact.current_cents),
        dollars(impact.proposed_cents),
        dollars(impact.change_cents),
        percent(impact.change_bp),
        dollars(impact.current_cents / n),
        dollars(impact.proposed_cents / n),
    ])
    .map_err(io)?;
    let bytes = w
        .into_inner()
        .map_err(|e| BillingError::Invalid(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| BillingError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_by_gallons() {
        let gal = |n: i64| Volume::new(Decimal::from(n), VolumeUnit::Gallon);
        assert_eq!(band(gal(0)), "0–2,000 gal");
        assert_eq!(band(gal(2_000)), "0–2,000 gal");
        assert_eq!(band(gal(2_001)), "2,001–5,000 gal");
        assert_eq!(band(gal(25_000)), "over 20,000 gal");
        // 10 ccf = 7,480.5 gallons.
        assert_eq!(
            band(Volume::new(Decimal::from(10), VolumeUnit::Ccf)),
            "5,001–10,000 gal"
        );
    }

    #[test]
    fn basis_points() {
        assert_eq!(bp(125, 10_000), 125);
        assert_eq!(bp(-50, 1_000), -500);
        assert_eq!(bp(5, 0), 0);
    }
}
