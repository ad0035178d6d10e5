//! Money as integer minor units (cents). Ledger amounts never touch floats;
//! rate math uses exact decimals and converts here, once, by one rounding rule.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Neg, Sub};

/// ISO 4217 currency. Aqueduct serves US water associations: USD only, for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Currency {
    /// US dollar, 2 decimal places.
    #[default]
    Usd,
}

impl Currency {
    /// ISO code in lower case, as Stripe spells it.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "usd",
        }
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result does not fit in i64 cents.
    #[error("amount out of range")]
    Overflow,
    /// Two amounts of different currencies were combined.
    #[error("currency mismatch")]
    CurrencyMismatch,
    /// Text that is not a dollar amount with at most two decimals.
    #[error("not an amount: {0:?}")]
    Parse(String),
}

/// An amount of money in minor units (cents). Negative amounts are credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents).
    pub cents: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

impl Money {
    /// `cents` US cents.
    pub const fn usd(cents: i64) -> Self {
        Self {
            cents,
            currency: Currency::Usd,
        }
    }
    /// Zero dollars.
    pub const ZERO: Money = Money::usd(0);

    /// Adds, refusing overflow and mixed currencies.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        self.cents
            .checked_add(other.cents)
            .map(|cents| Money { cents, ..self })
            .ok_or(MoneyError::Overflow)
    }

    /// Parses "12.34", "-5", "1,234.50" or "$7.5" as US dollars.
    pub fn parse_usd(text: &str) -> Result<Money, MoneyError> {
        let err = || MoneyError::Parse(text.to_owned());
        let t = text.trim();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let t = t.strip_prefix('$').unwrap_or(t).replace(',', "");
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t.as_str(), ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(err());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
        {
            return Err(err());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err())?
        };
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac.parse().map_err(|_| err())?,
        };
        let cents = whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::usd(if neg { -cents } else { cents }))
    }
}

impl Add for Money {
    type Output = Money;
    /// Panics on overflow or mixed currencies, like integer `+` in debug;
    /// use [`Money::checked_add`] on untrusted input.
    fn add(self, rhs: Money) -> Money {
        assert_eq!(self.currency, rhs.currency, "currency mismatch");
        Money {
            cents: self.cents + rhs.cents,
            ..self
        }
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        self + (-rhs)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money {
            cents: -self.cents,
            ..self
        }
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`, `-$0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}${grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_dollars() {
        assert_eq!(Money::usd(123456).to_string(), "$1,234.56");
        assert_eq!(Money::usd(-5).to_string(), "-$0.05");
        assert_eq!(Money::usd(100_000_000).to_string(), "$1,000,000.00");
    }

    #[test]
    fn parses_dollars() {
        assert_eq!(Money::parse_usd("12.34"), Ok(Money::usd(1234)));
        assert_eq!(Money::parse_usd("$1,234.5"), Ok(Money::usd(123450)));
        assert_eq!(Money::parse_usd("-7"), Ok(Money::usd(-700)));
        assert_eq!(Money::parse_usd(".05"), Ok(Money::usd(5)));
        assert!(Money::parse_usd("1.234").is_err());
        assert!(Money::parse_usd("abc").is_err());
        assert!(Money::parse_usd("").is_err());
        assert!(Money::parse_usd("99999999999999999999").is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            let m = Money::usd(cents);
            prop_assert_eq!(Money::parse_usd(&m.to_string()), Ok(m));
        }

        #[test]
        fn checked_add_matches_integer_addition(a in any::<i32>(), b in any::<i32>()) {
            let sum = Money::usd(a.into()).checked_add(Money::usd(b.into())).unwrap();
            prop_assert_eq!(sum.cents, i64::from(a) + i64::from(b));
        }
    }
}
