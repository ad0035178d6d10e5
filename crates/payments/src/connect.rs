//! Connect onboarding: one connected account per association, Account
//! Links, its state from `account.updated`, and the dashboard link.

use crate::entity::stripe_account;
use crate::error::is_unique;
use crate::stripe_client::{key, stripe_err};
use crate::{PaymentsError, Stripe};
use aqueduct_core::{Clock, TenantId};
use aqueduct_tenant::{Access, Db, TenantCtx, TenantTx, scoped};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde::Serialize;
use serde_json::Value;
use stripe::StripeRequest;
use stripe_connect::account::{CreateAccount, CreateAccountType, RetrieveAccount};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::login_link::CreateAccountLoginLink;

/// The association's connected account as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectStatus {
    /// Whether a connected account exists.
    pub connected: bool,
    /// Stripe's `acct_…` id.
    pub stripe_account_id: Option<String>,
    /// Onboarding form submitted.
    pub details_submitted: bool,
    /// Can accept charges (payments are refused until then).
    pub charges_enabled: bool,
    /// Can receive payouts.
    pub payouts_enabled: bool,
    /// Requirements currently due.
    pub currently_due: Vec<String>,
    /// Requirements past due.
    pub past_due: Vec<String>,
    /// Why Stripe disabled the account.
    pub disabled_reason: Option<String>,
    /// Platform fee, percentage part in basis points.
    pub fee_basis_points: i32,
    /// Platform fee, fixed part in cents.
    pub fee_fixed_cents: i64,
}

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl From<Option<stripe_account::Model>> for ConnectStatus {
    fn from(m: Option<stripe_account::Model>) -> Self {
        match m {
            Some(m) => Self {
                connected: true,
                currently_due: list(&m.currently_due),
                past_due: list(&m.past_due),
                stripe_account_id: Some(m.stripe_account_id),
                details_submitted: m.details_submitted,
                charges_enabled: m.charges_enabled,
                payouts_enabled: m.payouts_enabled,
                disabled_reason: m.disabled_reason,
                // The fee lives in `payment_settings`: see `ConnectStatus::load`.
                fee_basis_points: 0,
                fee_fixed_cents: 0,
            },
            None => Self {
                connected: false,
                stripe_account_id: None,
                details_submitted: false,
                charges_enabled: false,
                payouts_enabled: false,
                currently_due: Vec::new(),
                past_due: Vec::new(),
                disabled_reason: None,
                fee_basis_points: 0,
                fee_fixed_cents: 0,
            },
        }
    }
}

impl ConnectStatus {
    /// The status with the association's platform fee filled in.
    pub async fn load(tx: &TenantTx) -> Result<Self, PaymentsError> {
        let mut st = Self::from(account(tx).await?);
        let fee = crate::fees::platform_fee(tx).await?;
        st.fee_basis_points = fee.basis_points;
        st.fee_fixed_cents = fee.fixed_cents;
        Ok(st)
    }
}

/// The association's connected account, if any.
pub async fn account(tx: &TenantTx) -> Result<Option<stripe_account::Model>, PaymentsError> {
    Ok(scoped::<stripe_account::Entity>(tx).one(tx.conn()).await?)
}

/// The connected account, refusing with a clear message unless it can
/// accept charges.
pub async fn chargeable(tx: &TenantTx) -> Result<stripe_account::Model, PaymentsError> {
    match account(tx).await? {
        Some(a) if a.charges_enabled => Ok(a),
        Some(_) => Err(PaymentsError::PaymentsDisabled(
            "Online payments are not available yet: the association's Stripe account cannot accept charges until its onboarding is complete.".into(),
        )),
        None => Err(PaymentsError::PaymentsDisabled(
            "Online payments are not available: the association has not connected a Stripe account.".into(),
        )),
    }
}

/// The Idempotency-Key that makes account creation happen once per association.
pub fn account_key(tenant: TenantId) -> String {
    format!("aqueduct-connect-account-{tenant}")
}

/// Creates the association's connected account once (idempotent: the
/// Idempotency-Key derives from the tenant id and the table holds one row
/// per tenant), or returns the existing one.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn ensure_account(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<stripe_account::Model, PaymentsError> {
    let tx = db.tenant_with(ctx, Access::Read).await?;
    let existing = account(&tx).await?;
    tx.commit().await?;
    if let Some(a) = existing {
        return Ok(a);
    }
    create_account(db, ctx, clock, stripe, &account_key(ctx.id())).await
}

async fn create_account(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    idempotency_key: &str,
) -> Result<stripe_account::Model, PaymentsError> {
    let created = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .country("US")
        .metadata([("aqueduct_tenant_id".to_owned(), ctx.id().to_string())])
        .customize()
        .request_strategy(key(idempotency_key)?)
        .send(&stripe.client)
        .await
        .map_err(stripe_err)?;
    let now = clock.now();
    let tx = db.tenant(ctx).await?;
    let row = stripe_account::ActiveModel {
        tenant_id: Set(ctx.id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        stripe_account_id: Set(created.id.as_str().to_owned()),
        livemode: Set(stripe.livemode),
        details_submitted: Set(created.details_submitted.unwrap_or(false)),
        charges_enabled: Set(created.charges_enabled.unwrap_or(false)),
        payouts_enabled: Set(created.payouts_enabled.unwrap_or(false)),
        currently_due: Set("[]".into()),
        past_due: Set("[]".into()),
        disabled_reason: Set(None),
        fee_basis_points: Set(0),
        fee_fixed_cents: Set(0),
        state_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match row.insert(tx.conn()).await {
        Ok(_) => {}
        // A concurrent click inserted the same account first.
        Err(e)
            if is_unique(
                &e,
                &["uq_stripe_accounts_tenant", "stripe_accounts.tenant_id"],
            ) => {}
        Err(e) => return Err(e.into()),
    }
    let row = account(&tx).await?.ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    tracing::info!(stripe_account = %row.stripe_account_id, "connected account ready");
    Ok(row)
}

/// Reads the connected account from Stripe and applies its state (what
/// `account.updated` would carry). `Ok(None)` when there is no connected
/// account, or Stripe no longer knows it (e.g. a restarted local simulator).
pub async fn refresh(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<Option<stripe_account::Model>, PaymentsError> {
    let tx = db.tenant_with(ctx, Access::Read).await?;
    let existing = account(&tx).await?;
    tx.commit().await?;
    let Some(row) = existing else {
        return Ok(None);
    };
    let acct = match RetrieveAccount::new(row.stripe_account_id.as_str())
        .send(&stripe.client)
        .await
    {
        Ok(a) => a,
        Err(stripe::StripeError::Stripe(_, 404)) => return Ok(None),
        Err(e) => return Err(stripe_err(e)),
    };
    let req = acct.requirements.as_ref();
    let obj = serde_json::json!({
        "id": acct.id.as_str(),
        "details_submitted": acct.details_submitted.unwrap_or(false),
        "charges_enabled": acct.charges_enabled.unwrap_or(false),
        "payouts_enabled": acct.payouts_enabled.unwrap_or(false),
        "requirements": {
            "currently_due": req.and_then(|r| r.currently_due.clone()).unwrap_or_default(),
            "past_due": req.and_then(|r| r.past_due.clone()).unwrap_or_default(),
            "disabled_reason": req.and_then(|r| r.disabled_reason.as_ref()).map(|d| d.as_str().to_owned()),
        },
    });
    let tx = db.tenant(ctx).await?;
    // Stamped with the current time: newer than any event already applied.
    apply_account_updated(&tx, clock, &obj, clock.now().timestamp()).await?;
    let row = account(&tx).await?;
    tx.commit().await?;
    Ok(row)
}

/// Forgets a connected account Stripe no longer knows and creates a new one
/// (development: the local simulator keeps its state in memory, so each
/// `make run` starts with no accounts). The platform fee (in
/// `payment_settings`) is untouched.
pub async fn replace_missing(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<stripe_account::Model, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let old = account(&tx).await?;
    if let Some(old) = &old {
        stripe_account::Entity::delete_many()
            .filter(stripe_account::Column::TenantId.eq(ctx.id().uuid()))
            .filter(stripe_account::Column::Id.eq(old.id))
            .exec(tx.conn())
            .await?;
    }
    tx.commit().await?;
    let created = create_account(
        db,
        ctx,
        clock,
        stripe,
        &format!(
            "{}-replacing-{}",
            account_key(ctx.id()),
            old.as_ref()
                .map_or("none", |o| o.stripe_account_id.as_str())
        ),
    )
    .await?;
    Ok(created)
}

/// A fresh onboarding link (Account Link, `account_onboarding`).
pub async fn onboarding_link(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<String, PaymentsError> {
    onboarding_link_back_to(db, ctx, clock, stripe, "/api/v1/stripe/account").await
}

/// A fresh onboarding link whose return and refresh URLs lead to `path`
/// on this server (the workspace's Stripe page, for people in a browser).
pub async fn onboarding_link_back_to(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    path: &str,
) -> Result<String, PaymentsError> {
    let acct = ensure_account(db, ctx, clock, stripe).await?;
    let back = format!("{}{path}", stripe.public_url);
    let link = CreateAccountLink::new(
        acct.stripe_account_id.as_str(),
        CreateAccountLinkType::AccountOnboarding,
    )
    .refresh_url(format!("{back}?from=refresh"))
    .return_url(format!("{back}?from=return"))
    .customize()
    .request_strategy(key(&format!(
        "aqueduct-account-link-{}",
        uuid::Uuid::now_v7()
    ))?)
    .send(&stripe.client)
    .await
    .map_err(stripe_err)?;
    Ok(link.url)
}

/// A one-time link to the association's Stripe (Express) dashboard.
pub async fn dashboard_link(
    db: &Db,
    ctx: &TenantCtx,
    stripe: &Stripe,
) -> Result<String, PaymentsError> {
    let tx = db.tenant_with(ctx, Access::Read).await?;
    let acct = account(&tx).await?;
    tx.commit().await?;
    let acct = acct
        .ok_or_else(|| PaymentsError::PaymentsDisabled("Connect a Stripe account first.".into()))?;
    let link = CreateAccountLoginLink::new(acct.stripe_account_id.as_str())
        .customize()
        .request_strategy(key(&format!(
            "aqueduct-login-link-{}",
            uuid::Uuid::now_v7()
        ))?)
        .send(&stripe.client)
        .await
        .map_err(stripe_err)?;
    Ok(link.url)
}

/// Sets the platform fee (operators): see [`crate::fees::set_platform_fee`].
pub async fn set_platform_fee(
    tx: &TenantTx,
    clock: &dyn Clock,
    basis_points: i32,
    fixed_cents: i64,
) -> Result<(), PaymentsError> {
    crate::fees::set_platform_fee(
        tx,
        clock,
        crate::fees::PlatformFee {
            basis_points,
            fixed_cents,
        },
    )
    .await?;
    Ok(())
}

fn strings(v: &Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".into())
}

/// Applies an `account.updated` object unless a newer one was applied
/// already (events may arrive out of order).
pub(crate) async fn apply_account_updated(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
    created: i64,
) -> Result<(), PaymentsError> {
    let Some(id) = obj["id"].as_str() else {
        return Err(PaymentsError::Invalid(
            "account.updated without an id".into(),
        ));
    };
    let Some(row) = scoped::<stripe_account::Entity>(tx)
        .filter(stripe_account::Column::StripeAccountId.eq(id))
        .one(tx.conn())
        .await?
    else {
        return Err(PaymentsError::NotFound);
    };
    if created < row.state_version {
        tracing::info!(stripe_account = id, "older account.updated ignored");
        return Ok(());
    }
    let req = &obj["requirements"];
    let stripe_row_id = row.id;
    let mut m = row.into_active_model();
    m.details_submitted = Set(obj["details_submitted"].as_bool().unwrap_or(false));
    m.charges_enabled = Set(obj["charges_enabled"].as_bool().unwrap_or(false));
    m.payouts_enabled = Set(obj["payouts_enabled"].as_bool().unwrap_or(false));
    m.currently_due = Set(strings(&req["currently_due"]));
    m.past_due = Set(strings(&req["past_due"]));
    m.disabled_reason = Set(req["disabled_reason"].as_str().map(str::to_owned));
    m.state_version = Set(created);
    m.updated_at = Set(clock.now());
    m.update(tx.conn()).await?;
    notify_attention(tx, clock, stripe_row_id, obj).await
}

/// Tells staff (`stripe_attention`) when an onboarded account has
/// requirements currently due or past due, or was disabled — once per
/// distinct set of requirements (the outbox dedupes on a digest of the
/// sorted set and the reason). During onboarding (`details_submitted`
/// false) nothing is sent: the admin is in Stripe's form already.
async fn notify_attention(
    tx: &TenantTx,
    clock: &dyn Clock,
    row: uuid::Uuid,
    obj: &Value,
) -> Result<(), PaymentsError> {
    use sha2::{Digest, Sha256};
    if !obj["details_submitted"].as_bool().unwrap_or(false) {
        return Ok(());
    }
    let req = &obj["requirements"];
    let mut items: Vec<&str> = ["currently_due", "past_due"]
        .iter()
        .filter_map(|k| req[*k].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    items.sort_unstable();
    items.dedup();
    let reason = req["disabled_reason"].as_str().filter(|r| !r.is_empty());
    if items.is_empty() && reason.is_none() {
        return Ok(());
    }
    let key = format!("{}|{}", items.join(","), reason.unwrap_or_default());
    let digest = hex::encode(&Sha256::digest(key.as_bytes())[..12]);
    let mut detail = items.join(", ");
    if let Some(r) = reason {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str("disabled: ");
        detail.push_str(r);
    }
    crate::notices::to_staff(
        tx,
        clock,
        aqueduct_notify::Kind::StripeAttention,
        format!("stripe_requirements:{row}:{digest}"),
        serde_json::json!({
            "detail": detail,
            "at": clock.now().to_rfc3339(),
        }),
    )
    .await
}

/// Looks up which association owns a connected account (platform path,
/// for routing webhooks).
pub(crate) async fn tenant_of(
    conn: &impl sea_orm::ConnectionTrait,
    stripe_account_id: &str,
) -> Result<Option<TenantId>, PaymentsError> {
    Ok(stripe_account::Entity::find()
        .filter(stripe_account::Column::StripeAccountId.eq(stripe_account_id))
        .one(conn)
        .await?
        .map(|m| TenantId::from_uuid(m.tenant_id)))
}

/// Every association with a connected account (platform path, for the
/// daily autopay run and the reconciliation sweep).
pub async fn connected_tenants(db: &Db) -> Result<Vec<TenantCtx>, PaymentsError> {
    let tx = db.system("stripe.connected_tenants").await?;
    let rows = stripe_account::Entity::find().all(tx.conn()).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(ctx) =
            aqueduct_tenant::directory::by_id(db, TenantId::from_uuid(r.tenant_id)).await?
        {
            out.push(ctx);
        }
    }
    Ok(out)
}
