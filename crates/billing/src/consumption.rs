//! Consumption between two reads: pure arithmetic, no database.
//!
//! Use = (this read − previous read) × multiplier, in the meter's unit. A
//! register that shows less than last time either **rolled over** (passed
//! its largest value, `10^digits − 1`, and started again at zero) or went
//! backwards (a misread, a swapped meter). It is taken as a rollover when
//! the wrapped difference is under half the register's range; otherwise the
//! use is **negative**, billed as zero and flagged. Consumption is never
//! negative.

use aqueduct_rates::{Volume, VolumeUnit};
use rust_decimal::Decimal;
use serde::Serialize;

/// Use between two consecutive reads of one meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Consumption {
    /// Use in the meter's unit, after the multiplier; never negative.
    pub units: i64,
    /// The register passed its maximum and restarted at zero.
    pub rolled_over: bool,
    /// The register went backwards (not a rollover): billed as zero.
    pub negative: bool,
}

/// The register's range: `10^digits` (digits clamped to 1–15).
pub fn register_range(digits: i16) -> i64 {
    10_i64.pow(u32::try_from(digits.clamp(1, 15)).unwrap_or(6))
}

/// Consumption from `previous` to `current` on a register of `digits`
/// digits with `multiplier` (values outside the register are taken modulo
/// its range).
pub fn between(previous: i64, current: i64, digits: i16, multiplier: i32) -> Consumption {
    let range = register_range(digits);
    let prev = previous.rem_euclid(range);
    let cur = current.rem_euclid(range);
    let mult = i64::from(multiplier.max(1));
    if cur >= prev {
        return Consumption {
            units: (cur - prev).saturating_mul(mult),
            rolled_over: false,
            negative: false,
        };
    }
    let wrapped = range - prev + cur;
    if wrapped < range / 2 {
        Consumption {
            units: wrapped.saturating_mul(mult),
            rolled_over: true,
            negative: false,
        }
    } else {
        Consumption {
            units: 0,
            rolled_over: false,
            negative: true,
        }
    }
}

/// The rate-math unit of a meter's register unit (`gallons`, `cubic_feet`,
/// `ccf`, `m3`).
pub fn volume_unit(meter_unit: &str) -> Option<VolumeUnit> {
    Some(match meter_unit {
        "gallons" => VolumeUnit::Gallon,
        "cubic_feet" => VolumeUnit::CubicFoot,
        "ccf" => VolumeUnit::Ccf,
        "m3" => VolumeUnit::CubicMeter,
        _ => return None,
    })
}

/// `units` of a meter's unit as an exact volume for the rate math.
pub fn volume(units: i64, meter_unit: &str) -> Option<Volume> {
    volume_unit(meter_unit).map(|u| Volume::new(Decimal::from(units), u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_difference_times_multiplier() {
        assert_eq!(
            between(1_000, 4_500, 6, 10),
            Consumption {
                units: 35_000,
                rolled_over: false,
                negative: false
            }
        );
    }

    #[test]
    fn six_digit_register_rolls_over() {
        let c = between(999_500, 300, 6, 1);
        assert_eq!(c.units, 800);
        assert!(c.rolled_over && !c.negative);
    }

    #[test]
    fn a_large_backwards_step_is_negative_not_rollover() {
        let c = between(500_000, 400_000, 6, 1);
        assert_eq!(c.units, 0);
        assert!(c.negative && !c.rolled_over);
    }

    #[test]
    fn units_convert_exactly() {
        let v = volume(748, "cubic_feet").unwrap();
        assert_eq!(v.in_unit(VolumeUnit::CubicFoot), Decimal::from(748));
        assert!(volume(1, "barrels").is_none());
    }

    proptest! {
        #[test]
        fn consumption_is_never_negative(prev in any::<i64>(), cur in any::<i64>(),
                                         digits in 1_i16..=12, mult in 1_i32..=1000) {
            let c = between(prev, cur, digits, mult);
            prop_assert!(c.units >= 0);
            prop_assert!(!(c.rolled_over && c.negative));
        }

        #[test]
        fn forward_reads_use_the_difference(prev in 0_i64..1_000_000, step in 0_i64..1_000_000,
                                            mult in 1_i32..=100) {
            let cur = prev + step;
            prop_assume!(cur < 10_000_000);
            let c = between(prev, cur, 7, mult);
            prop_assert_eq!(c.units, step * i64::from(mult));
            prop_assert!(!c.rolled_over && !c.negative);
        }

        #[test]
        fn rollover_recovers_the_true_use(digits in 3_i16..=10, start in any::<u64>(),
                                          used_fraction in 1_u64..500) {
            // A true use under half the range, starting anywhere, read on a
            // wrapping register, comes back exactly.
            let range = register_range(digits);
            let range_u = u64::try_from(range).unwrap();
            let prev = i64::try_from(start % range_u).unwrap();
            let used = (range / 1000 * i64::try_from(used_fraction).unwrap()).max(1);
            let cur = (prev + used) % range;
            let c = between(prev, cur, digits, 1);
            prop_assert_eq!(c.units, used);
            prop_assert!(c.units < range);
            prop_assert_eq!(c.rolled_over, prev + used >= range);
        }
    }
}
