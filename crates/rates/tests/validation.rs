//! Schedules that make no sense are refused with a clear error, and good
//! ones round-trip through JSON.

mod common;

use aqueduct_rates::*;
use common::*;
use rust_decimal_macros::dec;

fn valid() -> RateSchedule {
    let mut water = service(Service::Water);
    water.base = base(dec!(20));
    water.usage = Some(usage(
        VolumeUnit::ThousandGallons,
        &[(dec!(0), dec!(3)), (dec!(5), dec!(4))],
    ));
    let mut sewer = service(Service::Sewer);
    sewer.share_of = Some(ShareOf {
        services: vec![Service::Water],
        percent: dec!(80),
    });
    schedule("Residential", date(2024, 1, 1), vec![water, sewer])
}

fn error(s: &RateSchedule) -> String {
    s.validate()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn a_valid_schedule_passes() {
    assert_eq!(valid().validate(), Ok(()));
}

#[test]
fn tiers_must_ascend_from_zero() {
    let mut s = valid();
    s.services[0].usage.as_mut().unwrap().blocks =
        blocks(&[(dec!(0), dec!(3)), (dec!(5), dec!(4)), (dec!(5), dec!(5))]);
    assert_eq!(
        error(&s),
        "Residential: Water usage: blocks must start at 0 and their thresholds must strictly increase"
    );
    s.services[0].usage.as_mut().unwrap().blocks = blocks(&[(dec!(1), dec!(3))]);
    assert!(matches!(
        s.validate(),
        Err(RateError::TiersNotAscending { .. })
    ));
    s.services[0].usage.as_mut().unwrap().blocks = vec![];
    assert!(matches!(s.validate(), Err(RateError::Empty { .. })));
}

#[test]
fn negative_rates_and_amounts_are_refused() {
    let mut s = valid();
    s.services[0].usage.as_mut().unwrap().blocks = blocks(&[(dec!(0), dec!(-3))]);
    assert_eq!(
        error(&s),
        "Residential: Water usage block 1 rate must not be negative"
    );
    let mut s = valid();
    s.services[0].base = base(dec!(-1));
    assert!(matches!(s.validate(), Err(RateError::Negative { .. })));
    let mut s = valid();
    s.services[0].flat_fees = vec![FlatFee {
        description: "Fee".into(),
        amount: dec!(-5),
    }];
    assert!(matches!(s.validate(), Err(RateError::Negative { .. })));
    let mut s = valid();
    s.services[0].base = base(dec!(10000000000));
    assert!(matches!(s.validate(), Err(RateError::TooLarge { .. })));
}

#[test]
fn overlapping_seasons_and_bad_months_are_refused() {
    let mut s = valid();
    let season = |name: &str, from_month, to_month| Season {
        name: name.into(),
        from_month,
        to_month,
        blocks: blocks(&[(dec!(0), dec!(1))]),
    };
    s.services[0].usage.as_mut().unwrap().seasons =
        vec![season("Summer", 5, 9), season("Winter", 9, 2)];
    assert_eq!(
        error(&s),
        "Residential: Water seasons \"Summer\" and \"Winter\" both cover month 9"
    );
    s.services[0].usage.as_mut().unwrap().seasons = vec![season("Summer", 5, 13)];
    assert!(matches!(s.validate(), Err(RateError::BadMonth { .. })));
    s.services[0].usage.as_mut().unwrap().seasons =
        vec![season("Summer", 5, 9), season("Winter", 10, 4)];
    assert_eq!(s.validate(), Ok(()));
}

#[test]
fn size_tables_need_an_amount() {
    let mut s = valid();
    s.services[0].base = Some(BaseCharge {
        amounts: SizeTable::default(),
        per_day: false,
    });
    assert_eq!(
        error(&s),
        "Residential: Water base charge has no amounts and no default"
    );
    let entry = SizeAmount {
        size: MeterSize::One,
        amount: dec!(1),
    };
    s.services[0].base = Some(BaseCharge {
        amounts: SizeTable {
            by_meter_size: vec![entry, entry],
            default: None,
        },
        per_day: false,
    });
    assert!(matches!(s.validate(), Err(RateError::Duplicate { .. })));
    // A table without a default is valid; an unlisted meter fails when billed.
    s.services[0].base = Some(BaseCharge {
        amounts: SizeTable {
            by_meter_size: vec![entry],
            default: None,
        },
        per_day: false,
    });
    let h = history(vec![s]);
    let err = h
        .calculate(&input(
            june(),
            MeterSize::Two,
            gal(dec!(0)),
            &[Service::Water],
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Residential: Water base charge has no amount for a 2\" meter and no default"
    );
}

#[test]
fn services_shares_and_percentages_are_checked() {
    let mut s = valid();
    s.services.push(s.services[0].clone());
    assert_eq!(error(&s), "Residential: service Water appears twice");
    let mut s = valid();
    s.services[1].share_of = Some(ShareOf {
        services: vec![Service::Sewer],
        percent: dec!(50),
    });
    assert!(error(&s).contains("cannot be a share of itself"));
    let mut s = valid();
    s.services[1].share_of = Some(ShareOf {
        services: vec![Service::Trash],
        percent: dec!(50),
    });
    assert!(error(&s).contains("Trash is not in this schedule"));
    let mut s = valid();
    s.services[1].share_of = Some(ShareOf {
        services: vec![Service::Water],
        percent: dec!(150),
    });
    assert!(matches!(
        s.validate(),
        Err(RateError::PercentOver100 { .. })
    ));
    let mut s = valid();
    s.taxes = vec![PercentCharge {
        description: "Tax".into(),
        percent: dec!(5),
        services: vec![Service::Trash],
    }];
    assert!(matches!(
        s.validate(),
        Err(RateError::UnknownService { .. })
    ));
    let mut s = valid();
    s.services.push(service(Service::Trash));
    assert_eq!(error(&s), "Residential: Trash charges must not be empty");
    let mut s = valid();
    s.usage_rounding = Some(UsageRounding {
        step: dec!(0),
        unit: VolumeUnit::Gallon,
        mode: UsageRoundingMode::Up,
    });
    assert!(matches!(s.validate(), Err(RateError::NotPositive { .. })));
}

#[test]
fn history_refuses_duplicate_dates_and_invalid_versions() {
    assert_eq!(
        ScheduleHistory::new(vec![valid(), valid()]),
        Err(RateError::DuplicateEffectiveDate(date(2024, 1, 1)))
    );
    let mut bad = valid();
    bad.name = String::new();
    assert!(ScheduleHistory::new(vec![bad]).is_err());
    assert!(ScheduleHistory::new(vec![]).is_err());
}

#[test]
fn json_round_trip_and_validation_on_load() {
    let mut s = valid();
    s.usage_rounding = Some(UsageRounding {
        step: dec!(100),
        unit: VolumeUnit::Gallon,
        mode: UsageRoundingMode::CarryForward,
    });
    s.services[0].usage.as_mut().unwrap().tier_basis =
        TierBasis::ScaledToDays { standard_days: 30 };
    s.services[0].surcharges = vec![Surcharge::PerUnit {
        description: "Drought".into(),
        rate: dec!(0.25),
        unit: VolumeUnit::Ccf,
    }];
    let h = history(vec![s]);
    let json = serde_json::to_string_pretty(&h).unwrap();
    assert!(json.contains("\"tier_basis\": {\n"), "{json}");
    assert!(json.contains("\"kind\": \"per_unit\""));
    assert!(json.contains("\"rate\": \"0.25\""), "decimals are strings");
    let back: ScheduleHistory = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h);
    // Loading validates, and unknown fields are refused.
    let bad = json.replace("\"rate\": \"3\"", "\"rate\": \"-3\"");
    assert!(serde_json::from_str::<ScheduleHistory>(&bad).is_err());
    let typo = json.replace("\"usage_rounding\"", "\"usage_roundng\"");
    assert!(serde_json::from_str::<ScheduleHistory>(&typo).is_err());
}

#[test]
fn bill_calculation_serializes() {
    let h = history(vec![valid()]);
    let b = bill(
        &h,
        &input(
            june(),
            MeterSize::FiveEighths,
            gal(dec!(6000)),
            &[Service::Water, Service::Sewer],
        ),
    );
    let json = serde_json::to_value(&b).unwrap();
    assert_eq!(
        json["total"]["cents"],
        3900 + 3120,
        "$20 + 5 × $3 + 1 × $4, sewer 80%"
    );
    assert_eq!(json["lines"][1]["kind"], "usage");
    assert_eq!(
        json["lines"][1]["unit"],
        serde_json::json!({"volume": "thousand_gallons"})
    );
    let back: BillCalculation = serde_json::from_value(json).unwrap();
    assert_eq!(back, b);
}

/// The example in the README parses, validates and prices as it says.
#[test]
fn readme_example_is_valid() {
    let readme = include_str!("../README.md");
    let start = readme.find("```json").unwrap() + "```json".len();
    let end = start + readme[start..].find("```").unwrap();
    let s: RateSchedule = serde_json::from_str(&readme[start..end]).unwrap();
    assert_eq!(s.validate(), Ok(()));
    let h = history(vec![s]);
    let july = period(date(2024, 7, 1), date(2024, 8, 1));
    let mut i = input(
        july,
        MeterSize::FiveEighths,
        gal(dec!(11950)),
        &[Service::Water, Service::Sewer],
    );
    i.winter_average = Some(gal(dec!(4000)));
    let b = bill(&h, &i);
    // Worked in the README: $123.31, or $122.08 if paid by the due date.
    assert_eq!(b.total.cents, 12331, "{b:#?}");
    assert_eq!(b.amount_due(true).cents, 12208);
    let expected = [2450, 2460, 2700, 300, 1800, 2560, 61];
    assert_eq!(
        b.lines.iter().map(|l| l.amount.cents).collect::<Vec<_>>(),
        expected
    );
}
