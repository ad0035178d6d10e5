//! One test (or a few) per feature of the rate math.

mod common;

use aqueduct_core::Money;
use aqueduct_rates::*;
use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const WATER: &[Service] = &[Service::Water];
const WATER_SEWER: &[Service] = &[Service::Water, Service::Sewer];

fn water_only(usage_charge: UsageCharge) -> RateSchedule {
    let mut water = service(Service::Water);
    water.base = base(dec!(20));
    water.usage = Some(usage_charge);
    schedule("Test", date(2024, 1, 1), vec![water])
}

fn total(s: RateSchedule, used: Volume) -> i64 {
    bill(
        &history(vec![s]),
        &input(june(), MeterSize::FiveEighths, used, WATER),
    )
    .total
    .cents
}

#[test]
fn base_charge_by_meter_size_with_default() {
    let mut water = service(Service::Water);
    water.base = Some(BaseCharge {
        amounts: SizeTable {
            by_meter_size: vec![
                SizeAmount {
                    size: MeterSize::FiveEighths,
                    amount: dec!(18),
                },
                SizeAmount {
                    size: MeterSize::One,
                    amount: dec!(30),
                },
            ],
            default: Some(dec!(100)),
        },
        per_day: false,
    });
    let h = history(vec![schedule("Sizes", date(2024, 1, 1), vec![water])]);
    let t = |size| {
        bill(&h, &input(june(), size, Volume::ZERO, WATER))
            .total
            .cents
    };
    assert_eq!(t(MeterSize::FiveEighths), 1800);
    assert_eq!(t(MeterSize::One), 3000);
    assert_eq!(t(MeterSize::Four), 10000);
    let b = bill(&h, &input(june(), MeterSize::One, Volume::ZERO, WATER));
    assert_eq!(b.lines[0].description, "Water base charge, 1\" meter");
}

#[test]
fn per_day_base_charge() {
    let mut water = service(Service::Water);
    water.base = Some(BaseCharge {
        amounts: SizeTable::flat(dec!(1.24)),
        per_day: true,
    });
    let h = history(vec![schedule("Daily", date(2024, 1, 1), vec![water])]);
    let b = bill(&h, &input(june(), MeterSize::One, Volume::ZERO, WATER));
    assert_eq!(b.total.cents, 3720, "30 days × $1.24");
    assert_eq!(b.lines[0].quantity, Some(dec!(30)));
    assert_eq!(b.lines[0].unit, Some(QuantityUnit::Days));
}

#[test]
fn uniform_rate() {
    let s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4.25))]));
    assert_eq!(
        total(s, gal(dec!(3500))),
        2000 + 1488,
        "3.5 × 4.25 = 14.875 → 14.88"
    );
}

#[test]
fn increasing_blocks_and_allowance() {
    let rows = [(dec!(0), dec!(2)), (dec!(5), dec!(3)), (dec!(10), dec!(5))];
    let mut u = usage(VolumeUnit::ThousandGallons, &rows);
    assert_eq!(
        total(water_only(u.clone()), gal(dec!(12000))),
        2000 + 1000 + 1500 + 1000
    );
    // 2,000 gallons included; blocks count from the end of the allowance.
    u.allowance = dec!(2);
    assert_eq!(
        total(water_only(u.clone()), gal(dec!(12000))),
        2000 + 1000 + 1500
    );
    assert_eq!(total(water_only(u.clone()), gal(dec!(1500))), 2000);
    // Blocks count from the first unit; the allowance fills block 1 free.
    u.tiers_start = TiersStart::FirstUnit;
    assert_eq!(
        total(water_only(u.clone()), gal(dec!(12000))),
        2000 + 600 + 1500 + 1000
    );
}

#[test]
fn declining_blocks() {
    let s = water_only(usage(
        VolumeUnit::ThousandGallons,
        &[(dec!(0), dec!(5)), (dec!(10), dec!(3))],
    ));
    assert_eq!(total(s, gal(dec!(15000))), 2000 + 5000 + 1500);
}

#[test]
fn meter_unit_differs_from_rate_unit() {
    // 1,000 ft³ = 7,480.519… gal; at $5 per 1,000 gal = $37.402597… → $37.40.
    let s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(5))]));
    let b = bill(
        &history(vec![s.clone()]),
        &input(
            june(),
            MeterSize::FiveEighths,
            Volume::new(dec!(1000), VolumeUnit::CubicFoot),
            WATER,
        ),
    );
    assert_eq!(b.total.cents, 2000 + 3740);
    assert_eq!(b.lines[1].quantity, Some(dec!(7.480519)));
    // Cubic metres priced per ccf: 10 m³ = 3.5314666… ccf × $4 = $14.13.
    let s = water_only(usage(VolumeUnit::Ccf, &[(dec!(0), dec!(4))]));
    assert_eq!(
        total(s, Volume::new(dec!(10), VolumeUnit::CubicMeter)),
        2000 + 1413
    );
}

#[test]
fn seasonal_blocks_by_the_month_of_the_last_day() {
    let mut u = usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(2))]);
    u.seasons = vec![
        Season {
            name: "Summer".into(),
            from_month: 6,
            to_month: 9,
            blocks: blocks(&[(dec!(0), dec!(2)), (dec!(5), dec!(6))]),
        },
        Season {
            name: "Deep winter".into(),
            from_month: 12,
            to_month: 2,
            blocks: blocks(&[(dec!(0), dec!(1))]),
        },
    ];
    let h = history(vec![water_only(u)]);
    let t = |p| {
        bill(
            &h,
            &input(p, MeterSize::FiveEighths, gal(dec!(10000)), WATER),
        )
    };
    let summer = t(june());
    assert_eq!(summer.total.cents, 2000 + 1000 + 3000);
    assert!(
        summer.lines[2].description.contains("Summer, block 2 of 2"),
        "{}",
        summer.lines[2].description
    );
    assert_eq!(
        t(period(date(2024, 12, 10), date(2025, 1, 10))).total.cents,
        2000 + 1000
    );
    assert_eq!(
        t(period(date(2024, 10, 1), date(2024, 11, 1))).total.cents,
        2000 + 2000
    );
    // May 5 – June 4: the last day is in June, so summer blocks apply.
    assert_eq!(
        t(period(date(2024, 5, 5), date(2024, 6, 5))).total.cents,
        6000
    );
}

#[test]
fn tiers_scaled_to_days_and_daily_average() {
    let rows = [(dec!(0), dec!(2)), (dec!(10), dec!(4))];
    let mut scaled = usage(VolumeUnit::ThousandGallons, &rows);
    scaled.tier_basis = TierBasis::ScaledToDays { standard_days: 30 };
    let long = period(date(2024, 6, 1), date(2024, 7, 16)); // 45 days: block 1 is 15 kgal
    let h = history(vec![water_only(scaled)]);
    let b = bill(
        &h,
        &input(long, MeterSize::FiveEighths, gal(dec!(20000)), WATER),
    );
    assert_eq!(b.total.cents, 2000 + 3000 + 2000);
    // Per-day thresholds of 1/3 kgal over 45 days are the same 15 kgal.
    let mut daily = usage(
        VolumeUnit::ThousandGallons,
        &[(dec!(0), dec!(2)), (dec!(0.5), dec!(4))],
    );
    daily.tier_basis = TierBasis::DailyAverage;
    let h = history(vec![water_only(daily)]);
    let b = bill(
        &h,
        &input(long, MeterSize::FiveEighths, gal(dec!(30000)), WATER),
    );
    // 22.5 kgal at $2, 7.5 kgal at $4.
    assert_eq!(b.total.cents, 2000 + 4500 + 3000);
}

#[test]
fn minimum_charge_and_minimum_bill() {
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(3))]));
    s.services[0].minimum = Some(SizeTable::flat(dec!(26)));
    let h = history(vec![s.clone()]);
    let b = bill(
        &h,
        &input(june(), MeterSize::FiveEighths, gal(dec!(1000)), WATER),
    );
    assert_eq!(
        cents(&b),
        vec![
            (LineKind::Base, 2000),
            (LineKind::Usage, 300),
            (LineKind::Minimum, 300)
        ]
    );
    assert_eq!(total(s.clone(), gal(dec!(3000))), 2900);
    s.services[0].minimum = None;
    s.minimum_bill = Some(dec!(25));
    let b = bill(
        &history(vec![s]),
        &input(june(), MeterSize::FiveEighths, Volume::ZERO, WATER),
    );
    assert_eq!(
        cents(&b),
        vec![(LineKind::Base, 2000), (LineKind::MinimumBill, 500)]
    );
}

fn with_sewer(sewer: ServiceRates) -> ScheduleHistory {
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    s.services.push(sewer);
    history(vec![s])
}

#[test]
fn sewer_flat_per_unit_and_share_of_water() {
    let i = input(june(), MeterSize::FiveEighths, gal(dec!(5000)), WATER_SEWER);
    let mut flat = service(Service::Sewer);
    flat.flat_fees = vec![FlatFee {
        description: "Sewer".into(),
        amount: dec!(35),
    }];
    assert_eq!(bill(&with_sewer(flat), &i).total.cents, 4000 + 3500);
    let mut per_unit = service(Service::Sewer);
    per_unit.usage = Some(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(6.5))]));
    assert_eq!(bill(&with_sewer(per_unit), &i).total.cents, 4000 + 3250);
    let mut share = service(Service::Sewer);
    share.share_of = Some(ShareOf {
        services: vec![Service::Water],
        percent: dec!(75),
    });
    let b = bill(&with_sewer(share), &i);
    assert_eq!(cents(&b).last(), Some(&(LineKind::Share, 3000)));
    assert_eq!(b.lines[2].description, "Sewer: 75% of water charges");
    // An account without sewer service pays no sewer.
    let water_only_account = input(june(), MeterSize::FiveEighths, gal(dec!(5000)), WATER);
    let mut share = service(Service::Sewer);
    share.share_of = Some(ShareOf {
        services: vec![Service::Water],
        percent: dec!(75),
    });
    assert_eq!(
        bill(&with_sewer(share), &water_only_account).total.cents,
        4000
    );
}

#[test]
fn sewer_winter_average_needs_an_average_or_default() {
    let mut sewer = service(Service::Sewer);
    let mut u = usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(5))]);
    u.basis = UsageBasis::WinterAverage;
    sewer.usage = Some(u.clone());
    let h = with_sewer(sewer);
    let mut i = input(june(), MeterSize::FiveEighths, gal(dec!(9000)), WATER_SEWER);
    assert!(matches!(
        h.calculate(&i),
        Err(RateError::MissingWinterAverage {
            service: Service::Sewer,
            ..
        })
    ));
    i.winter_average = Some(gal(dec!(3000)));
    assert_eq!(bill(&h, &i).total.cents, 2000 + 3600 + 1500);
    // The cap variant bills actual use with no average.
    u.basis = UsageBasis::WinterAverageCap;
    let mut sewer = service(Service::Sewer);
    sewer.usage = Some(u);
    i.winter_average = None;
    assert_eq!(bill(&with_sewer(sewer), &i).total.cents, 2000 + 3600 + 4500);
}

#[test]
fn surcharges_flat_per_unit_and_percent() {
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    s.services[0].surcharges = vec![
        Surcharge::Flat {
            description: "Chromium-6 surcharge".into(),
            amount: dec!(9.71),
        },
        Surcharge::PerUnit {
            description: "Drought surcharge".into(),
            rate: dec!(0.50),
            unit: VolumeUnit::Ccf,
        },
        Surcharge::Percent {
            description: "Capital surcharge".into(),
            percent: dec!(10),
        },
    ];
    // 7,480 gal: $20 + $29.92 + $9.71 + 9.99931 ccf × $0.50 ($4.99965 → $5.00) = $64.63;
    // 10% of that is $6.463 → $6.46.
    let b = bill(
        &history(vec![s]),
        &input(june(), MeterSize::FiveEighths, gal(dec!(7480)), WATER),
    );
    assert_eq!(
        cents(&b),
        vec![
            (LineKind::Base, 2000),
            (LineKind::Usage, 2992),
            (LineKind::Surcharge, 971),
            (LineKind::Surcharge, 500),
            (LineKind::Surcharge, 646)
        ]
    );
}

#[test]
fn taxes_on_chosen_services_and_assessment_on_the_whole_bill() {
    let mut trash = service(Service::Trash);
    trash.flat_fees = vec![FlatFee {
        description: "Trash".into(),
        amount: dec!(15),
    }];
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    s.services.push(trash);
    s.taxes = vec![PercentCharge {
        description: "Sales tax on trash".into(),
        percent: dec!(7.25),
        services: vec![Service::Trash],
    }];
    s.assessments = vec![PercentCharge {
        description: "State regulatory fee".into(),
        percent: dec!(1),
        services: vec![],
    }];
    let i = input(
        june(),
        MeterSize::FiveEighths,
        gal(dec!(5000)),
        &[Service::Water, Service::Trash],
    );
    let b = bill(&history(vec![s]), &i);
    // $40 water + $15 trash; tax 7.25% × $15 = $1.0875 → $1.09;
    // assessment 1% × $56.09 = $0.5609 → $0.56.
    assert_eq!(
        cents(&b),
        vec![
            (LineKind::Base, 2000),
            (LineKind::Usage, 2000),
            (LineKind::FlatFee, 1500),
            (LineKind::Tax, 109),
            (LineKind::Assessment, 56)
        ]
    );
    assert_eq!(b.lines[3].quantity, Some(dec!(15)));
    assert_eq!(b.lines[3].unit, Some(QuantityUnit::Dollars));
}

#[test]
fn prompt_payment_discount_is_reported_apart() {
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    s.prompt_payment_discount = Some(PercentCharge {
        description: "Paid by due date".into(),
        percent: dec!(2),
        services: vec![],
    });
    let b = bill(
        &history(vec![s]),
        &input(june(), MeterSize::FiveEighths, gal(dec!(5125)), WATER),
    );
    assert_eq!(b.total.cents, 4050);
    let d = b.prompt_payment_discount.clone().unwrap();
    assert_eq!(d.amount, Money::usd(-81), "2% of $40.50");
    assert_eq!(b.amount_due(true), Money::usd(3969));
    assert_eq!(b.amount_due(false), Money::usd(4050));
}

#[test]
fn usage_rounding_carries_forward_through_calculate() {
    let mut s = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    s.usage_rounding = Some(UsageRounding {
        step: dec!(1000),
        unit: VolumeUnit::Gallon,
        mode: UsageRoundingMode::CarryForward,
    });
    let h = history(vec![s]);
    let mut i = input(june(), MeterSize::FiveEighths, gal(dec!(5750)), WATER);
    let b = bill(&h, &i);
    assert_eq!(b.total.cents, 2000 + 2000);
    assert_eq!(b.usage.carried_out.in_unit(VolumeUnit::Gallon), dec!(750));
    i.carried_in = b.usage.carried_out;
    i.usage = gal(dec!(1300));
    let b = bill(&h, &i);
    assert_eq!(b.usage.billed.in_unit(VolumeUnit::Gallon), dec!(2000));
    assert_eq!(b.usage.carried_out.in_unit(VolumeUnit::Gallon), dec!(50));
}

#[test]
fn rounding_rules_and_total_only_rounding() {
    // Three lines of $0.335 each: per line half-up 3 × $0.34 = $1.02.
    let mut s = water_only(usage(VolumeUnit::Gallon, &[(dec!(0), dec!(0.000335))]));
    s.services[0].base = None;
    s.services[0].flat_fees = vec![
        FlatFee {
            description: "A".into(),
            amount: dec!(0.335),
        },
        FlatFee {
            description: "B".into(),
            amount: dec!(0.335),
        },
    ];
    let used = gal(dec!(1000));
    assert_eq!(total(s.clone(), used), 102);
    s.rounding.rule = RoundingRule::HalfEven;
    assert_eq!(total(s.clone(), used), 102, "0.335 → 0.34 (4 is even)");
    s.rounding.rule = RoundingRule::Truncate;
    assert_eq!(total(s.clone(), used), 99);
    // Total only: $1.005 → $1.01, lines show $0.34 each and a -$0.01 rounding line.
    s.rounding = Rounding {
        rule: RoundingRule::HalfUp,
        scope: RoundingScope::Total,
    };
    let b = bill(
        &history(vec![s]),
        &input(june(), MeterSize::FiveEighths, used, WATER),
    );
    assert_eq!(b.total.cents, 101);
    assert_eq!(b.exact_total, dec!(1.005));
    assert_eq!(
        cents(&b),
        vec![
            (LineKind::Usage, 34),
            (LineKind::FlatFee, 34),
            (LineKind::FlatFee, 34),
            (LineKind::Rounding, -1)
        ]
    );
}

#[test]
fn version_in_force_and_split() {
    let s1 = water_only(usage(VolumeUnit::ThousandGallons, &[(dec!(0), dec!(4))]));
    let mut s2 = s1.clone();
    s2.effective_from = date(2024, 6, 16);
    s2.name = "Test 2".into();
    let h = history(vec![s2, s1]);
    assert_eq!(h.in_force(date(2023, 12, 31)), None);
    assert_eq!(
        h.in_force(date(2024, 6, 15)).map(|s| s.name.as_str()),
        Some("Test")
    );
    assert_eq!(
        h.in_force(date(2024, 6, 16)).map(|s| s.name.as_str()),
        Some("Test 2")
    );
    let parts = h.split(june()).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.days()).collect::<Vec<_>>(),
        vec![15, 15]
    );
    let b = bill(
        &h,
        &input(june(), MeterSize::FiveEighths, gal(dec!(5000)), WATER),
    );
    assert_eq!(b.total.cents, 4000, "identical versions split evenly");
    assert_eq!(b.lines.len(), 4);
    let early = period(date(2023, 12, 1), date(2024, 1, 1));
    assert_eq!(
        h.calculate(&input(early, MeterSize::FiveEighths, Volume::ZERO, WATER)),
        Err(RateError::NoScheduleInForce(date(2023, 12, 1)))
    );
}

#[test]
fn bad_inputs_are_refused() {
    assert!(BillingPeriod::new(date(2024, 6, 1), date(2024, 6, 1)).is_err());
    let h = history(vec![water_only(usage(
        VolumeUnit::Gallon,
        &[(dec!(0), dec!(0.01))],
    ))]);
    let i = input(june(), MeterSize::FiveEighths, gal(dec!(-1)), WATER);
    assert_eq!(h.calculate(&i), Err(RateError::BadUsage("usage".into())));
    let i = input(
        june(),
        MeterSize::FiveEighths,
        gal(Decimal::from(10_i64.pow(15))),
        WATER,
    );
    assert!(h.calculate(&i).is_err());
    // Absurd volumes saturate instead of overflowing, and are refused.
    let huge = Volume::new(Decimal::MAX, VolumeUnit::Ccf);
    let i = input(june(), MeterSize::FiveEighths, huge, WATER);
    assert_eq!(h.calculate(&i), Err(RateError::BadUsage("usage".into())));
}

#[test]
fn describes_lines_for_the_bill() {
    let rows = [(dec!(0), dec!(4)), (dec!(5), dec!(6))];
    let s1 = water_only(usage(VolumeUnit::ThousandGallons, &rows));
    let mut s2 = s1.clone();
    s2.effective_from = date(2024, 6, 21);
    let i = input(june(), MeterSize::FiveEighths, gal(dec!(9000)), WATER);
    let b = bill(&history(vec![s1, s2]), &i);
    let text: Vec<String> = b
        .lines
        .iter()
        .map(|l| format!("{} = {}", l.description, l.amount))
        .collect();
    assert_eq!(
        text,
        [
            "Water base charge, 5/8\" meter (rates of 2024-01-01, 20 of 30 days) = $13.33",
            "Water use, block 1 of 2 (rates of 2024-01-01, 20 of 30 days) = $13.33",
            "Water use, block 2 of 2 (rates of 2024-01-01, 20 of 30 days) = $16.00",
            "Water base charge, 5/8\" meter (rates of 2024-06-21, 10 of 30 days) = $6.67",
            "Water use, block 1 of 2 (rates of 2024-06-21, 10 of 30 days) = $6.67",
            "Water use, block 2 of 2 (rates of 2024-06-21, 10 of 30 days) = $8.00",
        ]
    );
}
