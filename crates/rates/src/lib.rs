#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod bill;
mod error;
mod history;
mod price;
mod schedule;
mod units;
mod usage;
mod validate;

pub use bill::{
    BillCalculation, BillInput, LineItem, LineKind, MAX_LITRES, PromptPaymentDiscount,
    QuantityUnit, VersionShare,
};
pub use error::RateError;
pub use history::{BillingPeriod, MAX_PERIOD_DAYS, PeriodPart, ScheduleHistory};
pub use price::round_cents;
pub use schedule::{
    BaseCharge, Block, FlatFee, PercentCharge, RateSchedule, Rounding, RoundingRule, RoundingScope,
    Season, Service, ServiceRates, ShareOf, SizeAmount, SizeTable, Surcharge, TierBasis,
    TiersStart, UsageBasis, UsageCharge, UsageRounding, UsageRoundingMode,
};
pub use units::{MeterSize, UnknownMeterSize, Volume, VolumeUnit, average};
pub use usage::{UsageSummary, round_usage};
pub use validate::MAX_VALUE;
