//! Property tests: invariants that must hold for every valid schedule.

mod common;

use aqueduct_rates::*;
use chrono::Days;
use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

const ALL: &[Service] = &[Service::Water, Service::Sewer, Service::Trash];

fn cents(max: i64) -> impl Strategy<Value = Decimal> {
    (0..=max).prop_map(|c| Decimal::new(c, 2))
}

fn unit() -> impl Strategy<Value = VolumeUnit> {
    prop_oneof![
        Just(VolumeUnit::Gallon),
        Just(VolumeUnit::HundredGallons),
        Just(VolumeUnit::ThousandGallons),
        Just(VolumeUnit::CubicFoot),
        Just(VolumeUnit::Ccf),
        Just(VolumeUnit::CubicMeter),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Increasing,
    Declining,
    Any,
}

/// 1–5 blocks; thresholds in tenths of a unit (scaled for small units).
fn block_table(shape: Shape, unit: VolumeUnit) -> impl Strategy<Value = Vec<Block>> {
    let scale = match unit {
        VolumeUnit::Gallon => 1000,
        VolumeUnit::CubicFoot | VolumeUnit::HundredGallons => 100,
        _ => 1,
    };
    let per_unit_cap = match unit {
        VolumeUnit::Gallon => 200,
        VolumeUnit::CubicFoot => 2_000,
        _ => 200_000,
    };
    (1usize..=5)
        .prop_flat_map(move |n| {
            (
                prop::collection::vec(1i64..=200, n - 1),
                prop::collection::vec(0i64..=per_unit_cap, n),
            )
        })
        .prop_map(move |(widths, mut rates)| {
            match shape {
                Shape::Increasing => rates.sort_unstable(),
                Shape::Declining => rates.sort_unstable_by(|a, b| b.cmp(a)),
                Shape::Any => {}
            }
            let mut from = 0i64;
            let mut out = vec![Block {
                from: Decimal::ZERO,
                rate: Decimal::new(rates[0], 4),
            }];
            for (w, r) in widths.iter().zip(&rates[1..]) {
                from += w * scale;
                out.push(Block {
                    from: Decimal::new(from, 1),
                    rate: Decimal::new(*r, 4),
                });
            }
            out
        })
}

fn water(shape: Shape) -> impl Strategy<Value = ServiceRates> {
    unit()
        .prop_flat_map(move |u| {
            (
                Just(u),
                block_table(shape, u),
                prop::option::of(block_table(shape, u)),
                0i64..=50,
                any::<bool>(),
                0u8..3,
                cents(5000),
                prop::option::of(cents(6000)),
                0u8..4,
            )
        })
        .prop_map(
            |(unit, blocks, summer, allowance, first_unit, basis, base_amt, minimum, extra)| {
                let mut s = service(Service::Water);
                s.base = base(base_amt);
                s.minimum = minimum.map(SizeTable::flat);
                let mut u = usage(unit, &[]);
                u.blocks = blocks;
                u.seasons = summer
                    .map(|b| {
                        vec![Season {
                            name: "Summer".into(),
                            from_month: 6,
                            to_month: 9,
                            blocks: b,
                        }]
                    })
                    .unwrap_or_default();
                u.allowance = Decimal::new(allowance, 1);
                u.tiers_start = if first_unit {
                    TiersStart::FirstUnit
                } else {
                    TiersStart::AfterAllowance
                };
                u.tier_basis = match basis {
                    0 => TierBasis::PerBill,
                    1 => TierBasis::ScaledToDays { standard_days: 30 },
                    _ => TierBasis::DailyAverage,
                };
                s.usage = Some(u);
                match extra {
                    1 => s.surcharges.push(Surcharge::PerUnit {
                        description: "Drought".into(),
                        rate: Decimal::new(37, 2),
                        unit: VolumeUnit::Ccf,
                    }),
                    2 => s.surcharges.push(Surcharge::Percent {
                        description: "Capital".into(),
                        percent: Decimal::new(125, 1),
                    }),
                    3 => s.flat_fees.push(FlatFee {
                        description: "Meter fee".into(),
                        amount: Decimal::new(333, 2),
                    }),
                    _ => {}
                }
                s
            },
        )
}

fn sewer() -> impl Strategy<Value = Option<ServiceRates>> {
    (0u8..5, cents(4000), 0i64..=9000).prop_map(|(kind, amount, rate)| {
        let mut s = service(Service::Sewer);
        match kind {
            0 => return None,
            1 => s.flat_fees.push(FlatFee {
                description: "Sewer".into(),
                amount,
            }),
            2 | 3 => {
                let mut u = usage(VolumeUnit::ThousandGallons, &[]);
                u.blocks = vec![Block {
                    from: Decimal::ZERO,
                    rate: Decimal::new(rate, 3),
                }];
                u.basis = if kind == 2 {
                    UsageBasis::Metered
                } else {
                    UsageBasis::WinterAverageCap
                };
                s.base = base(amount);
                s.usage = Some(u);
            }
            _ => {
                s.share_of = Some(ShareOf {
                    services: vec![Service::Water],
                    percent: Decimal::new(rate % 1000, 1),
                })
            }
        }
        Some(s)
    })
}

fn rounding_mode() -> impl Strategy<Value = Option<UsageRounding>> {
    (0u8..5, 1i64..=20).prop_map(|(m, step)| {
        let mode = match m {
            0 => return None,
            1 => UsageRoundingMode::Up,
            2 => UsageRoundingMode::Down,
            3 => UsageRoundingMode::Nearest,
            _ => UsageRoundingMode::CarryForward,
        };
        Some(UsageRounding {
            step: Decimal::from(step * 100),
            unit: VolumeUnit::Gallon,
            mode,
        })
    })
}

fn schedule_with(shape: Shape) -> impl Strategy<Value = RateSchedule> {
    (
        water(shape),
        sewer(),
        prop::option::of(cents(3000)),
        rounding_mode(),
        0u8..3,
        any::<bool>(),
        prop::option::of(cents(900)),
        prop::option::of(cents(300)),
        prop::option::of(cents(500)),
    )
        .prop_map(
            |(w, sw, trash, usage_rounding, rule, total_only, min_bill, tax, assess)| {
                let mut services = vec![w];
                services.extend(sw);
                if let Some(amount) = trash {
                    let mut t = service(Service::Trash);
                    t.flat_fees.push(FlatFee {
                        description: "Trash".into(),
                        amount,
                    });
                    services.push(t);
                }
                let mut s = schedule("Generated", date(2000, 1, 1), services);
                s.usage_rounding = usage_rounding;
                s.rounding = Rounding {
                    rule: [
                        RoundingRule::HalfUp,
                        RoundingRule::HalfEven,
                        RoundingRule::Truncate,
                    ][usize::from(rule)],
                    scope: if total_only {
                        RoundingScope::Total
                    } else {
                        RoundingScope::PerLine
                    },
                };
                s.minimum_bill = min_bill.map(|m| m * Decimal::TEN);
                let pct = |description: &str, p: Decimal| PercentCharge {
                    description: description.into(),
                    percent: p,
                    services: vec![],
                };
                s.taxes = tax.map(|p| vec![pct("Tax", p)]).unwrap_or_default();
                s.assessments = assess
                    .map(|p| vec![pct("Assessment", p)])
                    .unwrap_or_default();
                s.prompt_payment_discount = Some(pct("Discount", Decimal::new(2, 0)));
                s
            },
        )
}

fn any_schedule() -> impl Strategy<Value = RateSchedule> {
    prop_oneof![
        schedule_with(Shape::Increasing),
        schedule_with(Shape::Declining),
        schedule_with(Shape::Any)
    ]
}

/// Gallons with two decimals, up to 500,000.
fn gallons() -> impl Strategy<Value = Decimal> {
    (0i64..=50_000_000).prop_map(|c| Decimal::new(c, 2))
}

/// A period of 1–120 days starting somewhere in 2024.
fn a_period() -> impl Strategy<Value = BillingPeriod> {
    (0u64..366, 1u64..=120).prop_map(|(offset, days)| {
        let start = date(2024, 1, 1) + Days::new(offset);
        period(start, start + Days::new(days))
    })
}

fn bill_input(p: BillingPeriod, used: Decimal, winter: Decimal) -> BillInput {
    let mut i = input(p, MeterSize::FiveEighths, gal(used), ALL);
    i.winter_average = Some(gal(winter));
    i
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lines_sum_to_the_total(s in any_schedule(), p in a_period(), used in gallons(), winter in gallons()) {
        let h = history(vec![s]);
        let b = h.calculate(&bill_input(p, used, winter)).unwrap();
        let sum: i64 = b.lines.iter().map(|l| l.amount.cents).sum();
        prop_assert_eq!(sum, b.total.cents);
        let rounded = round_cents(b.exact_total, h.versions()[0].rounding.rule);
        if h.versions()[0].rounding.scope == RoundingScope::Total {
            prop_assert_eq!(Decimal::new(b.total.cents, 2), rounded);
        }
        let d = b.prompt_payment_discount.unwrap();
        prop_assert_eq!(d.total_if_paid_on_time.cents, b.total.cents + d.amount.cents);
    }

    #[test]
    fn lines_sum_to_the_total_across_a_rate_change(
        a in any_schedule(), b in any_schedule(), p in a_period(), cut in 1u64..120, used in gallons(),
    ) {
        let mut b = b;
        b.effective_from = p.start + Days::new(cut % p.days().max(1).unsigned_abs());
        prop_assume!(b.effective_from > p.start);
        let h = history(vec![a, b]);
        let bill = h.calculate(&bill_input(p, used, used)).unwrap();
        let sum: i64 = bill.lines.iter().map(|l| l.amount.cents).sum();
        prop_assert_eq!(sum, bill.total.cents);
        prop_assert!(bill.lines.iter().filter(|l| l.kind != LineKind::Rounding).all(|l| l.version.is_some()));
    }

    /// More water never costs less. This holds for every schedule here,
    /// declining blocks included, because blocks price each unit at its own
    /// block's (non-negative) rate.
    #[test]
    fn more_water_never_costs_less(s in any_schedule(), p in a_period(), used in gallons(), more in gallons(), winter in gallons()) {
        let h = history(vec![s]);
        let less = h.calculate(&bill_input(p, used, winter)).unwrap();
        let plus = h.calculate(&bill_input(p, used + more, winter)).unwrap();
        prop_assert!(less.total.cents <= plus.total.cents, "{} then {}", less.total, plus.total);
    }

    /// With increasing blocks each further unit costs at least as much as
    /// the one before (the usage charge is convex).
    #[test]
    fn increasing_blocks_never_get_cheaper_per_unit(w in water(Shape::Increasing), used in gallons(), step in 1i64..=5_000_000) {
        let mut w = w;
        w.base = None;
        w.minimum = None;
        w.surcharges.clear();
        w.flat_fees.clear();
        let mut s = schedule("Increasing", date(2000, 1, 1), vec![w]);
        s.rounding.scope = RoundingScope::Total;
        let h = history(vec![s]);
        let p = june();
        let exact = |g: Decimal| h.calculate(&input(p, MeterSize::FiveEighths, gal(g), &[Service::Water])).unwrap().exact_total;
        let d = Decimal::new(step, 2);
        let (c0, c1, c2) = (exact(used), exact(used + d), exact(used + d + d));
        prop_assert!(c1 >= c0);
        prop_assert!(c2 - c1 >= c1 - c0 - Decimal::new(1, 18), "{} {} {}", c0, c1, c2);
    }

    /// A bill split across a rate change is the sum of the prorated parts:
    /// each version's lines equal its share of days times the bill that
    /// version alone would give for the whole period.
    #[test]
    fn split_bill_is_the_sum_of_prorated_parts(
        a in any_schedule(), b in any_schedule(), p in a_period(), cut in 1u64..120, used in gallons(), winter in gallons(),
    ) {
        let (mut a, mut b) = (a, b);
        for s in [&mut a, &mut b] {
            s.rounding.scope = RoundingScope::Total;
        }
        a.usage_rounding = b.usage_rounding;
        a.rounding = b.rounding;
        let rule = b.rounding.rule;
        let change = p.start + Days::new(cut % p.days().unsigned_abs());
        prop_assume!(change > p.start);
        let i = bill_input(p, used, winter);
        let alone = |s: &RateSchedule| {
            let mut s = s.clone();
            s.effective_from = date(2000, 1, 1);
            history(vec![s]).calculate(&i).unwrap().exact_total
        };
        let (full_a, full_b) = (alone(&a), alone(&b));
        b.effective_from = change;
        let split = history(vec![a, b]).calculate(&i).unwrap();
        let days_a = Decimal::from((change - p.start).num_days());
        let days = Decimal::from(p.days());
        let part = |from| -> Decimal {
            split.lines.iter().filter(|l| l.version.as_ref().is_some_and(|v| v.effective_from == from)).map(|l| l.exact_amount).sum()
        };
        let tolerance = Decimal::new(1, 15);
        prop_assert!((part(date(2000, 1, 1)) - full_a * days_a / days).abs() < tolerance);
        prop_assert!((part(change) - full_b * (days - days_a) / days).abs() < tolerance);
        prop_assert_eq!(Decimal::new(split.total.cents, 2), round_cents(split.exact_total, rule));
    }

    /// Carry-forward rounding never loses water: billed + carried out =
    /// used + carried in, bill after bill.
    #[test]
    fn carry_forward_never_loses_water(reads in prop::collection::vec((0i64..=5_000_000, unit()), 1..12), step in 1i64..=50, step_unit in unit()) {
        let rule = UsageRounding { step: Decimal::from(step), unit: step_unit, mode: UsageRoundingMode::CarryForward };
        let mut carry = Volume::ZERO;
        let (mut used_total, mut billed_total) = (Decimal::ZERO, Decimal::ZERO);
        for (q, u) in reads {
            let used = Volume::new(Decimal::new(q, 2), u);
            let s = round_usage(used, carry, Some(&rule));
            prop_assert_eq!(s.billed.litres + s.carried_out.litres, used.litres + carry.litres);
            prop_assert!(s.carried_out.litres >= Decimal::ZERO);
            prop_assert!(s.carried_out.litres < rule.step * step_unit.litres());
            used_total += used.litres;
            billed_total += s.billed.litres;
            carry = s.carried_out;
        }
        prop_assert_eq!(billed_total + carry.litres, used_total);
    }

    #[test]
    fn schedules_round_trip_through_json(s in any_schedule()) {
        let json = serde_json::to_string(&s).unwrap();
        let back: RateSchedule = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, s);
    }
}
