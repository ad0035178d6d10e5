//! Templates: one per kind (`templates/<kind>.txt`, English and Spanish in
//! the same file, first line the subject), and one HTML layout that
//! carries the association's name. Values come from the outbox row's
//! `data`; amounts and dates are formatted here, in the reader's language
//! and the association's time zone.

use crate::format::{self, Locale};
use crate::kind::Kind;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The association a message is sent for.
#[derive(Debug, Clone)]
pub struct Brand<'a> {
    /// Display name.
    pub association: &'a str,
    /// IANA time zone for dates.
    pub time_zone: &'a str,
}

/// Values every template may use (all already formatted).
#[derive(Debug, Default)]
struct Vars {
    es: bool,
    association: String,
    holder: String,
    account: String,
    amount: String,
    date: String,
    number: String,
    detail: String,
    link: String,
    usage: String,
    summary: String,
}

macro_rules! templates {
    ($($kind:ident => $ty:ident, $path:literal;)*) => {
        $(
            #[derive(Template)]
            #[template(path = $path, escape = "none")]
            #[allow(dead_code)] // each template uses some of the shared values
            struct $ty<'a> {
                es: bool,
                association: &'a str,
                holder: &'a str,
                account: &'a str,
                amount: &'a str,
                date: &'a str,
                number: &'a str,
                detail: &'a str,
                link: &'a str,
                usage: &'a str,
                summary: &'a str,
            }
        )*

        fn render_raw(kind: Kind, v: &Vars) -> Result<String, askama::Error> {
            match kind {
                $(Kind::$kind => $ty {
                    es: v.es,
                    association: &v.association,
                    holder: &v.holder,
                    account: &v.account,
                    amount: &v.amount,
                    date: &v.date,
                    number: &v.number,
                    detail: &v.detail,
                    link: &v.link,
                    usage: &v.usage,
                    summary: &v.summary,
                }
                .render(),)*
            }
        }
    };
}

templates! {
    BillReady => BillReadyT, "bill_ready.txt";
    PaymentReceived => PaymentReceivedT, "payment_received.txt";
    PaymentFailed => PaymentFailedT, "payment_failed.txt";
    RefundIssued => RefundIssuedT, "refund_issued.txt";
    DueReminder => DueReminderT, "due_reminder.txt";
    PastDue => PastDueT, "past_due.txt";
    ShutoffNotice => ShutoffNoticeT, "shutoff_notice.txt";
    AutopayUpcoming => AutopayUpcomingT, "autopay_upcoming.txt";
    AutopayFailed => AutopayFailedT, "autopay_failed.txt";
    HighUsage => HighUsageT, "high_usage.txt";
    BillRunFinished => BillRunFinishedT, "bill_run_finished.txt";
    StripeAttention => StripeAttentionT, "stripe_attention.txt";
    DisputeOpened => DisputeOpenedT, "dispute_opened.txt";
    PayoutFailed => PayoutFailedT, "payout_failed.txt";
    DailySummary => DailySummaryT, "daily_summary.txt";
    BackupFailed => BackupFailedT, "backup_failed.txt";
    QueueStuck => QueueStuckT, "queue_stuck.txt";
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    lang: &'a str,
    subject: &'a str,
    association: &'a str,
    paragraphs: Vec<Vec<&'a str>>,
    link: &'a str,
    link_label: &'a str,
    footer: &'a str,
}

fn text(data: &Value, key: &str) -> String {
    match &data[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn vars(data: &Value, locale: Locale, brand: &Brand<'_>) -> Vars {
    let date = if let Some(d) = data["date"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        format::date(d, locale)
    } else if let Some(at) = data["at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    {
        format::date(
            format::local_date(at.with_timezone(&Utc), brand.time_zone),
            locale,
        )
    } else {
        String::new()
    };
    Vars {
        es: locale == Locale::Es,
        association: brand.association.to_owned(),
        holder: text(data, "holder"),
        account: text(data, "account"),
        amount: data["amount_cents"]
            .as_i64()
            .map(|c| format::money(c, locale))
            .unwrap_or_default(),
        date,
        number: text(data, "number"),
        detail: text(data, "detail"),
        link: text(data, "link"),
        usage: usage(data, locale),
        summary: summary(data, locale),
    }
}

/// The use a message reports: from `usage_units` and the meter's `unit`,
/// formatted for the reader (older rows carry a ready `usage` string).
fn usage(data: &Value, locale: Locale) -> String {
    let usual = data["usual_units"].as_i64();
    match (data["usage_units"].as_i64(), data["unit"].as_str()) {
        (Some(units), Some(unit)) => {
            let used = format::volume(units, unit, locale);
            match (usual, locale) {
                (Some(u), Locale::En) => {
                    format!("{used} (usually about {})", format::volume(u, unit, locale))
                }
                (Some(u), Locale::Es) => {
                    format!(
                        "{used} (lo habitual: unos {})",
                        format::volume(u, unit, locale)
                    )
                }
                (None, _) => used,
            }
        }
        _ => text(data, "usage"),
    }
}

/// The daily summary's lines, from the counts in `data["summary"]`, in
/// the reader's language (empty for other kinds).
fn summary(data: &Value, locale: Locale) -> String {
    let s = &data["summary"];
    if !s.is_object() {
        return String::new();
    }
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    let money = |k: &str| format::money(n(k), locale);
    let count = |k: &str| format::count(n(k), locale);
    let lines: Vec<String> = match locale {
        Locale::En => vec![
            format!(
                "Payments received: {} ({})",
                count("payments"),
                money("payments_cents")
            ),
            format!("Bank payments still processing: {}", count("processing")),
            format!("Refunds: {} ({})", count("refunds"), money("refunds_cents")),
            format!("Disputes opened: {}", count("disputes")),
            format!(
                "Bills issued: {} ({})",
                count("bills"),
                money("bills_cents")
            ),
            format!(
                "Emails that could not be delivered: {}",
                count("mail_failed")
            ),
            format!(
                "Accounts 30 days or more past due: {}",
                count("past_due_accounts")
            ),
        ],
        Locale::Es => vec![
            format!(
                "Pagos recibidos: {} ({})",
                count("payments"),
                money("payments_cents")
            ),
            format!("Pagos bancarios aún en proceso: {}", count("processing")),
            format!(
                "Reembolsos: {} ({})",
                count("refunds"),
                money("refunds_cents")
            ),
            format!("Disputas abiertas: {}", count("disputes")),
            format!(
                "Facturas emitidas: {} ({})",
                count("bills"),
                money("bills_cents")
            ),
            format!(
                "Correos que no se pudieron entregar: {}",
                count("mail_failed")
            ),
            format!(
                "Cuentas con 30 días o más de atraso: {}",
                count("past_due_accounts")
            ),
        ],
    };
    lines.join("\n")
}

/// Collapses runs of blank lines and trims line ends.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Renders `kind` for one reader.
pub fn render(
    kind: Kind,
    locale: Locale,
    brand: &Brand<'_>,
    data: &Value,
) -> Result<Rendered, crate::NotifyError> {
    let v = vars(data, locale, brand);
    let raw = render_raw(kind, &v).map_err(|e| crate::NotifyError::Template(e.to_string()))?;
    let raw = tidy(&raw);
    let (subject, body) = raw.split_once('\n').unwrap_or((raw.as_str(), ""));
    let subject = subject.trim().to_owned();
    let body = body.trim();
    let es = locale == Locale::Es;
    let footer = match (kind.essential(), es) {
        (true, false) => format!("Sent by {} through Aqueduct.", brand.association),
        (true, true) => format!("Enviado por {} a través de Aqueduct.", brand.association),
        (false, false) => format!(
            "Sent by {} through Aqueduct. You can turn off these emails in your account's notification preferences.",
            brand.association
        ),
        (false, true) => format!(
            "Enviado por {} a través de Aqueduct. Puede desactivar estos correos en las preferencias de notificación de su cuenta.",
            brand.association
        ),
    };
    let text = format!("{body}\n\n-- \n{footer}\n");
    let paragraphs = body
        .split("\n\n")
        .map(|p| p.lines().collect::<Vec<_>>())
        .collect();
    let html = Layout {
        lang: locale.as_str(),
        subject: &subject,
        association: brand.association,
        paragraphs,
        link: &v.link,
        link_label: if es { "Abrir" } else { "Open" },
        footer: &footer,
    }
    .render()
    .map_err(|e| crate::NotifyError::Template(e.to_string()))?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn brand() -> Brand<'static> {
        Brand {
            association: "Cedar Creek <Water>",
            time_zone: "America/Denver",
        }
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        let data = json!({"holder": "Ana", "account": "A-1", "amount_cents": 4250,
            "date": "2026-03-05", "number": "17", "detail": "x", "usage": "12 kgal"});
        for kind in Kind::ALL {
            for locale in [Locale::En, Locale::Es] {
                let r = render(*kind, locale, &brand(), &data)
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
                assert!(!r.subject.is_empty(), "{kind}");
                assert!(!r.text.contains("{{"), "{kind}");
                assert!(
                    r.html.contains("Cedar Creek &#60;Water&#62;")
                        || r.html.contains("Cedar Creek &lt;Water&gt;"),
                    "{kind}: {}",
                    r.html
                );
            }
        }
    }

    #[test]
    fn high_usage_reports_the_use_in_the_readers_language() {
        let data = json!({"holder": "Ana", "account": "A-1", "usage_units": 23500,
            "usual_units": 6200, "unit": "gallons"});
        let es =
            render(Kind::HighUsage, Locale::Es, &brand(), &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            es.text
                .contains("23.500 galones (lo habitual: unos 6.200 galones)"),
            "{}",
            es.text
        );
        let en =
            render(Kind::HighUsage, Locale::En, &brand(), &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            en.text
                .contains("23,500 gallons (usually about 6,200 gallons)"),
            "{}",
            en.text
        );
        let m3 = json!({"usage_units": 41, "unit": "m3"});
        let r =
            render(Kind::HighUsage, Locale::En, &brand(), &m3).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.text.contains("41 m³"), "{}", r.text);
    }

    #[test]
    fn daily_summary_lists_the_days_figures() {
        let data = json!({"date": "2026-03-05", "summary": {"payments": 1204,
            "payments_cents": 5432100, "processing": 3, "refunds": 1, "refunds_cents": 2500,
            "disputes": 0, "bills": 12, "bills_cents": 60000, "mail_failed": 2,
            "past_due_accounts": 7}});
        let en = render(Kind::DailySummary, Locale::En, &brand(), &data)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(en.subject.contains("March 5, 2026"), "{}", en.subject);
        assert!(
            en.text.contains("Payments received: 1,204 ($54,321.00)"),
            "{}",
            en.text
        );
        assert!(en.text.contains("past due: 7"), "{}", en.text);
        let es = render(Kind::DailySummary, Locale::Es, &brand(), &data)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            es.text.contains("Pagos recibidos: 1.204 (54.321,00 $)"),
            "{}",
            es.text
        );
    }

    #[test]
    fn bill_ready_in_spanish() {
        let data = json!({"holder": "Ana", "account": "A-1", "amount_cents": 123456,
            "date": "2026-03-05", "number": "17"});
        let r =
            render(Kind::BillReady, Locale::Es, &brand(), &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.subject.contains("1.234,56 $"), "{}", r.subject);
        assert!(r.text.contains("5 de marzo de 2026"), "{}", r.text);
        let r =
            render(Kind::BillReady, Locale::En, &brand(), &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.subject.contains("$1,234.56"), "{}", r.subject);
        assert!(r.text.contains("Due date: March 5, 2026"), "{}", r.text);
    }
}
