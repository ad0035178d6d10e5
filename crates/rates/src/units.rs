//! Volumes, units and meter sizes.
//!
//! Every volume is held as an exact decimal number of **litres**. Each unit is
//! a terminating decimal number of litres, because 1 in = 2.54 cm exactly and
//! 1 US gallon = 231 in³ exactly: 1 gal = 3.785411784 L and
//! 1 ft³ = 28.316846592 L. So converting a reading into litres is a plain
//! multiplication, with no rounding.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A unit of water volume, for meters and for rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeUnit {
    /// One US gallon (231 cubic inches).
    Gallon,
    /// 100 US gallons.
    HundredGallons,
    /// 1,000 US gallons ("kgal").
    ThousandGallons,
    /// One cubic foot.
    CubicFoot,
    /// 100 cubic feet ("ccf", "hcf", "unit"): about 748 gallons.
    Ccf,
    /// 1,000 cubic feet ("mcf").
    ThousandCubicFeet,
    /// One cubic metre.
    CubicMeter,
}

impl VolumeUnit {
    /// Exact litres in one of this unit.
    pub fn litres(self) -> Decimal {
        // Mantissa and scale: 3.785411784 = 3785411784 × 10⁻⁹, etc.
        match self {
            VolumeUnit::Gallon => Decimal::from_parts(3_785_411_784, 0, 0, false, 9),
            VolumeUnit::HundredGallons => Decimal::from_parts(3_785_411_784, 0, 0, false, 7),
            VolumeUnit::ThousandGallons => Decimal::from_parts(3_785_411_784, 0, 0, false, 6),
            VolumeUnit::CubicFoot => Decimal::from_i128_with_scale(28_316_846_592, 9),
            VolumeUnit::Ccf => Decimal::from_i128_with_scale(28_316_846_592, 7),
            VolumeUnit::ThousandCubicFeet => Decimal::from_i128_with_scale(28_316_846_592, 6),
            VolumeUnit::CubicMeter => Decimal::from(1000),
        }
    }

    /// Short label for bills: "gal", "kgal", "ccf", "m³"…
    pub fn label(self) -> &'static str {
        match self {
            VolumeUnit::Gallon => "gal",
            VolumeUnit::HundredGallons => "100 gal",
            VolumeUnit::ThousandGallons => "kgal",
            VolumeUnit::CubicFoot => "ft³",
            VolumeUnit::Ccf => "ccf",
            VolumeUnit::ThousandCubicFeet => "mcf",
            VolumeUnit::CubicMeter => "m³",
        }
    }
}

/// An amount of water, held exactly in litres.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Volume {
    /// Litres, exact.
    pub litres: Decimal,
}

impl Volume {
    /// No water.
    pub const ZERO: Volume = Volume {
        litres: Decimal::ZERO,
    };

    /// `quantity` of `unit`, converted exactly (for quantities with up to
    /// ten decimal places). Absurd quantities saturate, and a bill refuses them.
    pub fn new(quantity: Decimal, unit: VolumeUnit) -> Volume {
        let litres =
            quantity
                .checked_mul(unit.litres())
                .unwrap_or(if quantity.is_sign_negative() {
                    Decimal::MIN
                } else {
                    Decimal::MAX
                });
        Volume { litres }
    }

    /// This volume in `unit`; exact when the result terminates, otherwise
    /// correct to 28 significant digits.
    pub fn in_unit(self, unit: VolumeUnit) -> Decimal {
        (self.litres / unit.litres()).normalize()
    }

    /// This volume in `unit` if that is an exact decimal, e.g. a carry of
    /// 400 gallons in cubic feet is not.
    pub fn exact_in(self, unit: VolumeUnit) -> Option<Decimal> {
        // litres ÷ unit terminates iff the reduced denominator has no prime
        // factor other than 2 and 5.
        let num = self.litres.mantissa().unsigned_abs();
        let mut den = unit.litres().mantissa().unsigned_abs();
        den /= gcd(num, den);
        for p in [2, 5] {
            while den.is_multiple_of(p) {
                den /= p;
            }
        }
        (den == 1).then(|| (self.litres / unit.litres()).normalize())
    }

    /// Sum of two volumes (saturating, so absurd inputs fail later, not here).
    pub fn plus(self, other: Volume) -> Volume {
        Volume {
            litres: self.litres.saturating_add(other.litres),
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Mean of several volumes (e.g. the winter months' use), or `None` if empty.
pub fn average(volumes: &[Volume]) -> Option<Volume> {
    if volumes.is_empty() {
        return None;
    }
    let n = Decimal::from(volumes.len());
    let sum = volumes
        .iter()
        .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v.litres));
    let litres = match sum {
        Some(sum) => sum / n,
        // Only for absurd volumes: divide first, which cannot overflow.
        None => volumes.iter().map(|v| v.litres / n).sum(),
    };
    Some(Volume { litres })
}

/// Nominal size of a water meter, in inches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MeterSize {
    /// 5/8 inch, the usual residential meter.
    #[serde(rename = "5/8")]
    FiveEighths,
    /// 5/8 × 3/4 inch.
    #[serde(rename = "5/8x3/4")]
    FiveEighthsByThreeQuarters,
    /// 3/4 inch.
    #[serde(rename = "3/4")]
    ThreeQuarters,
    /// 1 inch.
    #[serde(rename = "1")]
    One,
    /// 1-1/2 inch.
    #[serde(rename = "1-1/2")]
    OneAndHalf,
    /// 2 inch.
    #[serde(rename = "2")]
    Two,
    /// 3 inch.
    #[serde(rename = "3")]
    Three,
    /// 4 inch.
    #[serde(rename = "4")]
    Four,
    /// 6 inch.
    #[serde(rename = "6")]
    Six,
    /// 8 inch.
    #[serde(rename = "8")]
    Eight,
    /// 10 inch.
    #[serde(rename = "10")]
    Ten,
    /// 12 inch.
    #[serde(rename = "12")]
    Twelve,
}

impl MeterSize {
    /// Every size, smallest first.
    pub const ALL: [MeterSize; 12] = [
        MeterSize::FiveEighths,
        MeterSize::FiveEighthsByThreeQuarters,
        MeterSize::ThreeQuarters,
        MeterSize::One,
        MeterSize::OneAndHalf,
        MeterSize::Two,
        MeterSize::Three,
        MeterSize::Four,
        MeterSize::Six,
        MeterSize::Eight,
        MeterSize::Ten,
        MeterSize::Twelve,
    ];

    /// The stable name used in JSON: "5/8", "1-1/2", "2"…
    pub fn code(self) -> &'static str {
        match self {
            MeterSize::FiveEighths => "5/8",
            MeterSize::FiveEighthsByThreeQuarters => "5/8x3/4",
            MeterSize::ThreeQuarters => "3/4",
            MeterSize::One => "1",
            MeterSize::OneAndHalf => "1-1/2",
            MeterSize::Two => "2",
            MeterSize::Three => "3",
            MeterSize::Four => "4",
            MeterSize::Six => "6",
            MeterSize::Eight => "8",
            MeterSize::Ten => "10",
            MeterSize::Twelve => "12",
        }
    }
}

impl fmt::Display for MeterSize {
    /// `5/8"`, `1-1/2"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\"", self.code())
    }
}

/// Text that names no meter size we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown meter size {0:?}")]
pub struct UnknownMeterSize(pub String);

impl FromStr for MeterSize {
    type Err = UnknownMeterSize;

    /// Accepts `5/8`, `5/8"`, `0.625`, `1.5`, `1 1/2`, `1-1/2`, `1½`, `2 in`…
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t: String = text
            .trim()
            .trim_end_matches("inches")
            .trim_end_matches("inch")
            .trim_end_matches("in")
            .trim()
            .trim_end_matches(['"', '”', '“'])
            .trim()
            .replace('½', "-1/2")
            .replace(['×', 'X', '*'], "x")
            .replace(' ', "-");
        let t = t.trim_start_matches('-').replace("--", "-");
        let size = match t.as_str() {
            "5/8" | "0.625" | ".625" => MeterSize::FiveEighths,
            "5/8x3/4" | "5/8-x-3/4" => MeterSize::FiveEighthsByThreeQuarters,
            "3/4" | "0.75" | ".75" => MeterSize::ThreeQuarters,
            "1" | "1.0" => MeterSize::One,
            "1-1/2" | "1.5" | "11/2" => MeterSize::OneAndHalf,
            "2" | "2.0" => MeterSize::Two,
            "3" | "3.0" => MeterSize::Three,
            "4" | "4.0" => MeterSize::Four,
            "6" => MeterSize::Six,
            "8" => MeterSize::Eight,
            "10" => MeterSize::Ten,
            "12" => MeterSize::Twelve,
            _ => return Err(UnknownMeterSize(text.to_owned())),
        };
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn units_are_exact_in_litres() {
        assert_eq!(VolumeUnit::Gallon.litres(), dec!(3.785411784));
        assert_eq!(VolumeUnit::ThousandGallons.litres(), dec!(3785.411784));
        assert_eq!(VolumeUnit::HundredGallons.litres(), dec!(378.5411784));
        assert_eq!(VolumeUnit::CubicFoot.litres(), dec!(28.316846592));
        assert_eq!(VolumeUnit::Ccf.litres(), dec!(2831.6846592));
        assert_eq!(VolumeUnit::ThousandCubicFeet.litres(), dec!(28316.846592));
        // 1 ft³ = 1728 in³ and 1 gal = 231 in³.
        assert_eq!(
            VolumeUnit::CubicFoot.litres() * dec!(231),
            VolumeUnit::Gallon.litres() * dec!(1728)
        );
    }

    #[test]
    fn conversions_round_trip() {
        let v = Volume::new(dec!(4100), VolumeUnit::Gallon);
        assert_eq!(v.in_unit(VolumeUnit::ThousandGallons), dec!(4.1));
        assert_eq!(v.exact_in(VolumeUnit::HundredGallons), Some(dec!(41)));
        let ccf = Volume::new(dec!(1), VolumeUnit::Ccf);
        assert_eq!(ccf.exact_in(VolumeUnit::CubicFoot), Some(dec!(100)));
        // 100 ft³ is 748.05… gallons: not a terminating decimal.
        assert_eq!(ccf.exact_in(VolumeUnit::Gallon), None);
        assert_eq!(ccf.in_unit(VolumeUnit::Gallon).round_dp(4), dec!(748.0519));
        let m3 = Volume::new(dec!(1), VolumeUnit::CubicMeter);
        assert_eq!(m3.in_unit(VolumeUnit::Gallon).round_dp(3), dec!(264.172));
    }

    #[test]
    fn averages() {
        let vs = [dec!(7000), dec!(5000), dec!(6000)].map(|q| Volume::new(q, VolumeUnit::Gallon));
        let avg = average(&vs).map(|v| v.in_unit(VolumeUnit::Gallon));
        assert_eq!(avg, Some(dec!(6000)));
        assert_eq!(average(&[]), None);
    }

    #[test]
    fn parses_meter_sizes() {
        for (text, size) in [
            ("5/8", MeterSize::FiveEighths),
            ("5/8\"", MeterSize::FiveEighths),
            ("0.625", MeterSize::FiveEighths),
            ("3/4 inch", MeterSize::ThreeQuarters),
            ("1", MeterSize::One),
            ("1.5", MeterSize::OneAndHalf),
            ("1 1/2\"", MeterSize::OneAndHalf),
            ("1-1/2", MeterSize::OneAndHalf),
            ("1½", MeterSize::OneAndHalf),
            ("2 in", MeterSize::Two),
            ("5/8 x 3/4", MeterSize::FiveEighthsByThreeQuarters),
        ] {
            assert_eq!(text.parse::<MeterSize>(), Ok(size), "{text}");
        }
        assert!("7/8".parse::<MeterSize>().is_err());
        for size in MeterSize::ALL {
            assert_eq!(size.code().parse::<MeterSize>(), Ok(size));
        }
        assert_eq!(MeterSize::OneAndHalf.to_string(), "1-1/2\"");
    }
}
