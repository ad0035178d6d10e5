//! Prices one part of a billing period under one schedule version.

use crate::bill::{LineKind, QuantityUnit};
use crate::error::RateError;
use crate::schedule::{
    PercentCharge, RateSchedule, RoundingRule, Service, ServiceRates, SizeTable, Surcharge,
    TierBasis, UsageBasis, UsageCharge,
};
use crate::units::{MeterSize, Volume};
use crate::usage::segments;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds dollars to cents by `rule`.
pub fn round_cents(value: Decimal, rule: RoundingRule) -> Decimal {
    let strategy = match rule {
        RoundingRule::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundingRule::HalfEven => RoundingStrategy::MidpointNearestEven,
        RoundingRule::Truncate => RoundingStrategy::ToZero,
    };
    value.round_dp_with_strategy(2, strategy)
}

/// A line before it becomes cents: `value` is exact, or already rounded
/// when lines are rounded one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    pub service: Option<Service>,
    pub kind: LineKind,
    pub description: String,
    pub quantity: Option<(Decimal, QuantityUnit)>,
    pub rate: Option<Decimal>,
    pub value: Decimal,
}

/// Everything needed to price one version's share of a period.
#[derive(Debug)]
pub(crate) struct Part<'a> {
    pub schedule: &'a RateSchedule,
    pub services: &'a [Service],
    pub meter_size: MeterSize,
    pub billed: Volume,
    pub winter_average: Option<Volume>,
    /// Days priced under this version.
    pub days: Decimal,
    /// Days in the whole period.
    pub period_days: Decimal,
    /// Month (1–12) of the period's last day, which picks the season.
    pub month: u32,
    /// `Some(rule)` when every line is rounded as it is made.
    pub per_line: Option<RoundingRule>,
}

/// The lines of one part, and the prompt-payment discount it earns (exact).
#[derive(Debug)]
pub(crate) struct Priced {
    pub lines: Vec<Draft>,
    pub discount: Option<Decimal>,
}

fn sum(lines: &[Draft]) -> Decimal {
    lines.iter().map(|l| l.value).sum()
}

fn sum_of(lines: &[Draft], services: &[Service]) -> Decimal {
    lines
        .iter()
        .filter(|l| l.service.is_some_and(|s| services.contains(&s)))
        .map(|l| l.value)
        .sum()
}

impl Part<'_> {
    /// `x × days ÷ (period_days × divisor)`: this part's share, one division.
    fn share(&self, x: Decimal, divisor: Decimal) -> Decimal {
        if self.days == self.period_days {
            if divisor == Decimal::ONE {
                x
            } else {
                x / divisor
            }
        } else {
            x * self.days / (self.period_days * divisor)
        }
    }

    fn settle(&self, x: Decimal) -> Decimal {
        match self.per_line {
            Some(rule) => round_cents(x, rule),
            None => x,
        }
    }

    fn lookup(&self, table: &SizeTable, what: String) -> Result<Decimal, RateError> {
        table
            .lookup(self.meter_size)
            .ok_or_else(|| RateError::UnknownMeterSize {
                schedule: self.schedule.name.clone(),
                what,
                size: self.meter_size,
            })
    }

    /// Prices the part: services, bill minimum, taxes, assessments, discount.
    pub fn price(&self) -> Result<Priced, RateError> {
        let active: Vec<&ServiceRates> = self
            .schedule
            .services
            .iter()
            .filter(|s| self.services.contains(&s.service))
            .collect();
        let mut by_service: Vec<Vec<Draft>> = vec![Vec::new(); active.len()];
        // Shares of other services are priced once those are known.
        for pass_shares in [false, true] {
            for (i, s) in active.iter().enumerate() {
                if s.share_of.is_some() != pass_shares {
                    continue;
                }
                let base = s.share_of.as_ref().map(|share| {
                    by_service
                        .iter()
                        .flatten()
                        .filter(|l| l.service.is_some_and(|x| share.services.contains(&x)))
                        .map(|l| l.value)
                        .sum()
                });
                by_service[i] = self.service_lines(s, base)?;
            }
        }
        let mut lines: Vec<Draft> = by_service.into_iter().flatten().collect();
        if let Some(min) = self.schedule.minimum_bill {
            let floor = self.settle(self.share(min, Decimal::ONE));
            let subtotal = sum(&lines);
            if subtotal < floor {
                lines.push(Draft {
                    service: None,
                    kind: LineKind::MinimumBill,
                    description: "Minimum bill adjustment".into(),
                    quantity: None,
                    rate: Some(min),
                    value: floor - subtotal,
                });
            }
        }
        let charges = lines.clone();
        for tax in &self.schedule.taxes {
            let base = if tax.services.is_empty() {
                sum(&charges)
            } else {
                sum_of(&charges, &tax.services)
            };
            lines.push(self.percent_line(LineKind::Tax, tax, base));
        }
        for a in &self.schedule.assessments {
            let base = if a.services.is_empty() {
                sum(&lines)
            } else {
                sum_of(&charges, &a.services)
            };
            lines.push(self.percent_line(LineKind::Assessment, a, base));
        }
        let discount = self.schedule.prompt_payment_discount.as_ref().map(|d| {
            let base = if d.services.is_empty() {
                sum(&lines)
            } else {
                sum_of(&charges, &d.services)
            };
            base * d.percent / Decimal::ONE_HUNDRED
        });
        Ok(Priced { lines, discount })
    }

    fn percent_line(&self, kind: LineKind, p: &PercentCharge, base: Decimal) -> Draft {
        Draft {
            service: None,
            kind,
            description: format!("{} ({}%)", p.description, p.percent.normalize()),
            quantity: Some((display(base), QuantityUnit::Dollars)),
            rate: Some(p.percent),
            value: self.settle(base * p.percent / Decimal::ONE_HUNDRED),
        }
    }

    fn service_lines(
        &self,
        s: &ServiceRates,
        share_base: Option<Decimal>,
    ) -> Result<Vec<Draft>, RateError> {
        let svc = s.service;
        let mut out = Vec::new();
        let line = |kind, description: String, quantity, rate, value| Draft {
            service: Some(svc),
            kind,
            description,
            quantity,
            rate,
            value,
        };
        if let Some(b) = &s.base {
            let amount = self.lookup(&b.amounts, format!("{svc} base charge"))?;
            let description = format!("{svc} base charge, {} meter", self.meter_size);
            out.push(if b.per_day {
                let value = self.settle(self.share(amount * self.period_days, Decimal::ONE));
                line(
                    LineKind::Base,
                    description,
                    Some((self.days, QuantityUnit::Days)),
                    Some(amount),
                    value,
                )
            } else {
                let value = self.settle(self.share(amount, Decimal::ONE));
                line(LineKind::Base, description, None, None, value)
            });
        }
        if let Some(u) = &s.usage {
            out.extend(self.usage_lines(svc, u)?);
        }
        if let (Some(share), Some(base)) = (&s.share_of, share_base) {
            let names: Vec<String> = share
                .services
                .iter()
                .map(|x| x.to_string().to_lowercase())
                .collect();
            out.push(line(
                LineKind::Share,
                format!(
                    "{svc}: {}% of {} charges",
                    share.percent.normalize(),
                    names.join(" and ")
                ),
                Some((display(base), QuantityUnit::Dollars)),
                Some(share.percent),
                self.settle(base * share.percent / Decimal::ONE_HUNDRED),
            ));
        }
        for f in &s.flat_fees {
            let value = self.settle(self.share(f.amount, Decimal::ONE));
            out.push(line(
                LineKind::FlatFee,
                f.description.clone(),
                None,
                None,
                value,
            ));
        }
        for c in &s.surcharges {
            out.push(match c {
                Surcharge::Flat {
                    description,
                    amount,
                } => {
                    let value = self.settle(self.share(*amount, Decimal::ONE));
                    line(LineKind::Surcharge, description.clone(), None, None, value)
                }
                Surcharge::PerUnit {
                    description,
                    rate,
                    unit,
                } => {
                    let qty = self.share(self.billed.litres, unit.litres());
                    let value = self.settle(self.share(self.billed.litres * rate, unit.litres()));
                    let quantity = Some((display(qty), QuantityUnit::Volume(*unit)));
                    line(
                        LineKind::Surcharge,
                        description.clone(),
                        quantity,
                        Some(*rate),
                        value,
                    )
                }
                Surcharge::Percent {
                    description,
                    percent,
                } => {
                    let base = sum(&out);
                    let value = self.settle(base * percent / Decimal::ONE_HUNDRED);
                    let quantity = Some((display(base), QuantityUnit::Dollars));
                    line(
                        LineKind::Surcharge,
                        description.clone(),
                        quantity,
                        Some(*percent),
                        value,
                    )
                }
            });
        }
        if let Some(m) = &s.minimum {
            let min = self.lookup(m, format!("{svc} minimum"))?;
            let floor = self.settle(self.share(min, Decimal::ONE));
            let subtotal = sum(&out);
            if subtotal < floor {
                let description =
                    format!("{svc} minimum charge adjustment, {} meter", self.meter_size);
                out.push(line(
                    LineKind::Minimum,
                    description,
                    None,
                    Some(min),
                    floor - subtotal,
                ));
            }
        }
        Ok(out)
    }

    fn usage_lines(&self, svc: Service, u: &UsageCharge) -> Result<Vec<Draft>, RateError> {
        let per_unit = u.unit.litres();
        let average = self
            .winter_average
            .map(|v| v.litres)
            .or(u.winter_average_default.map(|q| q * per_unit));
        let (litres, basis) = match u.basis {
            UsageBasis::Metered => (self.billed.litres, ""),
            UsageBasis::WinterAverage => match average {
                Some(a) => (a, " (winter average)"),
                None => {
                    return Err(RateError::MissingWinterAverage {
                        schedule: self.schedule.name.clone(),
                        service: svc,
                    });
                }
            },
            UsageBasis::WinterAverageCap => match average {
                Some(a) if a < self.billed.litres => (a, " (capped at winter average)"),
                _ => (self.billed.litres, ""),
            },
        };
        let (blocks, season) = match u.seasons.iter().find(|s| s.contains(self.month)) {
            Some(s) => (&s.blocks, format!(", {}", s.name)),
            None => (&u.blocks, String::new()),
        };
        let scale = match u.tier_basis {
            TierBasis::PerBill => Decimal::ONE,
            TierBasis::ScaledToDays { standard_days } => {
                self.period_days / Decimal::from(standard_days)
            }
            TierBasis::DailyAverage => self.period_days,
        };
        let segs = segments(blocks, u.unit, scale, u.allowance, u.tiers_start, litres);
        let tiered = blocks.len() > 1;
        Ok(segs
            .into_iter()
            .map(|seg| {
                let block = if tiered {
                    format!(", block {} of {}", seg.index + 1, blocks.len())
                } else {
                    String::new()
                };
                Draft {
                    service: Some(svc),
                    kind: LineKind::Usage,
                    description: format!("{svc} use{basis}{season}{block}"),
                    quantity: Some((
                        display(self.share(seg.litres, per_unit)),
                        QuantityUnit::Volume(u.unit),
                    )),
                    rate: Some(seg.rate),
                    value: self.settle(self.share(seg.litres * seg.rate, per_unit)),
                }
            })
            .collect())
    }
}

/// A quantity as shown on a bill: at most six decimals, no trailing zeros.
fn display(q: Decimal) -> Decimal {
    q.round_dp(6).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounding_rules() {
        let r = |x, rule| round_cents(x, rule);
        assert_eq!(r(dec!(0.335), RoundingRule::HalfUp), dec!(0.34));
        assert_eq!(r(dec!(-0.335), RoundingRule::HalfUp), dec!(-0.34));
        assert_eq!(r(dec!(0.3349999), RoundingRule::HalfUp), dec!(0.33));
        assert_eq!(r(dec!(0.325), RoundingRule::HalfEven), dec!(0.32));
        assert_eq!(r(dec!(0.335), RoundingRule::HalfEven), dec!(0.34));
        assert_eq!(r(dec!(0.339), RoundingRule::Truncate), dec!(0.33));
        assert_eq!(r(dec!(-0.339), RoundingRule::Truncate), dec!(-0.33));
    }

    #[test]
    fn display_quantities() {
        assert_eq!(display(dec!(15.33333333333)), dec!(15.333333));
        assert_eq!(display(dec!(4.100)).to_string(), "4.1");
    }
}
