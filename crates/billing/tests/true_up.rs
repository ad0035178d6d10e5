//! Estimate true-up through the pure bill drafting (`bills::draft_one`):
//! a worked example computed by hand, the exceptions that stay
//! exceptions, and a property over any run of estimated and actual reads.
#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions: a bad fixture should panic"
)]

use aqueduct_billing::bills::{self, Cycle, Draft, EstimateRule, RunException};
use aqueduct_billing::entity::{account, bill, meter, meter_read};
use aqueduct_billing::true_up;
use aqueduct_rates::{LineKind, ScheduleHistory};
use chrono::{Days, NaiveDate};
use proptest::prelude::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn history(schedule: serde_json::Value) -> ScheduleHistory {
    ScheduleHistory::new(vec![serde_json::from_value(schedule).unwrap()]).unwrap()
}

/// $20.00 base on a 5/8" meter; water at $3.00 per 1,000 gallons for the
/// first 5,000 gallons of a bill and $5.00 per 1,000 after that.
fn two_blocks() -> ScheduleHistory {
    history(serde_json::json!({
        "name": "Two blocks",
        "effective_from": "2025-01-01",
        "services": [{
            "service": "water",
            "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": "20.00"}]}},
            "usage": {"unit": "thousand_gallons",
                      "blocks": [{"from": "0", "rate": "3.00"}, {"from": "5", "rate": "5.00"}]}
        }]
    }))
}

/// Harder tiering for the property: 2,000 gallons included, three blocks
/// whose rates are not round, rounded half-up per line.
fn three_blocks() -> ScheduleHistory {
    history(serde_json::json!({
        "name": "Three blocks",
        "effective_from": "2025-01-01",
        "services": [{
            "service": "water",
            "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": "24.50"}]}},
            "usage": {"unit": "thousand_gallons", "allowance": "2",
                      "blocks": [{"from": "0", "rate": "2.37"}, {"from": "5", "rate": "4.111"},
                                 {"from": "15", "rate": "6.259"}]}
        }]
    }))
}

fn meter(digits: i16) -> meter::Model {
    meter::Model {
        tenant_id: uuid::Uuid::nil(),
        id: uuid::Uuid::from_u128(7),
        location_id: uuid::Uuid::nil(),
        serial: "M-1".into(),
        size: "5/8\"".into(),
        unit: "gallons".into(),
        register_digits: digits,
        multiplier: 1,
        installed_on: day("2020-01-01"),
        removed_on: None,
        status: "active".into(),
    }
}

fn acct() -> account::Model {
    account::Model {
        tenant_id: uuid::Uuid::nil(),
        id: uuid::Uuid::from_u128(1),
        account_number: "100-1".into(),
        holder_name: "Holder".into(),
        co_holder_name: None,
        email: None,
        phone: None,
        mailing_line1: None,
        mailing_line2: None,
        mailing_city: None,
        mailing_state: None,
        mailing_postal_code: None,
        status: "active".into(),
        opened_on: day("2020-01-01"),
        closed_at: None,
        paperless: false,
        autopay: false,
        notes: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        updated_at: chrono::DateTime::UNIX_EPOCH,
    }
}

fn read(on: NaiveDate, value: i64, estimated: bool) -> meter_read::Model {
    meter_read::Model {
        tenant_id: uuid::Uuid::nil(),
        id: uuid::Uuid::now_v7(),
        meter_id: uuid::Uuid::from_u128(7),
        read_on: on,
        value,
        estimated,
        source: if estimated { "estimate" } else { "manual" }.into(),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// The bill row a bill run writes for a draft.
fn issued(d: &Draft, number: i64) -> bill::Model {
    bill::Model {
        tenant_id: uuid::Uuid::nil(),
        id: uuid::Uuid::now_v7(),
        bill_run_id: uuid::Uuid::nil(),
        account_id: d.account.id,
        meter_id: d.meter.id,
        number,
        revision: 0,
        period_start: d.previous.read_on,
        period_end: d.current.read_on,
        read_from: d.previous.read_on,
        read_to: d.current.read_on,
        previous_value: d.previous.value,
        current_value: d.current.value,
        usage_units: d.billed_units(),
        usage_unit: d.meter.unit.clone(),
        estimated: d.current.estimated,
        total_cents: d.calculation.total.cents,
        lines: serde_json::to_string(&d.calculation.lines).unwrap(),
        due_on: d.current.read_on,
        issued_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// Bills each read after the first in turn, as monthly bill runs would
/// (each cycle ending on its read), the bills issued so far passed on.
fn bill_all(
    history: &ScheduleHistory,
    m: &meter::Model,
    reads: &[meter_read::Model],
) -> Result<Vec<(Draft, bill::Model)>, RunException> {
    let mut out: Vec<(Draft, bill::Model)> = Vec::new();
    for i in 1..reads.len() {
        let cycle = Cycle {
            start: reads[i - 1].read_on + Days::new(1),
            end: reads[i].read_on,
            history,
            estimate_missing: false,
            estimate: EstimateRule::default(),
        };
        let prior: Vec<bill::Model> = out.iter().map(|(_, b)| b.clone()).collect();
        let d = bills::draft_one(cycle, &acct(), m, &reads[..=i], None, &prior)?;
        let b = issued(&d, i64::try_from(i).unwrap());
        out.push((d, b));
    }
    Ok(out)
}

fn cents_of(d: &Draft, kind: LineKind) -> i64 {
    d.calculation
        .lines
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.amount.cents)
        .sum()
}

#[test]
fn an_over_estimate_is_credited_at_the_estimated_bills_volumetric_rate() {
    // Reads (6-digit register, gallons), two-block schedule above:
    //   Jan 1  100,000 actual
    //   Feb 1  108,000 estimated → 8,000 gal: 5 × $3.00 + 3 × $5.00 = $30.00
    //   Mar 1  116,000 estimated → 8,000 gal: $30.00 again
    //   Apr 1  109,000 actual    → used 9,000 since Jan 1, 16,000 billed:
    //          7,000 gallons over-estimated.
    // The true use goes to the estimated bills earliest first: February
    // truly used its 8,000 ($30.00: nothing to credit), March 1,000
    // (1 × $3.00 = $3.00: $27.00 over-charged). April prices no use: the
    // $20.00 base, a $27.00 credit, total −$7.00.
    //   Check: volumetric $30.00 + $30.00 − $27.00 + $0 = $33.00 = the true
    //   reads (108,000 / 109,000 / 109,000): $30.00 + $3.00 + $0.
    // May 1 115,000 actual → 6,000 gal, billed as usual: 5 × $3.00 +
    //   1 × $5.00 = $20.00 + $20.00 base = $40.00.
    let h = two_blocks();
    let m = meter(6);
    let reads = [
        read(day("2026-01-01"), 100_000, false),
        read(day("2026-02-01"), 108_000, true),
        read(day("2026-03-01"), 116_000, true),
        read(day("2026-04-01"), 109_000, false),
        read(day("2026-05-01"), 115_000, false),
    ];
    let bills = bill_all(&h, &m, &reads).unwrap();
    let totals: Vec<i64> = bills.iter().map(|(_, b)| b.total_cents).collect();
    assert_eq!(totals, [5_000, 5_000, -700, 4_000]);
    let units: Vec<i64> = bills.iter().map(|(_, b)| b.usage_units).collect();
    assert_eq!(units, [8_000, 8_000, -7_000, 6_000]);
    assert_eq!(units.iter().sum::<i64>(), 115_000 - 100_000);

    let (april, row) = &bills[2];
    let t = april.true_up.as_ref().unwrap();
    assert_eq!(
        (t.estimated_units, t.actual_units, t.estimated_bills),
        (16_000, 9_000, 2)
    );
    assert_eq!(
        (t.last_actual_on, t.last_actual_value),
        (day("2026-01-01"), 100_000)
    );
    assert_eq!(t.credit_cents, 2_700);
    let correction = april.calculation.lines.last().unwrap();
    assert_eq!(correction.kind, LineKind::EstimateCorrection);
    assert_eq!(
        correction.description,
        "Correction of estimated use: 16,000 gallons billed on estimates, 9,000 used"
    );
    assert_eq!(correction.amount.cents, -2_700);
    assert_eq!(correction.quantity, Some((-7_000).into()));
    // The base charge stands; no use is priced.
    assert_eq!(cents_of(april, LineKind::Base), 2_000);
    assert_eq!(cents_of(april, LineKind::Usage), 0);
    // The bill still reads from the estimate it follows.
    assert_eq!((row.previous_value, row.current_value), (116_000, 109_000));
    // Lines add up to the total.
    let sum: i64 = april.calculation.lines.iter().map(|l| l.amount.cents).sum();
    assert_eq!(sum, april.calculation.total.cents);
    // May is an ordinary bill.
    assert!(bills[3].0.true_up.is_none());
}

#[test]
fn an_under_estimate_bills_the_extra_units_normally() {
    // Jan 1 100,000 actual; Feb 1 103,000 estimated (3,000 gal: $9.00 +
    // $20.00 = $29.00); Mar 1 110,000 actual: 10,000 used, 3,000 billed →
    // 7,000 more over March's own days: 5 × $3.00 + 2 × $5.00 = $25.00 +
    // $20.00 = $45.00. No correction line.
    let h = two_blocks();
    let reads = [
        read(day("2026-01-01"), 100_000, false),
        read(day("2026-02-01"), 103_000, true),
        read(day("2026-03-01"), 110_000, false),
    ];
    let bills = bill_all(&h, &meter(6), &reads).unwrap();
    assert_eq!(
        bills.iter().map(|(_, b)| b.total_cents).collect::<Vec<_>>(),
        [2_900, 4_500]
    );
    let (march, row) = &bills[1];
    assert_eq!(row.usage_units, 7_000);
    let t = march.true_up.as_ref().unwrap();
    assert_eq!(
        (t.estimated_units, t.actual_units, t.credit_cents),
        (3_000, 10_000, 0)
    );
    assert!(
        march
            .calculation
            .lines
            .iter()
            .all(|l| l.kind != LineKind::EstimateCorrection)
    );
}

#[test]
fn a_read_below_the_last_actual_read_stays_negative_use() {
    let h = two_blocks();
    // No estimate in between: backwards.
    let reads = [
        read(day("2026-01-01"), 100_000, false),
        read(day("2026-02-01"), 99_000, false),
    ];
    let e = bill_all(&h, &meter(6), &reads).unwrap_err();
    assert_eq!(e.kind, "negative_use");
    // Below the last actual read even with an estimate in between: the
    // estimate is not what went wrong.
    let reads = [
        read(day("2026-01-01"), 100_000, false),
        read(day("2026-02-01"), 104_000, true),
        read(day("2026-03-01"), 99_500, false),
    ];
    let e = bill_all(&h, &meter(6), &reads).unwrap_err();
    assert_eq!(e.kind, "negative_use");
    assert!(
        e.detail.contains("below its last actual read 100000"),
        "{}",
        e.detail
    );
}

#[test]
fn a_rollover_is_use_and_an_over_estimate_across_it_is_corrected() {
    // 6-digit register: Jan 1 998,000 actual; Feb 1 estimated 4,000 (the
    // register wrapped: 6,000 gal, $15.00 + $5.00 + $20.00 = $40.00); Mar 1
    // actual 1,000: 3,000 used since January (a rollover, not negative),
    // 6,000 billed → 3,000 over. February truly used 3,000 ($9.00) of its
    // $20.00 of water: $11.00 credited. March: $20.00 − $11.00 = $9.00.
    let h = two_blocks();
    let reads = [
        read(day("2026-01-01"), 998_000, false),
        read(day("2026-02-01"), 4_000, true),
        read(day("2026-03-01"), 1_000, false),
    ];
    let bills = bill_all(&h, &meter(6), &reads).unwrap();
    assert_eq!(
        bills.iter().map(|(_, b)| b.total_cents).collect::<Vec<_>>(),
        [4_000, 900]
    );
    assert!(bills[1].0.consumption.rolled_over);
    assert_eq!(bills[1].1.usage_units, -3_000);
    // And an ordinary rollover between actual reads is still use.
    let reads = [
        read(day("2026-01-01"), 999_500, false),
        read(day("2026-02-01"), 300, false),
    ];
    let bills = bill_all(&h, &meter(6), &reads).unwrap();
    assert_eq!(bills[0].1.usage_units, 800);
}

#[test]
fn estimates_nobody_billed_are_skipped() {
    // An estimate stored but never billed: the actual read is measured
    // from the last actual read, over the days since it.
    let h = two_blocks();
    let m = meter(6);
    let reads = [
        read(day("2026-01-01"), 100_000, false),
        read(day("2026-02-01"), 150_000, true),
        read(day("2026-03-01"), 104_000, false),
    ];
    let cycle = Cycle {
        start: day("2026-02-02"),
        end: day("2026-03-01"),
        history: &h,
        estimate_missing: false,
        estimate: EstimateRule::default(),
    };
    let d = bills::draft_one(cycle, &acct(), &m, &reads, None, &[]).unwrap();
    assert_eq!(d.previous.value, 100_000);
    assert_eq!(d.billed_units(), 4_000);
    assert!(d.true_up.is_none());
}

/// Units of one step of a generated read sequence.
#[derive(Debug, Clone, Copy)]
struct Step {
    estimated: bool,
    units: i64,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (any::<bool>(), 0_i64..30_000).prop_map(|(estimated, units)| Step { estimated, units }),
        1..10,
    )
}

/// Cents of the usage lines of `units` priced over `from..to`.
fn volumetric(
    h: &ScheduleHistory,
    m: &meter::Model,
    from: NaiveDate,
    to: NaiveDate,
    units: i64,
) -> i64 {
    true_up::volumetric_cents(&bills::price(h, m, from, to, units).unwrap().lines)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over any sequence of estimated and actual reads ending with an
    /// actual read: the units billed add up to the metered use, and the
    /// volumetric charges (usage lines plus corrections) add up to the
    /// usage charges of the true reads — each estimated read replaced by
    /// `min(estimate, next actual read)` — each bill period tiered on its
    /// own days, to the cent.
    #[test]
    fn estimates_true_up_to_the_actual_reads(start in 0_i64..400_000, seq in steps(),
                                             last in 0_i64..30_000, digits in 6_i16..=7) {
        let h = three_blocks();
        let m = meter(digits);
        let range = 10_i64.pow(u32::try_from(digits).unwrap());
        // An estimate goes on from the read before it; an actual read from
        // the last actual read (so it may fall below the estimates).
        let mut reads = vec![read(day("2026-01-01"), start, false)];
        let mut last_actual = start;
        let mut on = day("2026-01-01");
        let all = seq.iter().copied().chain([Step { estimated: false, units: last }]);
        for s in all {
            on = on + Days::new(30);
            let base = if s.estimated { reads.last().unwrap().value } else { last_actual };
            let value = base + s.units;
            if !s.estimated {
                last_actual = value;
            }
            reads.push(read(on, value, s.estimated));
        }
        // The register wraps (values are read modulo its range).
        let metered = last_actual - start;
        let shown: Vec<meter_read::Model> = reads
            .iter()
            .map(|r| meter_read::Model { value: r.value.rem_euclid(range), ..r.clone() })
            .collect();
        let bills = bill_all(&h, &m, &shown).unwrap();

        let units: i64 = bills.iter().map(|(_, b)| b.usage_units).sum();
        prop_assert_eq!(units, metered);

        // The true reads (unwrapped): an estimate becomes min(estimate,
        // the next actual read).
        let truly: Vec<i64> = (0..reads.len())
            .map(|i| {
                let next_actual = reads[i..].iter().find(|r| !r.estimated).unwrap().value;
                reads[i].value.min(next_actual)
            })
            .collect();
        let expected: i64 = (1..reads.len())
            .map(|i| volumetric(&h, &m, reads[i - 1].read_on, reads[i].read_on,
                                truly[i] - truly[i - 1]))
            .sum();
        let charged: i64 = bills
            .iter()
            .map(|(d, _)| cents_of(d, LineKind::Usage) + cents_of(d, LineKind::EstimateCorrection))
            .sum();
        prop_assert_eq!(charged, expected);
        for (d, _) in &bills {
            // Every bill's lines add up; base charges are never credited.
            let sum: i64 = d.calculation.lines.iter().map(|l| l.amount.cents).sum();
            prop_assert_eq!(sum, d.calculation.total.cents);
            prop_assert_eq!(cents_of(d, LineKind::Base), 2_450);
            prop_assert!(cents_of(d, LineKind::EstimateCorrection) <= 0);
        }
    }
}
