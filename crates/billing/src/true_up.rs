//! Estimate true-up: the first actual read after estimated reads replaces
//! the estimates as the starting point. Pure functions, no database.
//!
//! **Units.** The bill that carries the actual read bills the use since
//! the last *actual* read (`actual − last actual`, rollover handled), less
//! the units the standing bills priced from the estimates since then
//! already billed. More use than estimated is billed as any use, over the
//! bill's own days; less is a **correction**: the bill prices no use and
//! carries a credit line.
//!
//! **The credit** is volumetric only (base charges were owed anyway): for
//! each estimated bill, what its `usage` lines charged minus what its
//! *true* use would have cost with the same schedule over the same days —
//! in cents, never negative, never more than the bill's usage lines
//! charged. The true use of the estimated bills is the actual use given to
//! them in order, earliest first, each up to what it billed (the same as
//! re-reading the meter on each estimate's day at `min(estimate, actual)`).
//! So after any run of estimates ended by an actual read, the units billed
//! add up to the metered use, and the volumetric charges add up to the
//! charges of the true reads, each bill period tiered on its own.
//!
//! **Still an exception:** an actual read below the last *actual* read (no
//! estimate in between to blame) is `negative_use`, and a register that
//! wrapped past its largest value is a rollover, told apart as always by
//! [`consumption::between`].

use crate::consumption::{self, Consumption};
use crate::entity::{bill, meter, meter_read};
use aqueduct_core::Money;
use aqueduct_rates::{BillCalculation, LineItem, LineKind, QuantityUnit, ScheduleHistory};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// What a bill on an actual read trued up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrueUp {
    /// Day of the last actual read before the estimates.
    pub last_actual_on: NaiveDate,
    /// Its register value.
    pub last_actual_value: i64,
    /// Units the estimated bills since then billed.
    pub estimated_units: i64,
    /// Units actually used since the last actual read.
    pub actual_units: i64,
    /// How many estimated bills are trued up.
    pub estimated_bills: usize,
    /// The credit for over-estimated use, in cents (≥ 0; 0 when the
    /// estimates were under the actual use).
    pub credit_cents: i64,
}

impl TrueUp {
    /// Units this bill adds: `actual − estimated` (negative when the
    /// estimates over-read).
    pub fn net_units(&self) -> i64 {
        self.actual_units - self.estimated_units
    }
}

/// The estimates an actual read trues up, measured.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    /// The last actual read before the estimates.
    pub anchor: &'a meter_read::Model,
    /// Use from it to the actual read.
    pub total: Consumption,
    /// The standing bills priced from the estimates, in read order.
    pub bills: Vec<&'a bill::Model>,
}

impl Measured<'_> {
    /// Units the estimated bills billed.
    pub fn estimated_units(&self) -> i64 {
        self.bills.iter().map(|b| b.usage_units).sum()
    }
}

/// When `current` is an actual read and `previous` (the read the bill
/// would start from) an estimate: the last actual read before it (in
/// `before`, ascending) and the standing bills of the meter priced from
/// reads since (`prior`, any order). `Ok(None)` when there is nothing to
/// true up (no estimate, or no actual read before the estimates); `Err`
/// with a detail when the actual read is below the last actual read.
pub fn measure<'a>(
    meter: &meter::Model,
    before: &'a [meter_read::Model],
    previous: &meter_read::Model,
    current: &meter_read::Model,
    prior: &'a [bill::Model],
) -> Result<Option<Measured<'a>>, String> {
    if current.estimated || !previous.estimated {
        return Ok(None);
    }
    let Some(anchor) = before.iter().rev().find(|r| !r.estimated) else {
        return Ok(None);
    };
    let total = consumption::between(
        anchor.value,
        current.value,
        meter.register_digits,
        meter.multiplier,
    );
    if total.negative {
        return Err(format!(
            "meter {} read {} on {}, below its last actual read {} on {}",
            meter.serial, current.value, current.read_on, anchor.value, anchor.read_on
        ));
    }
    let mut bills: Vec<&bill::Model> = prior
        .iter()
        .filter(|b| {
            b.meter_id == meter.id
                && b.read_from >= anchor.read_on
                && b.read_to > anchor.read_on
                && b.read_to <= previous.read_on
        })
        .collect();
    bills.sort_by_key(|b| (b.read_to, b.number));
    Ok(Some(Measured {
        anchor,
        total,
        bills,
    }))
}

/// Cents of a bill's volumetric (`usage`) lines.
pub fn volumetric_cents(lines: &[LineItem]) -> i64 {
    lines
        .iter()
        .filter(|l| l.kind == LineKind::Usage)
        .map(|l| l.amount.cents)
        .sum()
}

/// The actual use `actual` given to bills that billed `billed` units (in
/// order): each takes up to what it billed, earliest first.
pub fn allocate(actual: i64, billed: &[i64]) -> Vec<i64> {
    let mut left = actual.max(0);
    billed
        .iter()
        .map(|b| {
            let take = (*b).max(0).min(left);
            left -= take;
            take
        })
        .collect()
}

/// The credit for the estimated bills of `m` (see the module docs): for
/// each, its usage lines' cents less the cents of its true use priced with
/// `history` over its own days, clamped to `0..=` what it charged.
pub fn credit_cents(
    history: &ScheduleHistory,
    meter: &meter::Model,
    m: &Measured<'_>,
) -> Result<i64, String> {
    let billed: Vec<i64> = m.bills.iter().map(|b| b.usage_units).collect();
    let truly = allocate(m.total.units, &billed);
    let mut credit = 0_i64;
    for (b, units) in m.bills.iter().zip(truly) {
        let lines: Vec<LineItem> =
            serde_json::from_str(&b.lines).map_err(|e| format!("bill {} lines: {e}", b.number))?;
        let charged = volumetric_cents(&lines).max(0);
        let owed = if units == b.usage_units {
            charged
        } else {
            let priced = crate::bills::price(history, meter, b.read_from, b.read_to, units)?;
            volumetric_cents(&priced.lines)
        };
        credit = credit.saturating_add((charged - owed).clamp(0, charged));
    }
    Ok(credit)
}

/// How the bill's reader sees a meter unit.
fn unit_words(meter_unit: &str) -> &str {
    match meter_unit {
        "cubic_feet" => "cubic feet",
        "m3" => "m³",
        other => other,
    }
}

/// `12,345`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The credit line of an over-estimate: "Correction of estimated use: N
/// gallons billed on estimates, M used", its quantity the units credited
/// (negative), its amount `-credit`.
pub fn correction_line(t: &TrueUp, meter: &meter::Model) -> LineItem {
    let unit = unit_words(&meter.unit);
    LineItem {
        service: None,
        kind: LineKind::EstimateCorrection,
        description: format!(
            "Correction of estimated use: {} {unit} billed on estimates, {} used",
            grouped(t.estimated_units),
            grouped(t.actual_units)
        ),
        quantity: Some(Decimal::from(t.net_units())),
        unit: consumption::volume_unit(&meter.unit).map(QuantityUnit::Volume),
        rate: None,
        amount: Money::usd(-t.credit_cents),
        exact_amount: Decimal::new(-t.credit_cents, 2),
        version: None,
    }
}

/// Adds the correction line to a priced bill: the total (and the total if
/// paid on time) fall by the credit.
pub fn apply(calc: &mut BillCalculation, line: LineItem) {
    calc.total = calc.total + line.amount;
    calc.exact_total += line.exact_amount;
    if let Some(d) = calc.prompt_payment_discount.as_mut() {
        d.total_if_paid_on_time = d.total_if_paid_on_time + line.amount;
    }
    calc.lines.push(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actual_use_goes_to_the_earliest_estimates_first() {
        assert_eq!(allocate(5_000, &[3_000, 3_000, 3_000]), [3_000, 2_000, 0]);
        assert_eq!(allocate(10_000, &[3_000, 3_000]), [3_000, 3_000]);
        assert_eq!(allocate(0, &[3_000]), [0]);
        assert_eq!(allocate(-5, &[3_000]), [0]);
    }

    #[test]
    fn units_are_grouped_for_people() {
        assert_eq!(grouped(6_000), "6,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(-2_500), "-2,500");
    }
}
