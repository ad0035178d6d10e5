//! Customers' choices (language, non-essential kinds turned off) and the
//! association's sender settings.

use crate::NotifyError;
use crate::entity::{preference, setting};
use crate::kind::{Audience, Kind};
use aqueduct_core::{AccountId, Clock};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize};

/// One account's choices as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// `en` or `es`; `None` follows the association's default.
    pub locale: Option<String>,
    /// Non-essential kinds turned off.
    pub disabled: Vec<String>,
    /// Kinds a customer may turn off.
    #[serde(default)]
    pub optional: Vec<String>,
}

/// Kinds a customer may turn off.
pub fn optional_kinds() -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| k.audience() == Audience::Customer && !k.essential())
        .collect()
}

/// The stored row for `account`, if any.
pub async fn row(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Option<preference::Model>, NotifyError> {
    Ok(scoped::<preference::Entity>(tx)
        .filter(preference::Column::AccountId.eq(account.uuid()))
        .one(tx.conn())
        .await?)
}

/// The account's choices.
pub async fn get(tx: &TenantTx, account: AccountId) -> Result<Preferences, NotifyError> {
    let stored = row(tx, account).await?;
    Ok(Preferences {
        locale: stored.as_ref().and_then(|r| r.locale.clone()),
        disabled: stored.map(|r| split(&r.disabled_kinds)).unwrap_or_default(),
        optional: optional_kinds()
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
    })
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Saves the account's choices. Turning off an essential kind (or an
/// unknown one) is refused.
pub async fn set(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    locale: Option<&str>,
    disabled: &[String],
) -> Result<Preferences, NotifyError> {
    let mut kinds = Vec::new();
    for name in disabled {
        match Kind::parse(name) {
            Some(k) if k.audience() == Audience::Customer && !k.essential() => {
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            Some(k) => {
                return Err(NotifyError::Invalid(format!(
                    "{k} is essential and cannot be turned off"
                )));
            }
            None => return Err(NotifyError::Invalid(format!("unknown kind {name}"))),
        }
    }
    let locale = match locale {
        None => None,
        Some(l @ ("en" | "es")) => Some(l.to_owned()),
        Some(_) => return Err(NotifyError::Invalid("locale must be en or es".into())),
    };
    let joined = kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    match row(tx, account).await? {
        Some(r) => {
            let mut a: preference::ActiveModel = r.into();
            a.locale = Set(locale);
            a.disabled_kinds = Set(joined);
            a.updated_at = Set(clock.now());
            a.update(tx.conn()).await?;
        }
        None => {
            preference::ActiveModel {
                tenant_id: Set(tx.tenant_id().uuid()),
                id: Set(uuid::Uuid::now_v7()),
                account_id: Set(account.uuid()),
                locale: Set(locale),
                disabled_kinds: Set(joined),
                updated_at: Set(clock.now()),
            }
            .insert(tx.conn())
            .await?;
        }
    }
    get(tx, account).await
}

/// The association's sender settings (defaults when none are stored).
pub async fn settings(tx: &TenantTx) -> Result<Option<setting::Model>, NotifyError> {
    Ok(scoped::<setting::Entity>(tx).one(tx.conn()).await?)
}

/// Sender settings to store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// From display name (default: the association's name).
    pub from_name: Option<String>,
    /// Reply-To: the association's contact address.
    pub reply_to: Option<String>,
    /// Where staff notifications go.
    pub staff_address: Option<String>,
    /// Language for customers who chose none (`en`/`es`).
    pub default_locale: Option<String>,
    /// Bill-ready mail: `attach` (the bill as a PDF attachment) or `link`
    /// (the default: a link only).
    #[serde(default)]
    pub bill_pdf: Option<String>,
    /// Days before the due date for the `due_reminder` (1–60; none: no
    /// reminders).
    #[serde(default)]
    pub reminder_days_before: Option<i32>,
    /// Legally required lead time of a `shutoff_notice`, in days (1–120;
    /// none: no shut-off notices).
    #[serde(default)]
    pub shutoff_lead_days: Option<i32>,
    /// Overdue amount (60 days or older) that puts an account on the
    /// shut-off list, in cents (none: any amount).
    #[serde(default)]
    pub shutoff_min_overdue_cents: Option<i64>,
    /// Use above this many times an account's usual use is flagged as a
    /// possible leak: the `high_usage` mail, the account page's notice and
    /// the read import's `high_use` exception (2–10; none: 3).
    #[serde(default)]
    pub high_usage_factor: Option<i32>,
    /// Staff get a daily summary mail at the staff address (none: off).
    #[serde(default)]
    pub daily_summary: Option<bool>,
}

/// The possible-leak factor when the association set none.
pub const DEFAULT_HIGH_USAGE_FACTOR: i32 = 3;

/// The association's possible-leak factor.
pub fn high_usage_factor(stored: Option<&setting::Model>) -> i64 {
    i64::from(stored.map_or(DEFAULT_HIGH_USAGE_FACTOR, |s| s.high_usage_factor))
}

/// Whether `units` is possibly a leak against the account's `usual` use
/// (the one rule behind every high-use flag).
pub fn is_high_usage(units: i64, usual: i64, factor: i64) -> bool {
    usual > 0 && units > usual.saturating_mul(factor)
}

/// How bill-ready mail carries the bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BillPdf {
    /// A link to the bill only.
    #[default]
    Link,
    /// The bill as a PDF attachment (and the link).
    Attach,
}

impl BillPdf {
    /// `attach` or `link`.
    pub fn as_str(self) -> &'static str {
        match self {
            BillPdf::Link => "link",
            BillPdf::Attach => "attach",
        }
    }

    /// From the stored or given text.
    pub fn parse(s: &str) -> Option<BillPdf> {
        match s {
            "link" => Some(BillPdf::Link),
            "attach" => Some(BillPdf::Attach),
            _ => None,
        }
    }

    /// The association's choice (link when nothing is stored).
    pub fn of(stored: Option<&setting::Model>) -> BillPdf {
        stored
            .and_then(|s| BillPdf::parse(&s.bill_pdf))
            .unwrap_or_default()
    }
}

/// Stores the association's sender settings.
pub async fn set_settings(
    tx: &TenantTx,
    clock: &dyn Clock,
    s: Settings,
) -> Result<(), NotifyError> {
    for addr in [&s.reply_to, &s.staff_address].into_iter().flatten() {
        if addr.parse::<lettre::Address>().is_err() {
            return Err(NotifyError::Invalid(format!(
                "not an email address: {addr}"
            )));
        }
    }
    if s.reminder_days_before
        .is_some_and(|d| !(1..=60).contains(&d))
    {
        return Err(NotifyError::Invalid(
            "reminder_days_before must be 1 to 60".into(),
        ));
    }
    if s.shutoff_lead_days.is_some_and(|d| !(1..=120).contains(&d)) {
        return Err(NotifyError::Invalid(
            "shutoff_lead_days must be 1 to 120".into(),
        ));
    }
    if s.shutoff_min_overdue_cents.is_some_and(|c| c < 1) {
        return Err(NotifyError::Invalid(
            "shutoff_min_overdue_cents must be positive".into(),
        ));
    }
    if s.high_usage_factor.is_some_and(|f| !(2..=10).contains(&f)) {
        return Err(NotifyError::Invalid(
            "high_usage_factor must be 2 to 10".into(),
        ));
    }
    let factor = s.high_usage_factor.unwrap_or(DEFAULT_HIGH_USAGE_FACTOR);
    let summary = s.daily_summary.unwrap_or(false);
    if summary && s.staff_address.is_none() {
        return Err(NotifyError::Invalid(
            "daily_summary needs a staff_address to send it to".into(),
        ));
    }
    let locale = match s.default_locale.as_deref() {
        None | Some("en") => "en",
        Some("es") => "es",
        Some(_) => return Err(NotifyError::Invalid("locale must be en or es".into())),
    };
    let bill_pdf = match s.bill_pdf.as_deref() {
        None => BillPdf::Link,
        Some(v) => BillPdf::parse(v)
            .ok_or_else(|| NotifyError::Invalid("bill_pdf must be attach or link".into()))?,
    };
    match settings(tx).await? {
        Some(r) => {
            let mut a: setting::ActiveModel = r.into();
            a.from_name = Set(s.from_name);
            a.reply_to = Set(s.reply_to);
            a.staff_address = Set(s.staff_address);
            a.default_locale = Set(locale.to_owned());
            a.bill_pdf = Set(bill_pdf.as_str().to_owned());
            a.reminder_days_before = Set(s.reminder_days_before);
            a.shutoff_lead_days = Set(s.shutoff_lead_days);
            a.shutoff_min_overdue_cents = Set(s.shutoff_min_overdue_cents);
            a.high_usage_factor = Set(factor);
            a.daily_summary = Set(summary);
            a.updated_at = Set(clock.now());
            a.update(tx.conn()).await?;
        }
        None => {
            setting::ActiveModel {
                tenant_id: Set(tx.tenant_id().uuid()),
                id: Set(uuid::Uuid::now_v7()),
                from_name: Set(s.from_name),
                reply_to: Set(s.reply_to),
                staff_address: Set(s.staff_address),
                default_locale: Set(locale.to_owned()),
                bill_pdf: Set(bill_pdf.as_str().to_owned()),
                reminder_days_before: Set(s.reminder_days_before),
                shutoff_lead_days: Set(s.shutoff_lead_days),
                shutoff_min_overdue_cents: Set(s.shutoff_min_overdue_cents),
                high_usage_factor: Set(factor),
                daily_summary: Set(summary),
                updated_at: Set(clock.now()),
            }
            .insert(tx.conn())
            .await?;
        }
    }
    Ok(())
}
