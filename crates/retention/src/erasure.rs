//! Erasure requests ("forget me"). Inside the retention period the data
//! cannot be erased yet: the request restricts it — recorded here, with the
//! reason given to the customer and the earliest erasure date — and the
//! retention job erases (anonymises) it once the period ends.

use crate::entity::erasure_request;
use crate::error::RetentionError;
use crate::policy::{self, Limits};
use aqueduct_core::id::ErasureRequestId;
use aqueduct_core::{AccountId, Clock};
use aqueduct_tenant::audit::{self, AuditEntry, Outcome};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

/// The answer to an erasure request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureAnswer {
    /// The request.
    pub id: ErasureRequestId,
    /// `restricted` (kept, hidden) until `erase_after`.
    pub status: String,
    /// Why, in words for the customer.
    pub answer: String,
    /// When the job may erase it; `None` while the account is open.
    pub erase_after: Option<DateTime<Utc>>,
}

/// Records an erasure request for `account` and answers it.
pub async fn request(
    tx: &TenantTx,
    clock: &dyn Clock,
    actor: &str,
    account: AccountId,
    limits: &Limits,
) -> Result<ErasureAnswer, RetentionError> {
    let acct = crate::accounts::find(tx, account)
        .await?
        .ok_or(RetentionError::NotFound("account"))?;
    let years = policy::years(tx, limits).await?;
    let (erase_after, answer) = match acct.closed_at {
        None => (
            None,
            format!(
                "The account is open, so its records are needed to bill and serve it. Close \
                 the account first; the law then requires the association to keep account \
                 records for {years} years after closing, after which they are erased."
            ),
        ),
        Some(closed) => {
            let at = policy::expires(closed, years);
            let text = if at <= clock.now() {
                "The retention period has ended: the records will be erased by the next \
                 retention run."
                    .to_owned()
            } else {
                format!(
                    "The law requires the association to keep account records for {years} \
                     years after the account closes. Until {} they are restricted: used only \
                     for legal and audit purposes. They are erased after that date.",
                    at.format("%Y-%m-%d")
                )
            };
            (Some(at), text)
        }
    };
    let id = ErasureRequestId::new();
    erasure_request::Entity::insert(
        erasure_request::Model {
            tenant_id: tx.tenant_id().uuid(),
            id: id.uuid(),
            account_id: account.uuid(),
            requested_by: actor.to_owned(),
            requested_at: clock.now(),
            status: "restricted".into(),
            answer: answer.clone(),
            erase_after,
        }
        .into_active_model(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    audit::record_in(
        tx,
        clock,
        AuditEntry {
            tenant: None,
            actor: actor.to_owned(),
            action: "retention.erasure.request".into(),
            target: Some(format!("account:{account}")),
            outcome: Outcome::Success,
            request_id: None,
            ip: None,
            details: Some(serde_json::json!({
                "request_id": id, "status": "restricted", "erase_after": erase_after,
            })),
        },
    )
    .await?;
    Ok(ErasureAnswer {
        id,
        status: "restricted".into(),
        answer,
        erase_after,
    })
}

/// Accounts whose data is restricted (an erasure request not yet
/// fulfilled): other views must hide them from everything but legal and
/// audit work.
pub async fn restricted_accounts(tx: &TenantTx) -> Result<Vec<AccountId>, RetentionError> {
    Ok(scoped::<erasure_request::Entity>(tx)
        .filter(erasure_request::Column::Status.eq("restricted"))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|r| AccountId::from_uuid(r.account_id))
        .collect())
}

/// One account as staff screens show it: `None` when it does not exist or
/// an erasure request restricts it (the same rule as
/// [`hidden_accounts`]), in one query whatever the number of requests.
pub async fn visible_account(
    tx: &TenantTx,
    id: AccountId,
) -> Result<Option<aqueduct_billing::entity::account::Model>, RetentionError> {
    use aqueduct_billing::entity::account;
    Ok(scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(id.uuid()))
        .filter(sea_orm::sea_query::Expr::cust(NOT_RESTRICTED))
        .one(tx.conn())
        .await?)
}

/// [`visible_account`] in one round trip of its own (`Db::read_once`):
/// for a request that reads nothing else.
pub async fn visible_account_once(
    db: &aqueduct_tenant::Db,
    ctx: &aqueduct_tenant::TenantCtx,
    id: AccountId,
) -> Result<Option<aqueduct_billing::entity::account::Model>, RetentionError> {
    use aqueduct_billing::entity::account;
    Ok(db
        .read_once(
            ctx,
            sea_orm::QuerySelect::limit(
                account::Entity::find()
                    .filter(account::Column::Id.eq(id.uuid()))
                    .filter(sea_orm::sea_query::Expr::cust(NOT_RESTRICTED)),
                1,
            ),
        )
        .await?
        .into_iter()
        .next())
}

/// The condition that hides a restricted account (see
/// [`hidden_accounts`]), on `accounts`.
const NOT_RESTRICTED: &str = "NOT EXISTS (SELECT 1 FROM erasure_requests e WHERE e.tenant_id = accounts.tenant_id \
     AND e.account_id = accounts.id AND e.status = 'restricted' \
     AND e.erase_after IS NOT NULL)";

/// Accounts that normal staff views and lists must not show: closed
/// accounts whose holder asked for erasure inside the retention period
/// (restricted until `erase_after`). Open accounts with a request stay
/// visible — they are still billed and served. Legal and audit views (the
/// DSAR export, the operator's legal disclosure, the audit log) still see
/// them.
pub async fn hidden_accounts(tx: &TenantTx) -> Result<Vec<AccountId>, RetentionError> {
    Ok(scoped::<erasure_request::Entity>(tx)
        .filter(erasure_request::Column::Status.eq("restricted"))
        .filter(erasure_request::Column::EraseAfter.is_not_null())
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|r| AccountId::from_uuid(r.account_id))
        .collect())
}
