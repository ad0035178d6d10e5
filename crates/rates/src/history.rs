//! Versions of a schedule over time, and billing periods split across them.

use crate::error::RateError;
use crate::schedule::RateSchedule;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Longest billing period accepted, in days (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// The days a bill covers: from `start` (the previous read) up to but not
/// including `end` (this read), so consecutive periods share no day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingPeriod {
    /// First day billed.
    pub start: NaiveDate,
    /// Day after the last day billed.
    pub end: NaiveDate,
}

impl BillingPeriod {
    /// The period `start..end`, refusing empty, reversed or decade-long ones.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<BillingPeriod, RateError> {
        let p = BillingPeriod { start, end };
        p.check()?;
        Ok(p)
    }

    /// Number of days billed.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The last day billed.
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end)
    }

    pub(crate) fn check(&self) -> Result<(), RateError> {
        let days = self.days();
        if !(1..=MAX_PERIOD_DAYS).contains(&days) {
            return Err(RateError::BadPeriod {
                start: self.start,
                end: self.end,
            });
        }
        Ok(())
    }
}

/// The validated versions of one tariff, oldest first. Serializes as a JSON
/// array of [`RateSchedule`]s; deserializing validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<RateSchedule>", into = "Vec<RateSchedule>")]
pub struct ScheduleHistory {
    versions: Vec<RateSchedule>,
}

/// The part of a billing period priced under one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodPart<'a> {
    /// The version in force.
    pub schedule: &'a RateSchedule,
    /// First day of the part.
    pub start: NaiveDate,
    /// Day after the part's last day.
    pub end: NaiveDate,
}

impl PeriodPart<'_> {
    /// Days in this part.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

impl ScheduleHistory {
    /// Validates every version and orders them by effective date; two
    /// versions on the same date are refused.
    pub fn new(mut versions: Vec<RateSchedule>) -> Result<ScheduleHistory, RateError> {
        for v in &versions {
            v.validate()?;
        }
        versions.sort_by_key(|v| v.effective_from);
        if let Some(w) = versions
            .windows(2)
            .find(|w| w[0].effective_from == w[1].effective_from)
        {
            return Err(RateError::DuplicateEffectiveDate(w[0].effective_from));
        }
        if versions.is_empty() {
            return Err(RateError::Empty {
                schedule: "history".into(),
                what: "versions".into(),
            });
        }
        Ok(ScheduleHistory { versions })
    }

    /// The versions, oldest first.
    pub fn versions(&self) -> &[RateSchedule] {
        &self.versions
    }

    /// The version in force on `date`: the latest one effective on or before it.
    pub fn in_force(&self, date: NaiveDate) -> Option<&RateSchedule> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= date)
    }

    /// Splits `period` at every version change inside it, in date order.
    /// Every day must be covered by some version.
    pub fn split(&self, period: BillingPeriod) -> Result<Vec<PeriodPart<'_>>, RateError> {
        period.check()?;
        let first = self
            .in_force(period.start)
            .ok_or(RateError::NoScheduleInForce(period.start))?;
        let mut parts = vec![PeriodPart {
            schedule: first,
            start: period.start,
            end: period.end,
        }];
        for v in &self.versions {
            if v.effective_from > period.start && v.effective_from < period.end {
                if let Some(last) = parts.last_mut() {
                    last.end = v.effective_from;
                }
                parts.push(PeriodPart {
                    schedule: v,
                    start: v.effective_from,
                    end: period.end,
                });
            }
        }
        Ok(parts)
    }
}

impl TryFrom<Vec<RateSchedule>> for ScheduleHistory {
    type Error = RateError;
    fn try_from(versions: Vec<RateSchedule>) -> Result<Self, Self::Error> {
        ScheduleHistory::new(versions)
    }
}

impl From<ScheduleHistory> for Vec<RateSchedule> {
    fn from(h: ScheduleHistory) -> Self {
        h.versions
    }
}
