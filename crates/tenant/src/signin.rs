//! Password sign-in: throttled per client address and per account, the
//! same answer (and about the same time) whether or not the email exists,
//! and every attempt audited.

use crate::audit::{self, AuditEntry, Outcome};
use crate::credentials::{self, Person};
use crate::db::Db;
use crate::throttle::{self, SIGN_IN_ACCOUNT, SIGN_IN_IP};
use aqueduct_core::{Clock, Secret, TenantId};
use sea_orm::DbErr;

/// Where an attempt comes from (for throttling and the audit log).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// Client address.
    pub ip: String,
    /// Request id.
    pub request_id: Option<String>,
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum SignIn {
    /// Email and password are right and the person is enabled.
    Accepted(Person),
    /// Wrong email, wrong password or disabled: one answer for all.
    Refused,
    /// Too many failures; try again after this many seconds.
    Throttled(u64),
}

/// Checks an email and password.
pub async fn with_password(
    db: &Db,
    clock: &dyn Clock,
    email: &str,
    password: &Secret,
    origin: &Origin,
) -> Result<SignIn, DbErr> {
    let ip_key = throttle::ip_key("sign_in", &origin.ip);
    let acct_key = throttle::account_key("sign_in", email);
    let blocked = match throttle::blocked_for(db, clock, &ip_key, SIGN_IN_IP).await? {
        Some(s) => Some(s),
        None => throttle::blocked_for(db, clock, &acct_key, SIGN_IN_ACCOUNT).await?,
    };
    let person = credentials::by_email(db, email).await?;
    let actor = person
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |p| format!("user:{}", p.id));
    let entry = |outcome: Outcome, reason: &str| AuditEntry {
        tenant: None,
        actor: actor.clone(),
        action: "auth.sign_in".into(),
        target: None,
        outcome,
        request_id: origin.request_id.clone(),
        ip: Some(origin.ip.clone()),
        details: Some(serde_json::json!({ "method": "password", "reason": reason })),
    };
    // Staff attempts also go to each of their associations' logs, so its
    // admins see their staff's sign-ins.
    let tenants: Vec<TenantId> = match &person {
        Some(p) if !p.is_operator => credentials::memberships(db, p.id)
            .await?
            .iter()
            .map(|(t, _)| t.id())
            .collect(),
        _ => Vec::new(),
    };
    let record = |e: AuditEntry| record_for(db, clock, e, &tenants);
    if let Some(retry_after) = blocked {
        record(entry(Outcome::Denied, "throttled")).await?;
        return Ok(SignIn::Throttled(retry_after));
    }
    let accepted = match &person {
        Some(p) => p.password_matches(password) && !p.disabled,
        None => {
            crate::password::verify_dummy(password);
            false
        }
    };
    match (accepted, person) {
        (true, Some(p)) => {
            throttle::clear(db, &acct_key).await?;
            record(entry(Outcome::Success, "ok")).await?;
            Ok(SignIn::Accepted(p))
        }
        (_, p) => {
            throttle::hit(db, clock, &ip_key, SIGN_IN_IP).await?;
            throttle::hit(db, clock, &acct_key, SIGN_IN_ACCOUNT).await?;
            let reason = match p {
                Some(p) if p.disabled => "disabled",
                Some(_) => "bad_password",
                None => "unknown_email",
            };
            record(entry(Outcome::Failure, reason)).await?;
            Ok(SignIn::Refused)
        }
    }
}

/// Records `e` at platform level and once in each of `tenants`' logs.
async fn record_for(
    db: &Db,
    clock: &dyn Clock,
    e: AuditEntry,
    tenants: &[TenantId],
) -> Result<(), DbErr> {
    for t in tenants {
        let mut copy = e.clone();
        copy.tenant = Some(*t);
        audit::record_now(db, clock, copy).await?;
    }
    audit::record_now(db, clock, e).await?;
    Ok(())
}
