//! Usage rounding before pricing, and splitting use across rate blocks.

use crate::schedule::{Block, TiersStart, UsageRounding, UsageRoundingMode};
use crate::units::{Volume, VolumeUnit};
use crate::validate::MAX_VALUE;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What was used, what is billed and what is carried to the next bill.
/// With carry-forward rounding, `billed + carried_out = metered + carried_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// Metered use this period.
    pub metered: Volume,
    /// Remainder carried from the previous bill.
    pub carried_in: Volume,
    /// Use priced on this bill, after rounding.
    pub billed: Volume,
    /// Remainder carried to the next bill (carry-forward rounding only).
    pub carried_out: Volume,
}

/// Applies `rule` to `metered + carried_in`. Without a rule nothing is
/// rounded; only carry-forward leaves a remainder.
pub fn round_usage(
    metered: Volume,
    carried_in: Volume,
    rule: Option<&UsageRounding>,
) -> UsageSummary {
    let total = metered.plus(carried_in);
    let (billed, carried_out) = match rule {
        Some(r) if r.step > Decimal::ZERO && r.step <= MAX_VALUE => {
            let step = r.step * r.unit.litres();
            let n = whole_steps(total.litres, step);
            let rest = total.litres - n * step;
            match r.mode {
                UsageRoundingMode::Down => (n * step, Decimal::ZERO),
                UsageRoundingMode::CarryForward => (n * step, rest),
                UsageRoundingMode::Up if rest > Decimal::ZERO => {
                    ((n + Decimal::ONE) * step, Decimal::ZERO)
                }
                UsageRoundingMode::Up => (n * step, Decimal::ZERO),
                UsageRoundingMode::Nearest if rest * Decimal::TWO >= step => {
                    ((n + Decimal::ONE) * step, Decimal::ZERO)
                }
                UsageRoundingMode::Nearest => (n * step, Decimal::ZERO),
            }
        }
        // No rule, or a step validation would refuse: as metered.
        _ => (total.litres, Decimal::ZERO),
    };
    UsageSummary {
        metered,
        carried_in,
        billed: Volume { litres: billed },
        carried_out: Volume {
            litres: carried_out,
        },
    }
}

/// ⌊total ÷ step⌋, checked by multiplication so division's last digit
/// can never push it over a boundary.
fn whole_steps(total: Decimal, step: Decimal) -> Decimal {
    let mut n = (total / step).floor();
    while n > Decimal::ZERO && n * step > total {
        n -= Decimal::ONE;
    }
    while (n + Decimal::ONE) * step <= total {
        n += Decimal::ONE;
    }
    n
}

/// The part of the priced volume that falls in one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Zero-based block number.
    pub index: usize,
    /// Litres in this block.
    pub litres: Decimal,
    /// The block's rate per unit.
    pub rate: Decimal,
}

/// Splits `used` litres across `blocks` (thresholds in `unit`, multiplied
/// by `scale`), skipping the `allowance` as `start` says.
pub(crate) fn segments(
    blocks: &[Block],
    unit: VolumeUnit,
    scale: Decimal,
    allowance: Decimal,
    start: TiersStart,
    used: Decimal,
) -> Vec<Segment> {
    let per = unit.litres() * scale;
    let allowance = allowance * per;
    // The stretch of the block table that is priced.
    let (lo, hi) = match start {
        TiersStart::AfterAllowance => (Decimal::ZERO, (used - allowance).max(Decimal::ZERO)),
        TiersStart::FirstUnit => (allowance.min(used), used),
    };
    let mut out = Vec::new();
    for (index, b) in blocks.iter().enumerate() {
        let b_lo = b.from * per;
        let overlap = match blocks.get(index + 1) {
            Some(next) => hi.min(next.from * per) - lo.max(b_lo),
            None => hi - lo.max(b_lo),
        };
        if overlap > Decimal::ZERO {
            out.push(Segment {
                index,
                litres: overlap,
                rate: b.rate,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn gal(q: Decimal) -> Volume {
        Volume::new(q, VolumeUnit::Gallon)
    }

    fn rule(step: Decimal, mode: UsageRoundingMode) -> UsageRounding {
        UsageRounding {
            step,
            unit: VolumeUnit::Gallon,
            mode,
        }
    }

    #[test]
    fn rounds_up_down_nearest() {
        let billed = |q, mode| {
            round_usage(gal(q), Volume::ZERO, Some(&rule(dec!(100), mode)))
                .billed
                .in_unit(VolumeUnit::Gallon)
        };
        assert_eq!(billed(dec!(4001), UsageRoundingMode::Up), dec!(4100));
        assert_eq!(billed(dec!(4000), UsageRoundingMode::Up), dec!(4000));
        assert_eq!(billed(dec!(4099), UsageRoundingMode::Down), dec!(4000));
        assert_eq!(billed(dec!(4049), UsageRoundingMode::Nearest), dec!(4000));
        assert_eq!(billed(dec!(4050), UsageRoundingMode::Nearest), dec!(4100));
        assert_eq!(billed(dec!(0), UsageRoundingMode::Up), dec!(0));
    }

    #[test]
    fn carries_the_remainder_forward() {
        let r = rule(dec!(1000), UsageRoundingMode::CarryForward);
        let first = round_usage(gal(dec!(3750)), Volume::ZERO, Some(&r));
        assert_eq!(first.billed.in_unit(VolumeUnit::Gallon), dec!(3000));
        assert_eq!(first.carried_out.in_unit(VolumeUnit::Gallon), dec!(750));
        let second = round_usage(gal(dec!(2400)), first.carried_out, Some(&r));
        assert_eq!(second.billed.in_unit(VolumeUnit::Gallon), dec!(3000));
        assert_eq!(second.carried_out.in_unit(VolumeUnit::Gallon), dec!(150));
    }

    #[test]
    fn carry_across_units_is_exact() {
        // Meter in cubic feet, billed in whole thousands of gallons.
        let r = UsageRounding {
            step: dec!(1),
            unit: VolumeUnit::ThousandGallons,
            mode: UsageRoundingMode::CarryForward,
        };
        let used = Volume::new(dec!(700), VolumeUnit::CubicFoot);
        let s = round_usage(used, Volume::ZERO, Some(&r));
        assert_eq!(s.billed.in_unit(VolumeUnit::ThousandGallons), dec!(5));
        assert_eq!(s.billed.litres + s.carried_out.litres, used.litres);
    }

    #[test]
    fn segments_after_allowance_and_from_first_unit() {
        let blocks = [
            Block {
                from: dec!(0),
                rate: dec!(1),
            },
            Block {
                from: dec!(10),
                rate: dec!(2),
            },
        ];
        let k = VolumeUnit::ThousandGallons;
        let used = dec!(25) * k.litres();
        let after = segments(
            &blocks,
            k,
            Decimal::ONE,
            dec!(5),
            TiersStart::AfterAllowance,
            used,
        );
        let kgal: Vec<_> = after
            .iter()
            .map(|s| (s.index, s.litres / k.litres()))
            .collect();
        assert_eq!(kgal, vec![(0, dec!(10)), (1, dec!(10))]);
        let first = segments(
            &blocks,
            k,
            Decimal::ONE,
            dec!(5),
            TiersStart::FirstUnit,
            used,
        );
        let kgal: Vec<_> = first
            .iter()
            .map(|s| (s.index, s.litres / k.litres()))
            .collect();
        assert_eq!(kgal, vec![(0, dec!(5)), (1, dec!(15))]);
        assert!(
            segments(
                &blocks,
                k,
                Decimal::ONE,
                dec!(5),
                TiersStart::FirstUnit,
                dec!(1)
            )
            .is_empty()
        );
    }
}
