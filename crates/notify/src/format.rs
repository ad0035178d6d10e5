//! Amounts and dates as the reader expects them: US style in English
//! (`$1,234.56`, `March 5, 2026`), Spanish style in Spanish
//! (`1.234,56 $`, `5 de marzo de 2026`), dates in the association's time
//! zone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English (US).
    En,
    /// Spanish.
    Es,
}

impl Locale {
    /// Parses `en`/`es` (and `es-MX`…); anything else is English.
    pub fn parse(s: &str) -> Locale {
        if s.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("es")) {
            Locale::Es
        } else {
            Locale::En
        }
    }
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }
}

fn group(mut n: u64, sep: char) -> String {
    let mut parts = Vec::new();
    loop {
        if n < 1000 {
            parts.push(n.to_string());
            break;
        }
        parts.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join(&sep.to_string())
}

/// Formats cents as dollars.
pub fn money(cents: i64, locale: Locale) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    match locale {
        Locale::En => format!("{sign}${}.{frac:02}", group(whole, ',')),
        Locale::Es => format!("{sign}{},{frac:02} $", group(whole, '.')),
    }
}

/// Formats a whole quantity with the locale's thousands separator.
pub fn count(n: i64, locale: Locale) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let sep = match locale {
        Locale::En => ',',
        Locale::Es => '.',
    };
    format!("{sign}{}", group(n.unsigned_abs(), sep))
}

/// A quantity of water in a meter's unit (`gallons`, `cubic_feet`, `ccf`,
/// `m3`), in the reader's language: "12,000 gallons", "12.000 galones".
pub fn volume(units: i64, unit: &str, locale: Locale) -> String {
    let name = match (unit, locale) {
        ("gallons", Locale::En) => "gallons",
        ("gallons", Locale::Es) => "galones",
        ("cubic_feet", Locale::En) => "cubic feet",
        ("cubic_feet", Locale::Es) => "pies cúbicos",
        ("ccf", Locale::En) => "hundred cubic feet (ccf)",
        ("ccf", Locale::Es) => "cientos de pies cúbicos (ccf)",
        ("m3", _) => "m³",
        (other, _) => other,
    };
    format!("{} {name}", count(units, locale))
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// Formats a calendar date.
pub fn date(d: NaiveDate, locale: Locale) -> String {
    let m = usize::try_from(d.month0()).unwrap_or(0).min(11);
    match locale {
        Locale::En => format!("{} {}, {}", MONTHS_EN[m], d.day(), d.year()),
        Locale::Es => format!("{} de {} de {}", d.day(), MONTHS_ES[m], d.year()),
    }
}

/// The association's local date of an instant (UTC when the zone is
/// unknown).
pub fn local_date(at: DateTime<Utc>, time_zone: &str) -> NaiveDate {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).date_naive(),
        Err(_) => at.date_naive(),
    }
}

/// The instants (UTC) a local calendar day of the association starts and
/// ends at: `[start, end)`. Days that begin in a DST gap start at the
/// first instant that exists; an unknown zone is taken as UTC.
pub fn local_day_bounds(day: NaiveDate, time_zone: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |d: NaiveDate| -> DateTime<Utc> {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        match time_zone.parse::<chrono_tz::Tz>() {
            Ok(tz) => {
                use chrono::TimeZone;
                let mut t = midnight;
                // At most a few hours can be skipped by a DST change.
                for _ in 0..4 {
                    if let Some(at) = tz.from_local_datetime(&t).earliest() {
                        return at.with_timezone(&Utc);
                    }
                    t += chrono::Duration::hours(1);
                }
                midnight.and_utc()
            }
            Err(_) => midnight.and_utc(),
        }
    };
    let next = day.succ_opt().unwrap_or(day);
    (start_of(day), start_of(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_in_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default();
        // Denver springs forward on 2026-03-08: a 23-hour day.
        let (a, b) = local_day_bounds(d, "America/Denver");
        assert_eq!(a.to_rfc3339(), "2026-03-08T07:00:00+00:00");
        assert_eq!(b.to_rfc3339(), "2026-03-09T06:00:00+00:00");
        let (a, _) = local_day_bounds(d, "Not/AZone");
        assert_eq!(a.to_rfc3339(), "2026-03-08T00:00:00+00:00");
    }

    #[test]
    fn money_by_locale() {
        assert_eq!(money(123_456, Locale::En), "$1,234.56");
        assert_eq!(money(123_456, Locale::Es), "1.234,56 $");
        assert_eq!(money(5, Locale::En), "$0.05");
        assert_eq!(money(-100_000_000, Locale::En), "-$1,000,000.00");
    }

    #[test]
    fn dates_by_locale_and_zone() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap_or_default();
        assert_eq!(date(d, Locale::En), "March 5, 2026");
        assert_eq!(date(d, Locale::Es), "5 de marzo de 2026");
        let at = DateTime::parse_from_rfc3339("2026-03-06T03:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(local_date(at, "America/Denver").to_string(), "2026-03-05");
        assert_eq!(local_date(at, "UTC").to_string(), "2026-03-06");
    }
}
