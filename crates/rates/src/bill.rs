//! The bill input, the calculation and its line items.

use crate::error::RateError;
use crate::history::{BillingPeriod, ScheduleHistory};
use crate::price::{Part, round_cents};
use crate::schedule::{RoundingScope, Service};
use crate::units::{MeterSize, Volume, VolumeUnit};
use crate::usage::{UsageSummary, round_usage};
use aqueduct_core::Money;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Largest volume accepted in a bill input, in litres (10¹², about 264
/// million thousand-gallons).
pub const MAX_LITRES: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// What the billing crate knows about one meter for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillInput {
    /// The days billed.
    pub period: BillingPeriod,
    /// Size of the meter, for base charges and minimums.
    pub meter_size: MeterSize,
    /// Metered use in the period (after multiplier and rollover).
    pub usage: Volume,
    /// Remainder carried from the previous bill by carry-forward rounding.
    #[serde(default)]
    pub carried_in: Volume,
    /// The account's winter average use per bill, if it has one.
    #[serde(default)]
    pub winter_average: Option<Volume>,
    /// Services the account takes; charges for others are skipped.
    pub services: Vec<Service>,
}

/// The result: ordered line items that sum exactly to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillCalculation {
    /// The days billed.
    pub period: BillingPeriod,
    /// Use metered, billed and carried.
    pub usage: UsageSummary,
    /// Line items in bill order.
    pub lines: Vec<LineItem>,
    /// Sum of the lines' amounts.
    pub total: Money,
    /// Sum of the lines' exact amounts before rounding to cents (the
    /// rounding line excluded).
    pub exact_total: Decimal,
    /// Discount if paid by the due date; not a line, not in `total`.
    pub prompt_payment_discount: Option<PromptPaymentDiscount>,
}

impl BillCalculation {
    /// What the customer owes: the total, less the discount if paid on time.
    pub fn amount_due(&self, paid_by_due_date: bool) -> Money {
        match (&self.prompt_payment_discount, paid_by_due_date) {
            (Some(d), true) => d.total_if_paid_on_time,
            _ => self.total,
        }
    }
}

/// A prompt-payment discount, reported beside the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptPaymentDiscount {
    /// Shown on the bill.
    pub description: String,
    /// The discount, negative (a credit), rounded once.
    pub amount: Money,
    /// `total + amount`: owed if paid by the due date.
    pub total_if_paid_on_time: Money,
}

/// One line of a bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// The service charged, or `None` for bill-wide lines.
    pub service: Option<Service>,
    /// What sort of charge.
    pub kind: LineKind,
    /// Shown on the bill.
    pub description: String,
    /// Volume, days or dollars the rate applies to, if any.
    pub quantity: Option<Decimal>,
    /// Unit of `quantity`.
    pub unit: Option<QuantityUnit>,
    /// Dollars per unit, per day, or percent for dollar quantities.
    pub rate: Option<Decimal>,
    /// Amount in cents.
    pub amount: Money,
    /// Amount before rounding to cents (equal to `amount` when each line
    /// is rounded, and for the rounding line).
    pub exact_amount: Decimal,
    /// Set when the period spans a rate change: which version, how many days.
    pub version: Option<VersionShare>,
}

/// What sort of charge a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Fixed charge by meter size.
    Base,
    /// Volumetric charge, one line per block.
    Usage,
    /// Percentage of other services (sewer as a share of water).
    Share,
    /// Flat fee.
    FlatFee,
    /// Surcharge.
    Surcharge,
    /// Brings a service up to its minimum.
    Minimum,
    /// Brings the bill up to its minimum.
    MinimumBill,
    /// Tax.
    Tax,
    /// Percentage assessment on the bill.
    Assessment,
    /// Difference between the rounded total and the rounded lines.
    Rounding,
    /// A credit for use billed on estimated reads that the next actual read
    /// showed was not used (added by the billing crate, never by a
    /// schedule): the volumetric charge of the units over-estimated.
    EstimateCorrection,
}

/// Unit of a line's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityUnit {
    /// Water, in this unit.
    Volume(VolumeUnit),
    /// Days (for per-day charges).
    Days,
    /// Dollars (the base of a percentage).
    Dollars,
}

/// The version of the schedule a line was priced under, and its days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionShare {
    /// The version's name.
    pub schedule: String,
    /// The version's effective date.
    pub effective_from: NaiveDate,
    /// Days of the period priced under it.
    pub days: i64,
    /// Days in the whole period.
    pub period_days: i64,
}

fn to_money(dollars: Decimal) -> Result<Money, RateError> {
    (dollars * Decimal::ONE_HUNDRED)
        .to_i64()
        .map(Money::usd)
        .ok_or(RateError::Overflow)
}

fn check_volume(what: &str, v: Volume) -> Result<(), RateError> {
    if v.litres.is_sign_negative() && !v.litres.is_zero() || v.litres > MAX_LITRES {
        return Err(RateError::BadUsage(what.into()));
    }
    Ok(())
}

impl ScheduleHistory {
    /// Prices one meter for one period. A period that spans rate changes is
    /// priced under each version for its share of days; the version in force
    /// on the last day decides usage rounding and the cents rounding rule.
    pub fn calculate(&self, input: &BillInput) -> Result<BillCalculation, RateError> {
        check_volume("usage", input.usage)?;
        check_volume("carried_in", input.carried_in)?;
        if let Some(w) = input.winter_average {
            check_volume("winter_average", w)?;
        }
        let parts = self.split(input.period)?;
        let Some(last) = parts.last().map(|p| p.schedule) else {
            return Err(RateError::NoScheduleInForce(input.period.start));
        };
        let usage = round_usage(input.usage, input.carried_in, last.usage_rounding.as_ref());
        let rule = last.rounding.rule;
        let per_line = (last.rounding.scope == RoundingScope::PerLine).then_some(rule);
        let period_days = input.period.days();
        let mut lines = Vec::new();
        let mut discount: Option<(String, Decimal)> = None;
        for part in &parts {
            let priced = Part {
                schedule: part.schedule,
                services: &input.services,
                meter_size: input.meter_size,
                billed: usage.billed,
                winter_average: input.winter_average,
                days: Decimal::from(part.days()),
                period_days: Decimal::from(period_days),
                month: input.period.last_day().month(),
                per_line,
            }
            .price()?;
            let version = (parts.len() > 1).then(|| VersionShare {
                schedule: part.schedule.name.clone(),
                effective_from: part.schedule.effective_from,
                days: part.days(),
                period_days,
            });
            for d in priced.lines {
                let description = match &version {
                    Some(v) => format!(
                        "{} (rates of {}, {} of {} days)",
                        d.description, v.effective_from, v.days, v.period_days
                    ),
                    None => d.description,
                };
                let (quantity, unit) = d.quantity.map_or((None, None), |(q, u)| (Some(q), Some(u)));
                lines.push(LineItem {
                    service: d.service,
                    kind: d.kind,
                    description,
                    quantity,
                    unit,
                    rate: d.rate,
                    amount: to_money(round_cents(d.value, rule))?,
                    exact_amount: d.value,
                    version: version.clone(),
                });
            }
            if let (Some(exact), Some(d)) =
                (priced.discount, &part.schedule.prompt_payment_discount)
            {
                let (_, so_far) = discount.get_or_insert((d.description.clone(), Decimal::ZERO));
                *so_far += exact;
            }
        }
        let exact_total: Decimal = lines.iter().map(|l| l.exact_amount).sum();
        let line_cents: i64 = lines.iter().map(|l| l.amount.cents).sum();
        let total = match per_line {
            Some(_) => Money::usd(line_cents),
            None => to_money(round_cents(exact_total, rule))?,
        };
        if total.cents != line_cents {
            let diff = total.cents - line_cents;
            lines.push(LineItem {
                service: None,
                kind: LineKind::Rounding,
                description: "Rounding".into(),
                quantity: None,
                unit: None,
                rate: None,
                amount: Money::usd(diff),
                exact_amount: Decimal::new(diff, 2),
                version: None,
            });
        }
        let prompt_payment_discount = match discount {
            Some((description, exact)) => {
                let amount = -to_money(round_cents(exact, rule))?;
                Some(PromptPaymentDiscount {
                    description,
                    amount,
                    total_if_paid_on_time: total + amount,
                })
            }
            None => None,
        };
        Ok(BillCalculation {
            period: input.period,
            usage,
            lines,
            total,
            exact_total,
            prompt_payment_discount,
        })
    }
}
