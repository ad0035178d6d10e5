//! Why a schedule or a calculation was refused.

use crate::schedule::Service;
use crate::units::MeterSize;
use chrono::NaiveDate;

/// A schedule that makes no sense, or a bill that cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// A field that must not be empty is empty.
    #[error("{schedule}: {what} must not be empty")]
    Empty {
        /// Schedule name.
        schedule: String,
        /// Which field.
        what: String,
    },
    /// A negative amount, rate, percentage or volume.
    #[error("{schedule}: {what} must not be negative")]
    Negative {
        /// Schedule name.
        schedule: String,
        /// Which field.
        what: String,
    },
    /// A number too large to price safely.
    #[error("{schedule}: {what} is too large")]
    TooLarge {
        /// Schedule name.
        schedule: String,
        /// Which field.
        what: String,
    },
    /// A percentage above 100.
    #[error("{schedule}: {what} is more than 100 percent")]
    PercentOver100 {
        /// Schedule name.
        schedule: String,
        /// Which field.
        what: String,
    },
    /// Blocks whose thresholds do not start at 0 and strictly rise.
    #[error(
        "{schedule}: {what}: blocks must start at 0 and their thresholds must strictly increase"
    )]
    TiersNotAscending {
        /// Schedule name.
        schedule: String,
        /// Which block table.
        what: String,
    },
    /// A month outside 1–12.
    #[error("{schedule}: season {season:?} has a month outside 1-12")]
    BadMonth {
        /// Schedule name.
        schedule: String,
        /// Season name.
        season: String,
    },
    /// Two seasons of one charge cover the same month.
    #[error("{schedule}: {service} seasons {first:?} and {second:?} both cover month {month}")]
    OverlappingSeasons {
        /// Schedule name.
        schedule: String,
        /// Service.
        service: Service,
        /// One season.
        first: String,
        /// The other.
        second: String,
        /// A month both cover.
        month: u32,
    },
    /// The same service appears twice, or a meter size twice in one table.
    #[error("{schedule}: {what} appears twice")]
    Duplicate {
        /// Schedule name.
        schedule: String,
        /// What is repeated.
        what: String,
    },
    /// A size table with no entries and no default.
    #[error("{schedule}: {what} has no amounts and no default")]
    NoAmounts {
        /// Schedule name.
        schedule: String,
        /// Which table.
        what: String,
    },
    /// A `share_of` naming itself, a missing service, or another share.
    #[error("{schedule}: {service} share_of: {problem}")]
    BadShare {
        /// Schedule name.
        schedule: String,
        /// The service with the share.
        service: Service,
        /// What is wrong.
        problem: String,
    },
    /// A tax, assessment or discount naming a service the schedule lacks.
    #[error("{schedule}: {what} names {service}, which is not in this schedule")]
    UnknownService {
        /// Schedule name.
        schedule: String,
        /// Which charge.
        what: String,
        /// The missing service.
        service: Service,
    },
    /// A usage rounding step or standard period of zero.
    #[error("{schedule}: {what} must be greater than zero")]
    NotPositive {
        /// Schedule name.
        schedule: String,
        /// Which field.
        what: String,
    },
    /// Two versions with the same effective date.
    #[error("two rate schedule versions take effect on {0}")]
    DuplicateEffectiveDate(NaiveDate),
    /// No version is in force on a day the period covers.
    #[error("no rate schedule is in force on {0}")]
    NoScheduleInForce(NaiveDate),
    /// The meter size has no amount in a table that has no default.
    #[error("{schedule}: {what} has no amount for a {size} meter and no default")]
    UnknownMeterSize {
        /// Schedule name.
        schedule: String,
        /// Which table.
        what: String,
        /// The meter's size.
        size: MeterSize,
    },
    /// A charge on the winter average, for an account that has none.
    #[error("{schedule}: {service} is billed on the winter average, and the account has none")]
    MissingWinterAverage {
        /// Schedule name.
        schedule: String,
        /// Service.
        service: Service,
    },
    /// A period that ends on or before its start, or lasts over ten years.
    #[error("billing period {start}..{end} is empty, reversed or too long")]
    BadPeriod {
        /// First day.
        start: NaiveDate,
        /// Day after the last.
        end: NaiveDate,
    },
    /// Negative or absurdly large use in the bill input.
    #[error("{0} is negative or too large")]
    BadUsage(String),
    /// The bill does not fit in i64 cents.
    #[error("amount out of range")]
    Overflow,
}
