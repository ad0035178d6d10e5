//! One-click unsubscribe (RFC 8058) for non-essential kinds.
//!
//! Every non-essential customer mail carries
//! `List-Unsubscribe: <https://…/{slug}/unsubscribe/{token}>` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the
//! association id, the account id and the kind, signed with the platform's
//! link key (HMAC-SHA256, [`aqueduct_tenant::links`]): it cannot be made
//! for another account or kind, and the page only accepts it under the
//! slug of the association it names. Following it turns that one kind off
//! in the account's preferences; essential kinds are refused.

use crate::NotifyError;
use crate::kind::{Audience, Kind};
use crate::prefs;
use aqueduct_core::{AccountId, Clock, TenantId};
use aqueduct_tenant::TenantTx;
use aqueduct_tenant::links::Links;

/// What a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The association.
    pub tenant: TenantId,
    /// The account.
    pub account: AccountId,
    /// The kind to turn off.
    pub kind: Kind,
}

/// The signed token for (association, account, kind).
pub fn token(links: &Links, t: Target) -> String {
    let mut msg = Vec::with_capacity(48);
    msg.extend_from_slice(t.tenant.uuid().as_bytes());
    msg.extend_from_slice(t.account.uuid().as_bytes());
    msg.extend_from_slice(t.kind.as_str().as_bytes());
    links.key.sign(&msg)
}

/// The https URL to put in `List-Unsubscribe`.
pub fn url(links: &Links, slug: &str, t: Target) -> String {
    format!("{}/{slug}/unsubscribe/{}", links.base_url, token(links, t))
}

/// What a token names, if this platform signed it.
pub fn verify(links: &Links, token: &str) -> Option<Target> {
    let msg = links.key.verify(token)?;
    if msg.len() < 33 {
        return None;
    }
    let tenant = uuid::Uuid::from_slice(&msg[..16]).ok()?;
    let account = uuid::Uuid::from_slice(&msg[16..32]).ok()?;
    let kind = Kind::parse(std::str::from_utf8(&msg[32..]).ok()?)?;
    Some(Target {
        tenant: TenantId::from_uuid(tenant),
        account: AccountId::from_uuid(account),
        kind,
    })
}

/// Turns `kind` off for `account` (keeping its language and other
/// choices). Essential kinds answer `Invalid`. Idempotent.
pub async fn apply(
    tx: &TenantTx,
    clock: &dyn Clock,
    account: AccountId,
    kind: Kind,
) -> Result<(), NotifyError> {
    if kind.essential() || kind.audience() != Audience::Customer {
        return Err(NotifyError::Invalid(format!(
            "{kind} is essential and cannot be turned off"
        )));
    }
    let current = prefs::get(tx, account).await?;
    let mut disabled = current.disabled;
    if !disabled.iter().any(|k| k == kind.as_str()) {
        disabled.push(kind.as_str().to_owned());
    }
    prefs::set(tx, clock, account, current.locale.as_deref(), &disabled).await?;
    Ok(())
}
