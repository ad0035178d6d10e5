//! Small builders shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test on bad input"
)]

use aqueduct_rates::*;
use chrono::NaiveDate;
use rust_decimal::Decimal;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn period(start: NaiveDate, end: NaiveDate) -> BillingPeriod {
    BillingPeriod::new(start, end).unwrap()
}

/// A 30-day June period.
pub fn june() -> BillingPeriod {
    period(date(2024, 6, 1), date(2024, 7, 1))
}

pub fn gal(q: Decimal) -> Volume {
    Volume::new(q, VolumeUnit::Gallon)
}

pub fn blocks(rows: &[(Decimal, Decimal)]) -> Vec<Block> {
    rows.iter()
        .map(|&(from, rate)| Block { from, rate })
        .collect()
}

pub fn usage(unit: VolumeUnit, rows: &[(Decimal, Decimal)]) -> UsageCharge {
    UsageCharge {
        unit,
        basis: UsageBasis::Metered,
        winter_average_default: None,
        allowance: Decimal::ZERO,
        tiers_start: TiersStart::AfterAllowance,
        tier_basis: TierBasis::PerBill,
        blocks: blocks(rows),
        seasons: Vec::new(),
    }
}

pub fn service(service: Service) -> ServiceRates {
    ServiceRates {
        service,
        base: None,
        usage: None,
        share_of: None,
        flat_fees: Vec::new(),
        surcharges: Vec::new(),
        minimum: None,
    }
}

pub fn base(amount: Decimal) -> Option<BaseCharge> {
    Some(BaseCharge {
        amounts: SizeTable::flat(amount),
        per_day: false,
    })
}

pub fn schedule(
    name: &str,
    effective_from: NaiveDate,
    services: Vec<ServiceRates>,
) -> RateSchedule {
    RateSchedule {
        name: name.into(),
        effective_from,
        rounding: Rounding::default(),
        usage_rounding: None,
        services,
        minimum_bill: None,
        taxes: Vec::new(),
        assessments: Vec::new(),
        prompt_payment_discount: None,
    }
}

pub fn history(versions: Vec<RateSchedule>) -> ScheduleHistory {
    ScheduleHistory::new(versions).unwrap()
}

pub fn input(
    period: BillingPeriod,
    meter_size: MeterSize,
    used: Volume,
    services: &[Service],
) -> BillInput {
    BillInput {
        period,
        meter_size,
        usage: used,
        carried_in: Volume::ZERO,
        winter_average: None,
        services: services.to_vec(),
    }
}

/// Calculates and checks the invariant every bill must keep.
pub fn bill(h: &ScheduleHistory, i: &BillInput) -> BillCalculation {
    let b = h.calculate(i).unwrap();
    let sum: i64 = b.lines.iter().map(|l| l.amount.cents).sum();
    assert_eq!(sum, b.total.cents, "lines must sum to the total: {b:#?}");
    b
}

/// (kind, cents) of each line.
pub fn cents(b: &BillCalculation) -> Vec<(LineKind, i64)> {
    b.lines.iter().map(|l| (l.kind, l.amount.cents)).collect()
}
