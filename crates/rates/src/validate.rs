//! Checks that a rate schedule makes sense before anything is priced.

use crate::error::RateError;
use crate::schedule::{
    Block, PercentCharge, RateSchedule, ServiceRates, SizeTable, Surcharge, TierBasis, UsageCharge,
};
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Largest amount, rate, threshold or step a schedule may hold (10⁹).
pub const MAX_VALUE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

impl RateSchedule {
    /// Rejects schedules that make no sense: blocks not ascending, negative
    /// rates, overlapping seasons, size tables with no amount for some
    /// meters, percentages over 100, services named twice, and so on.
    pub fn validate(&self) -> Result<(), RateError> {
        let v = Validator { schedule: self };
        if self.name.trim().is_empty() {
            return Err(v.empty("name"));
        }
        if self.services.is_empty() {
            return Err(v.empty("services"));
        }
        if let Some(r) = &self.usage_rounding {
            v.amount("usage_rounding.step", r.step)?;
            if r.step.is_zero() {
                return Err(RateError::NotPositive {
                    schedule: self.name.clone(),
                    what: "usage_rounding.step".into(),
                });
            }
        }
        let mut seen = HashSet::new();
        for s in &self.services {
            if !seen.insert(s.service) {
                return Err(RateError::Duplicate {
                    schedule: self.name.clone(),
                    what: format!("service {}", s.service),
                });
            }
            v.service(s)?;
        }
        if let Some(m) = self.minimum_bill {
            v.amount("minimum_bill", m)?;
        }
        for t in &self.taxes {
            v.percent_charge("tax", t)?;
        }
        for a in &self.assessments {
            v.percent_charge("assessment", a)?;
        }
        if let Some(d) = &self.prompt_payment_discount {
            v.percent_charge("prompt_payment_discount", d)?;
        }
        Ok(())
    }
}

/// Carries the schedule's name into each error.
struct Validator<'a> {
    schedule: &'a RateSchedule,
}

impl Validator<'_> {
    fn name(&self) -> String {
        self.schedule.name.clone()
    }

    fn empty(&self, what: &str) -> RateError {
        RateError::Empty {
            schedule: self.name(),
            what: what.into(),
        }
    }

    /// Non-negative and not absurdly large.
    fn amount(&self, what: &str, value: Decimal) -> Result<(), RateError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(RateError::Negative {
                schedule: self.name(),
                what: what.into(),
            });
        }
        if value > MAX_VALUE {
            return Err(RateError::TooLarge {
                schedule: self.name(),
                what: what.into(),
            });
        }
        Ok(())
    }

    fn percent(&self, what: &str, value: Decimal) -> Result<(), RateError> {
        self.amount(what, value)?;
        if value > Decimal::ONE_HUNDRED {
            return Err(RateError::PercentOver100 {
                schedule: self.name(),
                what: what.into(),
            });
        }
        Ok(())
    }

    fn size_table(&self, what: &str, table: &SizeTable) -> Result<(), RateError> {
        if table.by_meter_size.is_empty() && table.default.is_none() {
            return Err(RateError::NoAmounts {
                schedule: self.name(),
                what: what.into(),
            });
        }
        let mut sizes = HashSet::new();
        for e in &table.by_meter_size {
            if !sizes.insert(e.size) {
                return Err(RateError::Duplicate {
                    schedule: self.name(),
                    what: format!("{what}: meter size {}", e.size),
                });
            }
            self.amount(&format!("{what} for {} meters", e.size), e.amount)?;
        }
        if let Some(d) = table.default {
            self.amount(&format!("{what} default"), d)?;
        }
        Ok(())
    }

    fn blocks(&self, what: &str, blocks: &[Block]) -> Result<(), RateError> {
        if blocks.is_empty() {
            return Err(self.empty(what));
        }
        let ascending = blocks.first().is_some_and(|b| b.from.is_zero())
            && blocks.windows(2).all(|w| w[0].from < w[1].from);
        if !ascending {
            return Err(RateError::TiersNotAscending {
                schedule: self.name(),
                what: what.into(),
            });
        }
        for (i, b) in blocks.iter().enumerate() {
            self.amount(&format!("{what} block {} threshold", i + 1), b.from)?;
            self.amount(&format!("{what} block {} rate", i + 1), b.rate)?;
        }
        Ok(())
    }

    fn usage(&self, s: &ServiceRates, u: &UsageCharge) -> Result<(), RateError> {
        let what = format!("{} usage", s.service);
        self.blocks(&what, &u.blocks)?;
        self.amount(&format!("{what} allowance"), u.allowance)?;
        if let Some(d) = u.winter_average_default {
            self.amount(&format!("{what} winter_average_default"), d)?;
        }
        if let TierBasis::ScaledToDays { standard_days } = u.tier_basis
            && !(1..=3660).contains(&standard_days)
        {
            return Err(RateError::NotPositive {
                schedule: self.name(),
                what: format!("{what} standard_days (at most 3660)"),
            });
        }
        for season in &u.seasons {
            let ok = |m: u32| (1..=12).contains(&m);
            if !ok(season.from_month) || !ok(season.to_month) {
                return Err(RateError::BadMonth {
                    schedule: self.name(),
                    season: season.name.clone(),
                });
            }
            self.blocks(&format!("{what} season {:?}", season.name), &season.blocks)?;
        }
        for (i, a) in u.seasons.iter().enumerate() {
            for b in &u.seasons[i + 1..] {
                if let Some(month) = (1..=12).find(|&m| a.contains(m) && b.contains(m)) {
                    return Err(RateError::OverlappingSeasons {
                        schedule: self.name(),
                        service: s.service,
                        first: a.name.clone(),
                        second: b.name.clone(),
                        month,
                    });
                }
            }
        }
        Ok(())
    }

    fn service(&self, s: &ServiceRates) -> Result<(), RateError> {
        let svc = s.service;
        let has_charge = s.base.is_some()
            || s.usage.is_some()
            || s.share_of.is_some()
            || !s.flat_fees.is_empty()
            || !s.surcharges.is_empty()
            || s.minimum.is_some();
        if !has_charge {
            return Err(self.empty(&format!("{svc} charges")));
        }
        if let Some(b) = &s.base {
            self.size_table(&format!("{svc} base charge"), &b.amounts)?;
        }
        if let Some(u) = &s.usage {
            self.usage(s, u)?;
        }
        if let Some(share) = &s.share_of {
            let bad = |problem: &str| RateError::BadShare {
                schedule: self.name(),
                service: svc,
                problem: problem.into(),
            };
            if share.services.is_empty() {
                return Err(bad("names no service"));
            }
            for other in &share.services {
                if *other == svc {
                    return Err(bad("a service cannot be a share of itself"));
                }
                match self.schedule.services.iter().find(|x| x.service == *other) {
                    None => return Err(bad(&format!("{other} is not in this schedule"))),
                    Some(x) if x.share_of.is_some() => {
                        return Err(bad(&format!(
                            "{other} is itself a share of another service"
                        )));
                    }
                    Some(_) => {}
                }
            }
            self.percent(&format!("{svc} share_of percent"), share.percent)?;
        }
        for f in &s.flat_fees {
            self.amount(&format!("{svc} fee {:?}", f.description), f.amount)?;
        }
        for c in &s.surcharges {
            match c {
                Surcharge::Flat {
                    description,
                    amount,
                } => self.amount(&format!("{svc} surcharge {description:?}"), *amount)?,
                Surcharge::PerUnit {
                    description, rate, ..
                } => self.amount(&format!("{svc} surcharge {description:?}"), *rate)?,
                Surcharge::Percent {
                    description,
                    percent,
                } => self.percent(&format!("{svc} surcharge {description:?}"), *percent)?,
            }
        }
        if let Some(m) = &s.minimum {
            self.size_table(&format!("{svc} minimum"), m)?;
        }
        Ok(())
    }

    fn percent_charge(&self, what: &str, p: &PercentCharge) -> Result<(), RateError> {
        self.percent(&format!("{what} {:?}", p.description), p.percent)?;
        for s in &p.services {
            if !self.schedule.services.iter().any(|x| x.service == *s) {
                return Err(RateError::UnknownService {
                    schedule: self.name(),
                    what: format!("{what} {:?}", p.description),
                    service: *s,
                });
            }
        }
        Ok(())
    }
}
