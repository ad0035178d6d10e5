//! Customer accounts.

use crate::entity::account;
use crate::error::{BillingError, unique_or};
use aqueduct_core::{AccountId, Clock, TenantId};
use aqueduct_tenant::{PlatformTx, TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use std::collections::HashMap;
use std::fmt;

/// An account number: 1–32 of letters, digits and `-`, as the association
/// prints it on bills.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Validates an account number.
    pub fn parse(s: &str) -> Result<Self, BillingError> {
        let t = s.trim();
        if t.is_empty()
            || t.len() > 32
            || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(BillingError::Invalid(format!(
                "account number {s:?}: use 1 to 32 letters, digits or '-'"
            )));
        }
        Ok(Self(t.to_owned()))
    }
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber({})", self.0)
    }
}

/// Account lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Receiving service and bills.
    Active,
    /// Service suspended (e.g. shut off).
    Suspended,
    /// Closed; starts the retention clock.
    Closed,
}

impl AccountStatus {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Closed => "closed",
        }
    }
}

/// A validated new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Account number.
    pub number: AccountNumber,
    /// Primary holder (1–200 characters).
    pub holder_name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Mailing address: line 1, line 2, city, state, ZIP.
    pub mailing: Option<MailingAddress>,
    /// Opening date.
    pub opened_on: NaiveDate,
    /// Bills by email only.
    pub paperless: bool,
}

/// A postal address.
#[derive(Debug, Clone)]
pub struct MailingAddress {
    /// Street.
    pub line1: String,
    /// Unit.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State (2 letters).
    pub state: String,
    /// ZIP.
    pub postal_code: String,
}

/// Creates an account in the transaction's association.
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    new: NewAccount,
) -> Result<account::Model, BillingError> {
    let holder = new.holder_name.trim();
    if holder.is_empty() || holder.len() > 200 {
        return Err(BillingError::Invalid(
            "holder name is 1 to 200 characters".into(),
        ));
    }
    let now = clock.now();
    let m = new.mailing;
    let model = account::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(AccountId::new().uuid()),
        account_number: Set(new.number.as_str().to_owned()),
        holder_name: Set(holder.to_owned()),
        co_holder_name: Set(None),
        email: Set(new.email),
        phone: Set(new.phone),
        mailing_line1: Set(m.as_ref().map(|a| a.line1.clone())),
        mailing_line2: Set(m.as_ref().and_then(|a| a.line2.clone())),
        mailing_city: Set(m.as_ref().map(|a| a.city.clone())),
        mailing_state: Set(m.as_ref().map(|a| a.state.clone())),
        mailing_postal_code: Set(m.as_ref().map(|a| a.postal_code.clone())),
        status: Set(AccountStatus::Active.as_str().to_owned()),
        opened_on: Set(new.opened_on),
        closed_at: Set(None),
        paperless: Set(new.paperless),
        autopay: Set(false),
        notes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(tx.conn()).await.map_err(|e| {
        unique_or(
            e,
            &["uq_accounts_number", "accounts.account_number"],
            BillingError::AccountNumberTaken,
        )
    })
}

/// What staff change on an account's details: `None` leaves a field as
/// it is; `Some("")` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// Primary holder (1–200 characters).
    pub holder_name: Option<String>,
    /// Second holder.
    pub co_holder_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Bills by email only.
    pub paperless: Option<bool>,
    /// Staff notes (up to 4,000 characters).
    pub notes: Option<String>,
}

impl AccountChanges {
    /// The names of the fields this change sets (for the audit log: never
    /// the values, which are personal data).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("holder_name", self.holder_name.is_some()),
            ("co_holder_name", self.co_holder_name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("paperless", self.paperless.is_some()),
            ("notes", self.notes.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

fn optional(v: String, max: usize, what: &str) -> Result<Option<String>, BillingError> {
    let t = v.trim();
    if t.chars().count() > max {
        return Err(BillingError::Invalid(format!(
            "{what} is at most {max} characters"
        )));
    }
    Ok((!t.is_empty()).then(|| t.to_owned()))
}

/// Changes an account's contact details, paperless choice and notes.
/// A closed account's details stay as they were at closing (its
/// retention clock runs): refused.
pub async fn update(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: AccountId,
    c: AccountChanges,
) -> Result<account::Model, BillingError> {
    let current = get(tx, id).await?;
    if current.status == AccountStatus::Closed.as_str() {
        return Err(BillingError::Conflict(
            "the account is closed: its details are kept as they were".into(),
        ));
    }
    let mut a: account::ActiveModel = current.into();
    if let Some(h) = c.holder_name {
        let h = h.trim();
        if h.is_empty() || h.chars().count() > 200 {
            return Err(BillingError::Invalid(
                "holder name is 1 to 200 characters".into(),
            ));
        }
        a.holder_name = Set(h.to_owned());
    }
    if let Some(v) = c.co_holder_name {
        a.co_holder_name = Set(optional(v, 200, "the second holder's name")?);
    }
    if let Some(v) = c.email {
        let e = optional(v, 254, "the email")?;
        if let Some(e) = &e {
            let ok = e
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !e.contains(' '));
            if !ok {
                return Err(BillingError::Invalid(format!("not an email address: {e}")));
            }
        }
        a.email = Set(e);
    }
    if let Some(v) = c.phone {
        a.phone = Set(optional(v, 40, "the phone number")?);
    }
    if let Some(p) = c.paperless {
        a.paperless = Set(p);
    }
    if let Some(v) = c.notes {
        a.notes = Set(optional(v, 4000, "the notes")?);
    }
    a.updated_at = Set(clock.now());
    Ok(a.update(tx.conn()).await?)
}

/// One account of the transaction's association.
pub async fn get(tx: &TenantTx, id: AccountId) -> Result<account::Model, BillingError> {
    scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// What a customer may change on their own account. `None` leaves a
/// field as it is; an empty email or phone removes it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    /// Bills by email instead of paper.
    pub paperless: Option<bool>,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

/// Applies a customer's own changes to `id` (checked: an email needs an
/// `@` and a dot after it, a phone 7 to 20 digits and `+-() .`; paperless
/// needs an email on the account).
pub async fn apply_customer_changes(
    tx: &TenantTx,
    clock: &dyn Clock,
    id: AccountId,
    changes: &CustomerChanges,
) -> Result<account::Model, BillingError> {
    let current = get(tx, id).await?;
    let clean = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned());
    let email = match clean(&changes.email) {
        None => current.email.clone(),
        Some(e) if e.is_empty() => None,
        Some(e) => {
            let ok = e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
                && !e.chars().any(char::is_whitespace);
            if !ok {
                return Err(BillingError::Invalid(format!(
                    "not an email address: {e:?}"
                )));
            }
            Some(e.to_lowercase())
        }
    };
    let phone = match clean(&changes.phone) {
        None => current.phone.clone(),
        Some(p) if p.is_empty() => None,
        Some(p) => {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            let ok = (7..=20).contains(&digits)
                && p.len() <= 40
                && p.chars()
                    .all(|c| c.is_ascii_digit() || "+-() .".contains(c));
            if !ok {
                return Err(BillingError::Invalid(format!("not a phone number: {p:?}")));
            }
            Some(p)
        }
    };
    let paperless = changes.paperless.unwrap_or(current.paperless);
    if paperless && email.is_none() {
        return Err(BillingError::Invalid(
            "paperless billing needs an email address on the account".into(),
        ));
    }
    let mut a: account::ActiveModel = current.into();
    a.email = Set(email);
    a.phone = Set(phone);
    a.paperless = Set(paperless);
    a.updated_at = Set(clock.now());
    Ok(a.update(tx.conn()).await?)
}

/// One account by its number.
pub async fn by_number(
    tx: &TenantTx,
    number: &AccountNumber,
) -> Result<Option<account::Model>, DbErr> {
    scoped::<account::Entity>(tx)
        .filter(account::Column::AccountNumber.eq(number.as_str()))
        .one(tx.conn())
        .await
}

/// A page of accounts, ordered by account number.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Matches account number prefix or holder name substring.
    pub search: Option<String>,
    /// Accounts after this number (keyset pagination).
    pub after: Option<String>,
    /// Page size (1–500).
    pub limit: u64,
}

/// Lists accounts.
pub async fn list(tx: &TenantTx, q: &AccountQuery) -> Result<Vec<account::Model>, DbErr> {
    let mut select = scoped::<account::Entity>(tx);
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = s
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let lower = |c: account::Column| Expr::expr(Func::lower(Expr::col(c)));
        select = select.filter(
            Condition::any()
                .add(
                    lower(account::Column::AccountNumber)
                        .like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
                )
                .add(
                    lower(account::Column::HolderName)
                        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
                ),
        );
    }
    if let Some(after) = &q.after {
        select = select.filter(account::Column::AccountNumber.gt(after.as_str()));
    }
    select
        .order_by_asc(account::Column::AccountNumber)
        .limit(q.limit.clamp(1, 500))
        .all(tx.conn())
        .await
}

/// Number of accounts in the transaction's association.
pub async fn count(tx: &TenantTx) -> Result<u64, DbErr> {
    scoped::<account::Entity>(tx).count(tx.conn()).await
}

#[derive(Debug, FromQueryResult)]
struct TenantCount {
    tenant_id: uuid::Uuid,
    n: i64,
}

/// Accounts per association (operators' platform-wide view).
pub async fn count_by_tenant(tx: &PlatformTx) -> Result<HashMap<TenantId, u64>, DbErr> {
    let rows = account::Entity::find()
        .select_only()
        .column(account::Column::TenantId)
        .column_as(account::Column::Id.count(), "n")
        .group_by(account::Column::TenantId)
        .into_model::<TenantCount>()
        .all(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                TenantId::from_uuid(r.tenant_id),
                u64::try_from(r.n).unwrap_or(0),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers() {
        assert_eq!(
            AccountNumber::parse(" 10-0042 ").unwrap().as_str(),
            "10-0042"
        );
        assert!(AccountNumber::parse("").is_err());
        assert!(AccountNumber::parse("12 34").is_err());
        assert!(AccountNumber::parse(&"9".repeat(33)).is_err());
        assert!(AccountNumber::parse("=cmd()").is_err());
    }
}
