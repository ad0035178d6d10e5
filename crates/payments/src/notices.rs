//! The notifications payments cause, written to the outbox in the same
//! transaction as the payment's change (see `aqueduct_notify`). Only
//! plain facts go into a message: amounts, dates, the account number —
//! never card or bank details.

use crate::PaymentsError;
use crate::entity::payment;
use aqueduct_billing::entity::account;
use aqueduct_core::{AccountId, Clock};
use aqueduct_notify::{Kind, NewNotification, NotifyError};
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::json;

fn err(e: NotifyError) -> PaymentsError {
    match e {
        NotifyError::Db(e) => PaymentsError::Db(e),
        other => PaymentsError::Invalid(other.to_string()),
    }
}

/// Queues `kind` to the account holder of `p`, about `subject`.
pub(crate) async fn to_customer(
    tx: &TenantTx,
    clock: &dyn Clock,
    kind: Kind,
    subject: String,
    p: &payment::Model,
    amount_cents: i64,
    detail: Option<&str>,
) -> Result<(), PaymentsError> {
    let Some(acct) = scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(p.account_id))
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    let Some(email) = acct.email.clone().filter(|e| !e.trim().is_empty()) else {
        return Ok(());
    };
    aqueduct_notify::record(
        tx,
        clock,
        NewNotification {
            kind,
            subject_id: subject,
            recipient: email,
            account: Some(AccountId::from_uuid(acct.id)),
            data: json!({
                "holder": acct.holder_name,
                "account": acct.account_number,
                "amount_cents": amount_cents,
                "at": clock.now().to_rfc3339(),
                "number": p.id.to_string()[..8].to_uppercase(),
                "detail": detail.unwrap_or_default(),
            }),
        },
    )
    .await
    .map_err(err)?;
    Ok(())
}

/// Queues `kind` to the holder of `account` (when it has an email), with
/// `extra` merged over the account's facts (`amount_cents`, `date`, `detail`…).
pub(crate) async fn to_account(
    tx: &TenantTx,
    clock: &dyn Clock,
    kind: Kind,
    subject: String,
    account: AccountId,
    extra: serde_json::Value,
) -> Result<(), PaymentsError> {
    let Some(acct) = scoped::<account::Entity>(tx)
        .filter(account::Column::Id.eq(account.uuid()))
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    let Some(email) = acct.email.clone().filter(|e| !e.trim().is_empty()) else {
        return Ok(());
    };
    let mut data = json!({
        "holder": acct.holder_name,
        "account": acct.account_number,
        "at": clock.now().to_rfc3339(),
    });
    if let (Some(d), serde_json::Value::Object(x)) = (data.as_object_mut(), extra) {
        d.extend(x);
    }
    aqueduct_notify::record(
        tx,
        clock,
        NewNotification {
            kind,
            subject_id: subject,
            recipient: email,
            account: Some(account),
            data,
        },
    )
    .await
    .map_err(err)?;
    Ok(())
}

/// Queues `kind` to the association's staff address, if one is set.
pub(crate) async fn to_staff(
    tx: &TenantTx,
    clock: &dyn Clock,
    kind: Kind,
    subject: String,
    data: serde_json::Value,
) -> Result<(), PaymentsError> {
    let Some(to) = aqueduct_notify::outbox::staff_recipient(tx)
        .await
        .map_err(err)?
    else {
        return Ok(());
    };
    aqueduct_notify::record(
        tx,
        clock,
        NewNotification {
            kind,
            subject_id: subject,
            recipient: to,
            account: None,
            data,
        },
    )
    .await
    .map_err(err)?;
    Ok(())
}
