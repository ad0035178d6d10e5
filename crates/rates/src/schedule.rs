//! The rate schedule: what an association charges, as data that round-trips
//! through JSON. Field and variant names are snake_case and stable.
//!
//! All money amounts and rates are exact decimals in dollars (JSON strings
//! such as `"19.50"`); percentages are percent (`"0.5"` is half a percent);
//! volumes and tier thresholds are in the unit the charge names.

use crate::units::{MeterSize, VolumeUnit};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of utility service billed to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Drinking water.
    Water,
    /// Sanitary sewer (wastewater).
    Sewer,
    /// Trash / solid waste collection.
    Trash,
    /// Private fire line.
    FireLine,
    /// Stormwater / drainage.
    Stormwater,
    /// Anything else the association bills on the same statement.
    Other,
}

impl fmt::Display for Service {
    /// "Water", "Fire line"…
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Water => "Water",
            Service::Sewer => "Sewer",
            Service::Trash => "Trash",
            Service::FireLine => "Fire line",
            Service::Stormwater => "Stormwater",
            Service::Other => "Other",
        })
    }
}

/// One version of an association's tariff, in force from `effective_from`
/// until the next version's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSchedule {
    /// Human name, e.g. "Residential 2024".
    pub name: String,
    /// First day these rates apply.
    pub effective_from: NaiveDate,
    /// How amounts become cents (default: half-up, each line).
    #[serde(default)]
    pub rounding: Rounding,
    /// How metered use is rounded before pricing (default: not rounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_rounding: Option<UsageRounding>,
    /// Charges for each service, in the order they appear on the bill.
    pub services: Vec<ServiceRates>,
    /// Least amount of the service charges together (before taxes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_bill: Option<Decimal>,
    /// Taxes, each a percentage of chosen services' charges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taxes: Vec<PercentCharge>,
    /// Percentage assessments (e.g. a state regulatory fee); with no
    /// services named they apply to the whole bill, taxes included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assessments: Vec<PercentCharge>,
    /// Discount offered when the bill is paid by its due date; reported
    /// apart from the line items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_payment_discount: Option<PercentCharge>,
}

/// How exact amounts are turned into cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    /// Which way a fraction of a cent goes.
    #[serde(default)]
    pub rule: RoundingRule,
    /// Round each line, or only the total.
    #[serde(default)]
    pub scope: RoundingScope,
}

/// Which way a fraction of a cent goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingRule {
    /// Half a cent or more goes away from zero ($1.005 → $1.01). The default.
    #[default]
    HalfUp,
    /// Half a cent goes to the even cent ($1.005 → $1.00, $1.015 → $1.02).
    HalfEven,
    /// Fractions of a cent are dropped, toward zero.
    Truncate,
}

/// Where rounding to cents happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingScope {
    /// Every line is rounded; percentages apply to rounded lines. The default.
    #[default]
    PerLine,
    /// Only the total is rounded from exact amounts; lines show rounded
    /// amounts and a final "rounding" line makes them sum to the total.
    Total,
}

/// Rounding of metered use before it is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRounding {
    /// Size of the step, e.g. `100` with unit `gallon`.
    pub step: Decimal,
    /// Unit of `step`.
    pub unit: VolumeUnit,
    /// Up, down, nearest or carry the remainder forward.
    pub mode: UsageRoundingMode,
}

/// How use is brought to a whole number of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageRoundingMode {
    /// Any part of a step counts as a whole step (4,001 → 4,100).
    Up,
    /// Part of a step is not billed, and not carried.
    Down,
    /// To the nearest step, half a step going up.
    Nearest,
    /// Bill whole steps only; the remainder is carried to the next bill.
    CarryForward,
}

/// Everything charged for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRates {
    /// The service these charges belong to.
    pub service: Service,
    /// Fixed (availability) charge, usually by meter size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseCharge>,
    /// Volumetric charge: uniform or block rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageCharge>,
    /// A percentage of other services' charges (sewer as a share of water).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_of: Option<ShareOf>,
    /// Flat fees, each one line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flat_fees: Vec<FlatFee>,
    /// Surcharges, priced after the lines above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surcharges: Vec<Surcharge>,
    /// Least amount charged for this service, by meter size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<SizeTable>,
}

/// Amounts by meter size, with an optional default for other sizes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeTable {
    /// One amount per meter size.
    #[serde(default)]
    pub by_meter_size: Vec<SizeAmount>,
    /// Amount for sizes not listed; without it an unlisted size is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Decimal>,
}

impl SizeTable {
    /// One amount whatever the meter size.
    pub fn flat(amount: Decimal) -> SizeTable {
        SizeTable {
            by_meter_size: Vec::new(),
            default: Some(amount),
        }
    }

    /// The amount for `size`, falling back to the default.
    pub fn lookup(&self, size: MeterSize) -> Option<Decimal> {
        self.by_meter_size
            .iter()
            .find(|e| e.size == size)
            .map(|e| e.amount)
            .or(self.default)
    }
}

/// An amount for one meter size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeAmount {
    /// Meter size.
    pub size: MeterSize,
    /// Dollars.
    pub amount: Decimal,
}

/// The fixed charge of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseCharge {
    /// Dollars per bill (or per day), by meter size.
    pub amounts: SizeTable,
    /// When true the amounts are per day and multiplied by the period's days.
    #[serde(default)]
    pub per_day: bool,
}

/// The volumetric charge of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageCharge {
    /// Unit of the rates, thresholds and allowance ("per 1,000 gallons").
    pub unit: VolumeUnit,
    /// Which volume is priced: metered use or a winter average.
    #[serde(default)]
    pub basis: UsageBasis,
    /// Winter average to assume when the account has none (new customers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winter_average_default: Option<Decimal>,
    /// Volume included with the base charge, not priced here.
    #[serde(default)]
    pub allowance: Decimal,
    /// Whether block thresholds count from the end of the allowance or from
    /// the first unit used.
    #[serde(default)]
    pub tiers_start: TiersStart,
    /// Whether thresholds are per bill, scaled to the days, or per day.
    #[serde(default)]
    pub tier_basis: TierBasis,
    /// Blocks for months no season covers; one block is a uniform rate.
    pub blocks: Vec<Block>,
    /// Seasonal blocks, chosen by the month of the period's last day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seasons: Vec<Season>,
}

/// Which volume a usage charge prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageBasis {
    /// The period's metered (and rounded) use. The default.
    #[default]
    Metered,
    /// The account's winter average, whatever was used (typical for sewer).
    WinterAverage,
    /// Metered use, but never more than the winter average (a sewer cap).
    /// An account with no winter average and no default pays on metered use.
    WinterAverageCap,
}

/// Where the first block starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiersStart {
    /// Thresholds count from the end of the allowance: with 2,000 gallons
    /// included, a 0–3,000 block covers gallons 2,001–5,000. The default.
    #[default]
    AfterAllowance,
    /// Thresholds count from the first unit; the allowance fills the lowest
    /// blocks free of charge.
    FirstUnit,
}

/// How block thresholds (and the allowance) relate to the period's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TierBasis {
    /// Thresholds are per bill, whatever its length. The default.
    #[default]
    PerBill,
    /// Thresholds are for a standard period and are scaled by
    /// days ÷ `standard_days`.
    ScaledToDays {
        /// Days in the standard period the thresholds were written for.
        standard_days: u32,
    },
    /// Thresholds are per day and apply to average daily use; this prices
    /// exactly like thresholds multiplied by the period's days.
    DailyAverage,
}

/// One block of a block-rate table: the rate from `from` up to the next
/// block's `from` (the last block is open-ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Lower threshold, in the charge's unit; the first block starts at 0.
    pub from: Decimal,
    /// Dollars per unit within the block.
    pub rate: Decimal,
}

/// Blocks that replace the default ones in some months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    /// Name shown on the bill, e.g. "Summer".
    pub name: String,
    /// First month (1–12), inclusive.
    pub from_month: u32,
    /// Last month (1–12), inclusive; may wrap past December (11 → 3).
    pub to_month: u32,
    /// The blocks in force in these months.
    pub blocks: Vec<Block>,
}

impl Season {
    /// Whether `month` (1–12) falls in this season.
    pub fn contains(&self, month: u32) -> bool {
        if self.from_month <= self.to_month {
            (self.from_month..=self.to_month).contains(&month)
        } else {
            month >= self.from_month || month <= self.to_month
        }
    }
}

/// A charge equal to a percentage of other services' charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareOf {
    /// Services whose charges (before taxes) are the base.
    pub services: Vec<Service>,
    /// Percent of that base.
    pub percent: Decimal,
}

/// A fixed fee on every bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatFee {
    /// Shown on the bill.
    pub description: String,
    /// Dollars per bill.
    pub amount: Decimal,
}

/// An extra charge on a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Surcharge {
    /// Dollars per bill.
    Flat {
        /// Shown on the bill.
        description: String,
        /// Dollars.
        amount: Decimal,
    },
    /// Dollars per unit of metered (rounded) use.
    PerUnit {
        /// Shown on the bill.
        description: String,
        /// Dollars per `unit`.
        rate: Decimal,
        /// Unit of the rate.
        unit: VolumeUnit,
    },
    /// Percent of this service's lines listed before it.
    Percent {
        /// Shown on the bill.
        description: String,
        /// Percent.
        percent: Decimal,
    },
}

/// A percentage of chosen charges: a tax, an assessment or a discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentCharge {
    /// Shown on the bill.
    pub description: String,
    /// Percent, e.g. `"0.5"`.
    pub percent: Decimal,
    /// Services whose charges are the base; empty means all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}
