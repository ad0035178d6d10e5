//! Autopay: the customer saves a payment method through Stripe Checkout in
//! setup mode on the association's connected account (Stripe keeps it; we
//! keep only the Customer and PaymentMethod ids and the consent time), and
//! a daily job charges each bill's amount due with an off-session
//! PaymentIntent on the due date, or `autopay_days_before` days before it.
//! Success posts through the webhook like every other payment; a decline
//! or an authentication request marks the bill's autopay `failed`,
//! notifies the customer (`autopay_failed`) and leaves the bill to be paid
//! by hand. `autopay_upcoming` goes out `autopay_notice_days` before the
//! charge.
//!
//! These functions are the core the staff API and the customer pages call.

use crate::checkout::status as pay_status;
use crate::entity::{autopay_charge, autopay_mandate, payment, payment_settings};
use crate::stripe_client::key;
use crate::{PaymentsError, Stripe, connect, fees, ledger};
use aqueduct_core::{AccountId, BillId, Clock};
use aqueduct_notify::Kind;
use aqueduct_tenant::{Db, TenantCtx, TenantTx, scoped};
use chrono::{Days, NaiveDate};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use stripe::StripeRequest;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
    CreateCheckoutSessionSetupIntentData,
};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_shared::CheckoutSessionMode;
use stripe_types::Currency;

/// Mandate states.
pub mod status {
    /// Created; no payment method saved yet.
    pub const PENDING: &str = "pending";
    /// A payment method is saved: bills are charged.
    pub const ACTIVE: &str = "active";
    /// Turned off (the saved method is no longer used).
    pub const OFF: &str = "off";
}

/// What autopay did about one bill.
pub mod charge_status {
    /// The upcoming-charge notice went out.
    pub const UPCOMING: &str = "upcoming";
    /// The PaymentIntent was (being) sent; a retry uses the same key.
    pub const CHARGING: &str = "charging";
    /// Stripe accepted the charge (the webhook posts it).
    pub const CHARGED: &str = "charged";
    /// Declined or authentication required: the bill is paid by hand.
    pub const FAILED: &str = "failed";
    /// Nothing was due on the charge date.
    pub const SKIPPED: &str = "skipped";
}

/// The hosted page where the customer saves a payment method.
#[derive(Debug, Clone, Serialize)]
pub struct SetupLink {
    /// The mandate.
    pub mandate_id: uuid::Uuid,
    /// Stripe's hosted Checkout page (setup mode).
    pub url: String,
}

/// The staff view of one account's autopay.
#[derive(Debug, Clone, Serialize)]
pub struct AutopayView {
    /// pending | active | off (`none`: never set up).
    pub status: String,
    /// `card` or `us_bank_account`.
    pub method_type: Option<String>,
    /// When the customer consented.
    pub consented_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A setup page is open (the customer is changing the method).
    pub setup_open: bool,
    /// Card brand or bank name, as Stripe reports it.
    pub brand: Option<String>,
    /// Last four digits, as Stripe reports them (never more).
    pub last4: Option<String>,
    /// Who consented when the method was moved from another account
    /// (`customer:<id>`, `user:<id>`); none when saved on Stripe's page.
    pub consent_actor: Option<String>,
    /// The mandate the method was moved from.
    pub moved_from: Option<uuid::Uuid>,
    /// When autopay ended, and why (`turned_off` | `moved`).
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `turned_off` | `moved`.
    pub ended_reason: Option<String>,
    /// When Stripe detached the saved method (after turning autopay off).
    pub detached_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The next bill's charge date, while autopay is on and it is not
    /// charged yet.
    pub next_charge_on: Option<NaiveDate>,
    /// The newest failed charge.
    pub last_failure: Option<ChargeView>,
    /// The last bills autopay handled, newest first.
    pub charges: Vec<ChargeView>,
}

/// One bill autopay handled.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeView {
    /// The bill.
    pub bill_id: uuid::Uuid,
    /// When it is (was) charged.
    pub charge_on: NaiveDate,
    /// upcoming | charging | charged | failed | skipped.
    pub status: String,
    /// Amount charged.
    pub amount_cents: Option<i64>,
    /// The payment made.
    pub payment_id: Option<uuid::Uuid>,
    /// Stripe's code on failure.
    pub failure_code: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

/// The account's mandate, if any.
pub async fn mandate(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Option<autopay_mandate::Model>, PaymentsError> {
    Ok(scoped::<autopay_mandate::Entity>(tx)
        .filter(autopay_mandate::Column::AccountId.eq(account.uuid()))
        .one(tx.conn())
        .await?)
}

/// The staff view of an account's autopay on `today`.
pub async fn view(
    tx: &TenantTx,
    account: AccountId,
    today: NaiveDate,
) -> Result<AutopayView, PaymentsError> {
    aqueduct_billing::accounts::get(tx, account).await?;
    let m = mandate(tx, account).await?;
    let charges: Vec<ChargeView> = scoped::<autopay_charge::Entity>(tx)
        .filter(autopay_charge::Column::AccountId.eq(account.uuid()))
        .order_by_desc(autopay_charge::Column::ChargeOn)
        .all(tx.conn())
        .await?
        .into_iter()
        .take(24)
        .map(|c| ChargeView {
            bill_id: c.bill_id,
            charge_on: c.charge_on,
            status: c.status,
            amount_cents: c.amount_cents,
            payment_id: c.payment_id,
            failure_code: c.failure_code,
            failure_reason: c.failure_reason,
        })
        .collect();
    let next_charge_on = match &m {
        Some(m) if m.status == status::ACTIVE => next_charge(tx, account, today).await?,
        _ => None,
    };
    let last_failure = charges
        .iter()
        .find(|c| c.status == charge_status::FAILED)
        .cloned();
    Ok(AutopayView {
        status: m.as_ref().map_or("none".into(), |m| m.status.clone()),
        method_type: m.as_ref().and_then(|m| m.method_type.clone()),
        consented_at: m.as_ref().and_then(|m| m.consented_at),
        setup_open: m.as_ref().is_some_and(|m| m.setup_url.is_some()),
        brand: m.as_ref().and_then(|m| m.method_brand.clone()),
        last4: m.as_ref().and_then(|m| m.method_last4.clone()),
        consent_actor: m.as_ref().and_then(|m| m.consent_actor.clone()),
        moved_from: m.as_ref().and_then(|m| m.moved_from),
        ended_at: m.as_ref().and_then(|m| m.ended_at),
        ended_reason: m.as_ref().and_then(|m| m.ended_reason.clone()),
        detached_at: m.as_ref().and_then(|m| m.detached_at),
        next_charge_on,
        last_failure,
        charges,
    })
}

/// When the account's newest standing bill will be charged, if it is
/// still to be charged (on or after `today`, within the late window).
async fn next_charge(
    tx: &TenantTx,
    account: AccountId,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, PaymentsError> {
    let Some(bill) = latest_bill(tx, account).await? else {
        return Ok(None);
    };
    let done = scoped::<autopay_charge::Entity>(tx)
        .filter(autopay_charge::Column::BillId.eq(bill.id))
        .one(tx.conn())
        .await?
        .is_some_and(|c| {
            matches!(
                c.status.as_str(),
                charge_status::CHARGED | charge_status::FAILED | charge_status::SKIPPED
            )
        });
    if done || today > bill.due_on + Days::new(LATE_DAYS) {
        return Ok(None);
    }
    let (days_before, _) = timing(tx).await?;
    let charge_on = bill
        .due_on
        .checked_sub_days(Days::new(u64::try_from(days_before).unwrap_or(0)))
        .unwrap_or(bill.due_on);
    Ok(Some(charge_on.max(today)))
}

/// Starts saving (or changing) the account's payment method: a Stripe
/// Customer for the account (once), then a setup-mode Checkout Session.
/// While a setup page is open the same link is returned, so two clicks
/// give one session; the active method (if any) keeps being used until
/// Stripe confirms the new one.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn start(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    account: AccountId,
) -> Result<SetupLink, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let acct_row = aqueduct_billing::accounts::get(&tx, account).await?;
    let acct = connect::chargeable(&tx).await?;
    let now = clock.now();
    ensure_row(&tx, account, now).await?;
    let m = mandate(&tx, account)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    if let Some(url) = &m.setup_url
        && (now - m.updated_at) < chrono::Duration::hours(23)
    {
        return Ok(SetupLink {
            mandate_id: m.id,
            url: url.clone(),
        });
    }
    let meta: HashMap<String, String> = [
        ("aqueduct_autopay_id".to_owned(), m.id.to_string()),
        ("aqueduct_account_id".to_owned(), account.to_string()),
        ("aqueduct_tenant_id".to_owned(), ctx.id().to_string()),
    ]
    .into();
    let customer = match &m.stripe_customer_id {
        Some(c) => c.clone(),
        None => {
            let mut create = CreateCustomer::new().metadata(meta.clone());
            if let Some(email) = acct_row.email.as_deref().filter(|e| !e.trim().is_empty()) {
                create = create.email(email);
            }
            let cus = create
                .customize()
                .account_id(acct.stripe_account_id.as_str().into())
                .request_strategy(key(&format!("aqueduct-autopay-customer-{}", m.id))?)
                .send(&stripe.client)
                .await
                .map_err(crate::stripe_client::stripe_err)?;
            let id = cus.id.as_str().to_owned();
            let tx = db.tenant(ctx).await?;
            autopay_mandate::Entity::update_many()
                .col_expr(autopay_mandate::Column::StripeCustomerId, Expr::value(&id))
                .filter(autopay_mandate::Column::TenantId.eq(m.tenant_id))
                .filter(autopay_mandate::Column::Id.eq(m.id))
                .filter(autopay_mandate::Column::StripeCustomerId.is_null())
                .exec(tx.conn())
                .await?;
            tx.commit().await?;
            id
        }
    };
    // One session per setup attempt, rooted in the previous session: a
    // retry after a timeout reuses the key, a later change makes a new one.
    let attempt = m.setup_session_id.clone().unwrap_or_else(|| "first".into());
    // Back to the association's portal page either way (the state shows
    // once Stripe's event arrives).
    let back = format!("{}/{}", stripe.public_url, ctx.slug());
    let mut si = CreateCheckoutSessionSetupIntentData::new();
    si.metadata = Some(meta.clone());
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Setup)
        .currency(Currency::USD)
        .customer(customer.as_str())
        .allowed_payment_method_types(vec![
            CreateCheckoutSessionAllowedPaymentMethodTypes::Card,
            CreateCheckoutSessionAllowedPaymentMethodTypes::UsBankAccount,
        ])
        .setup_intent_data(si)
        .metadata(meta)
        .client_reference_id(m.id.to_string())
        .success_url(back.clone())
        .cancel_url(back)
        .customize()
        .account_id(acct.stripe_account_id.as_str().into())
        .request_strategy(key(&format!("aqueduct-autopay-setup-{}-{attempt}", m.id))?)
        .send(&stripe.client)
        .await
        .map_err(crate::stripe_client::stripe_err)?;
    let url = session
        .url
        .clone()
        .ok_or_else(|| PaymentsError::Stripe("Checkout Session without a url".into()))?;
    let tx = db.tenant(ctx).await?;
    autopay_mandate::Entity::update_many()
        .col_expr(
            autopay_mandate::Column::SetupSessionId,
            Expr::value(session.id.as_str()),
        )
        .col_expr(autopay_mandate::Column::SetupUrl, Expr::value(url.as_str()))
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(autopay_mandate::Column::TenantId.eq(m.tenant_id))
        .filter(autopay_mandate::Column::Id.eq(m.id))
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(SetupLink {
        mandate_id: m.id,
        url,
    })
}

/// Why a mandate ended.
pub mod ended {
    /// Turned off by staff or the customer: the method is detached at Stripe.
    pub const TURNED_OFF: &str = "turned_off";
    /// Moved to the customer's new account (the method stays saved).
    pub const MOVED: &str = "moved";
}

/// What turning autopay off did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TurnedOff {
    /// It was on (or being set up) before.
    pub was_on: bool,
    /// The saved method is detached at Stripe (now or before).
    pub detached: bool,
    /// Detaching is still to be done (Stripe could not be reached; the
    /// reconciliation sweep tries again).
    pub detach_pending: bool,
}

/// Turns autopay off for the account: the mandate ends (no bill is
/// charged again) and the saved method is detached from its Stripe
/// Customer on the association's account (`POST
/// /v1/payment_methods/{id}/detach`), so it can never be charged again.
/// Idempotent: again, nothing changes and Stripe is not asked twice. When
/// Stripe cannot be reached the mandate is off anyway and the sweep
/// detaches the method later.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn turn_off(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: Option<&Stripe>,
    account: AccountId,
) -> Result<TurnedOff, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    aqueduct_billing::accounts::get(&tx, account).await?;
    let now = clock.now();
    let res = autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::Status, Expr::value(status::OFF))
        .col_expr(
            autopay_mandate::Column::SetupUrl,
            Expr::value(Option::<String>::None),
        )
        .col_expr(autopay_mandate::Column::EndedAt, Expr::value(Some(now)))
        .col_expr(
            autopay_mandate::Column::EndedReason,
            Expr::value(ended::TURNED_OFF),
        )
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(now))
        .filter(autopay_mandate::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(autopay_mandate::Column::AccountId.eq(account.uuid()))
        .filter(autopay_mandate::Column::Status.ne(status::OFF))
        .exec(tx.conn())
        .await?;
    let m = mandate(&tx, account).await?;
    tx.commit().await?;
    let was_on = res.rows_affected > 0;
    let Some(m) = m else {
        return Ok(TurnedOff {
            was_on,
            detached: false,
            detach_pending: false,
        });
    };
    let detached = match stripe {
        Some(stripe) => detach(db, ctx, clock, stripe, &m).await?,
        None => m.detached_at.is_some(),
    };
    Ok(TurnedOff {
        was_on,
        detached,
        detach_pending: !detached && needs_detach(&m),
    })
}

/// The mandate was turned off with a saved method not detached yet.
fn needs_detach(m: &autopay_mandate::Model) -> bool {
    m.status == status::OFF
        && m.ended_reason.as_deref() == Some(ended::TURNED_OFF)
        && m.detached_at.is_none()
        && m.stripe_payment_method_id.is_some()
}

/// Detaches a turned-off mandate's method at Stripe (once; a method a
/// moved mandate still uses is kept). Returns whether it is detached.
async fn detach(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    m: &autopay_mandate::Model,
) -> Result<bool, PaymentsError> {
    if m.detached_at.is_some() {
        return Ok(true);
    }
    if !needs_detach(m) {
        return Ok(false);
    }
    let Some(pm) = m.stripe_payment_method_id.as_deref() else {
        return Ok(false);
    };
    let tx = db.tenant(ctx).await?;
    let in_use = scoped::<autopay_mandate::Entity>(&tx)
        .filter(autopay_mandate::Column::StripePaymentMethodId.eq(pm))
        .filter(autopay_mandate::Column::Status.ne(status::OFF))
        .one(tx.conn())
        .await?
        .is_some();
    let acct = connect::account(&tx).await?;
    tx.commit().await?;
    let Some(acct) = acct else {
        return Ok(false);
    };
    if in_use {
        // Another account's autopay uses it (moved with consent): keep it.
        return Ok(false);
    }
    let sent: Result<stripe_shared::PaymentMethod, _> = stripe_client_core::RequestBuilder::new(
        stripe_client_core::StripeMethod::Post,
        format!("/payment_methods/{pm}/detach"),
    )
    .customize()
    .account_id(acct.stripe_account_id.as_str().into())
    .request_strategy(key(&format!("aqueduct-autopay-detach-{}", m.id))?)
    .send(&stripe.client)
    .await;
    match sent {
        Ok(_) => {}
        // Already detached (by us before, or in Stripe's dashboard), or gone.
        Err(stripe::StripeError::Stripe(err, code))
            if code == 404
                || (code == 400
                    && err
                        .message
                        .as_deref()
                        .is_some_and(|msg| msg.contains("not attached"))) => {}
        Err(e) => {
            tracing::warn!(mandate = %m.id, error = %e, "could not detach the autopay method; the sweep tries again");
            return Ok(false);
        }
    }
    let tx = db.tenant(ctx).await?;
    autopay_mandate::Entity::update_many()
        .col_expr(
            autopay_mandate::Column::DetachedAt,
            Expr::value(Some(clock.now())),
        )
        .filter(autopay_mandate::Column::TenantId.eq(m.tenant_id))
        .filter(autopay_mandate::Column::Id.eq(m.id))
        .filter(autopay_mandate::Column::DetachedAt.is_null())
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    tracing::info!(mandate = %m.id, "autopay method detached at Stripe");
    Ok(true)
}

/// Detaches the methods of mandates turned off while Stripe could not be
/// reached (the reconciliation sweep). Returns how many it detached.
pub async fn detach_pending(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<u32, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let pending: Vec<_> = scoped::<autopay_mandate::Entity>(&tx)
        .filter(autopay_mandate::Column::Status.eq(status::OFF))
        .filter(autopay_mandate::Column::EndedReason.eq(ended::TURNED_OFF))
        .filter(autopay_mandate::Column::DetachedAt.is_null())
        .filter(autopay_mandate::Column::StripePaymentMethodId.is_not_null())
        .all(tx.conn())
        .await?;
    tx.commit().await?;
    let mut n = 0;
    for m in pending {
        if detach(db, ctx, clock, stripe, &m).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// A saved method that can move to a new account of the same customer at
/// the association, waiting for consent.
#[derive(Debug, Clone, Serialize)]
pub struct MoveOffer {
    /// The account being closed (or closed) whose autopay it is.
    pub from_account_id: uuid::Uuid,
    /// Its number.
    pub from_account_number: String,
    /// Its mandate.
    pub mandate_id: uuid::Uuid,
    /// `card` or `us_bank_account`.
    pub method_type: Option<String>,
    /// Brand or bank name, as Stripe reports it.
    pub brand: Option<String>,
    /// Last four digits, as Stripe reports them.
    pub last4: Option<String>,
}

/// Who is looking at (or accepting) an offer.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// A customer login holding these accounts: both accounts must be
    /// among them.
    Customer(&'a [AccountId]),
    /// Staff: the old account was transferred to the new one, or one
    /// customer login holds both.
    Staff,
}

/// The saved methods that can move to account `to`: active autopay on a
/// closed account of the same customer (see [`Via`]), while `to` is open
/// and has no autopay of its own.
pub async fn move_offers(
    tx: &TenantTx,
    to: AccountId,
    via: Via<'_>,
) -> Result<Vec<MoveOffer>, PaymentsError> {
    use aqueduct_tenant::entity::customer_link;
    let target = aqueduct_billing::accounts::get(tx, to).await?;
    if !may_receive(&target, mandate(tx, to).await?.as_ref()) {
        return Ok(Vec::new());
    }
    // The accounts that could be the old one: few, whatever the size of
    // the association (never a scan of every mandate).
    let candidates: Vec<uuid::Uuid> = match via {
        Via::Customer(linked) if linked.contains(&to) => linked
            .iter()
            .filter(|a| **a != to)
            .map(|a| a.uuid())
            .collect(),
        Via::Customer(_) => Vec::new(),
        Via::Staff => {
            use aqueduct_billing::entity::account_closure;
            let mut c: Vec<uuid::Uuid> = scoped::<account_closure::Entity>(tx)
                .filter(account_closure::Column::TransferredTo.eq(to.uuid()))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|c| c.account_id)
                .collect();
            let holders: Vec<uuid::Uuid> = scoped::<customer_link::Entity>(tx)
                .filter(customer_link::Column::AccountId.eq(to.uuid()))
                .all(tx.conn())
                .await?
                .into_iter()
                .map(|l| l.user_id)
                .collect();
            if !holders.is_empty() {
                c.extend(
                    scoped::<customer_link::Entity>(tx)
                        .filter(customer_link::Column::UserId.is_in(holders))
                        .filter(customer_link::Column::AccountId.ne(to.uuid()))
                        .all(tx.conn())
                        .await?
                        .into_iter()
                        .map(|l| l.account_id),
                );
            }
            c.sort_unstable();
            c.dedup();
            c
        }
    };
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let active = scoped::<autopay_mandate::Entity>(tx)
        .filter(autopay_mandate::Column::Status.eq(status::ACTIVE))
        .filter(autopay_mandate::Column::AccountId.is_in(candidates))
        .filter(autopay_mandate::Column::StripeCustomerId.is_not_null())
        .filter(autopay_mandate::Column::StripePaymentMethodId.is_not_null())
        .all(tx.conn())
        .await?;
    let mut out = Vec::new();
    for m in active {
        let from = aqueduct_billing::accounts::get(tx, AccountId::from_uuid(m.account_id)).await?;
        out.extend(offer_of(&m, &from));
    }
    Ok(out)
}

/// Whether account `target` (with its own mandate, if any) may take a
/// saved method from another account: it is open and has no active
/// autopay of its own.
pub fn may_receive(
    target: &aqueduct_billing::entity::account::Model,
    own: Option<&autopay_mandate::Model>,
) -> bool {
    target.status != "closed" && own.is_none_or(|m| m.status != status::ACTIVE)
}

/// The offer mandate `m` of account `from` makes, if it can move: active,
/// with a saved Stripe customer and method, on a closed account.
pub fn offer_of(
    m: &autopay_mandate::Model,
    from: &aqueduct_billing::entity::account::Model,
) -> Option<MoveOffer> {
    (m.status == status::ACTIVE
        && m.account_id == from.id
        && m.stripe_customer_id.is_some()
        && m.stripe_payment_method_id.is_some()
        && from.status == "closed")
        .then(|| MoveOffer {
            from_account_id: from.id,
            from_account_number: from.account_number.clone(),
            mandate_id: m.id,
            method_type: m.method_type.clone(),
            brand: m.method_brand.clone(),
            last4: m.method_last4.clone(),
        })
}

/// Keeps autopay with the same saved method on the customer's new account
/// `to`, with their consent (`consent` must be true: nothing moves
/// without it): a mandate for `to` re-using the Stripe Customer and
/// PaymentMethod (no new Checkout), consent time and `actor` stored, and
/// the old account's mandate ended (`moved`; its method is not detached).
/// Repeating it after it moved returns the new mandate.
pub async fn keep_on_new_account(
    tx: &TenantTx,
    clock: &dyn Clock,
    to: AccountId,
    from: AccountId,
    actor: &str,
    consent: bool,
    via: Via<'_>,
) -> Result<autopay_mandate::Model, PaymentsError> {
    if !consent {
        return Err(PaymentsError::Invalid(
            "Autopay moves to the new account only with the customer's consent: tick the box to agree."
                .into(),
        ));
    }
    if let Some(mine) = mandate(tx, to).await?
        && mine.status == status::ACTIVE
        && let Some(prev) = mine.moved_from
        && mandate(tx, from).await?.is_some_and(|f| f.id == prev)
    {
        return Ok(mine);
    }
    let offer = move_offers(tx, to, via)
        .await?
        .into_iter()
        .find(|o| o.from_account_id == from.uuid())
        .ok_or_else(|| {
            PaymentsError::Conflict("there is no autopay to move from that account".into())
        })?;
    let old = scoped::<autopay_mandate::Entity>(tx)
        .filter(autopay_mandate::Column::Id.eq(offer.mandate_id))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    let now = clock.now();
    let ended_old = autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::Status, Expr::value(status::OFF))
        .col_expr(autopay_mandate::Column::EndedAt, Expr::value(Some(now)))
        .col_expr(
            autopay_mandate::Column::EndedReason,
            Expr::value(ended::MOVED),
        )
        .col_expr(
            autopay_mandate::Column::SetupUrl,
            Expr::value(Option::<String>::None),
        )
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(now))
        .filter(autopay_mandate::Column::TenantId.eq(old.tenant_id))
        .filter(autopay_mandate::Column::Id.eq(old.id))
        .filter(autopay_mandate::Column::Status.eq(status::ACTIVE))
        .exec(tx.conn())
        .await?;
    if ended_old.rows_affected != 1 {
        return Err(PaymentsError::Conflict(
            "that account's autopay changed meanwhile; try again".into(),
        ));
    }
    ensure_row(tx, to, now).await?;
    autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::Status, Expr::value(status::ACTIVE))
        .col_expr(
            autopay_mandate::Column::StripeCustomerId,
            Expr::value(old.stripe_customer_id.clone()),
        )
        .col_expr(
            autopay_mandate::Column::StripePaymentMethodId,
            Expr::value(old.stripe_payment_method_id.clone()),
        )
        .col_expr(
            autopay_mandate::Column::MethodType,
            Expr::value(old.method_type.clone()),
        )
        .col_expr(
            autopay_mandate::Column::MethodBrand,
            Expr::value(old.method_brand.clone()),
        )
        .col_expr(
            autopay_mandate::Column::MethodLast4,
            Expr::value(old.method_last4.clone()),
        )
        .col_expr(autopay_mandate::Column::ConsentedAt, Expr::value(Some(now)))
        .col_expr(autopay_mandate::Column::ConsentActor, Expr::value(actor))
        .col_expr(
            autopay_mandate::Column::MovedFrom,
            Expr::value(Some(old.id)),
        )
        .col_expr(
            autopay_mandate::Column::SetupUrl,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            autopay_mandate::Column::EndedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            autopay_mandate::Column::EndedReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            autopay_mandate::Column::DetachedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(now))
        .filter(autopay_mandate::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(autopay_mandate::Column::AccountId.eq(to.uuid()))
        .exec(tx.conn())
        .await?;
    tracing::info!(from = %from, to = %to, "autopay moved to the new account with consent");
    mandate(tx, to).await?.ok_or(PaymentsError::NotFound)
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["id"].as_str())
}

async fn mandate_for(
    tx: &TenantTx,
    obj: &Value,
) -> Result<Option<autopay_mandate::Model>, PaymentsError> {
    let by_meta = obj["metadata"]["aqueduct_autopay_id"]
        .as_str()
        .and_then(|s| s.parse::<uuid::Uuid>().ok());
    let q = scoped::<autopay_mandate::Entity>(tx);
    let q = match by_meta {
        Some(id) => q.filter(autopay_mandate::Column::Id.eq(id)),
        None if obj["object"] == "checkout.session" => q.filter(
            autopay_mandate::Column::SetupSessionId.eq(text(&obj["id"]).unwrap_or_default()),
        ),
        None => return Ok(None),
    };
    Ok(q.one(tx.conn()).await?)
}

/// A succeeded SetupIntent (webhook or the sweep): the payment method is
/// saved on Stripe; autopay becomes active with it. `at` is when Stripe
/// saved it (the consent time).
pub(crate) async fn apply_setup_intent(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), PaymentsError> {
    if obj["status"] != "succeeded" {
        return Ok(());
    }
    let Some(m) = mandate_for(tx, obj).await? else {
        // Not one of ours (or made outside Aqueduct): nothing to do.
        return Ok(());
    };
    let Some(pm) = text(&obj["payment_method"]) else {
        return Err(PaymentsError::Invalid(
            "succeeded SetupIntent without a payment method".into(),
        ));
    };
    if m.stripe_payment_method_id.as_deref() == Some(pm) && m.status == status::ACTIVE {
        return Ok(());
    }
    if m.consented_at.is_some_and(|c| c > at) {
        // A newer method was saved already: this event is late.
        return Ok(());
    }
    if m.ended_at.is_some_and(|e| e >= at)
        || (m.status == status::OFF && m.stripe_payment_method_id.as_deref() == Some(pm))
    {
        // Saved before autopay was turned off (or moved): a redelivered or
        // late event never turns it back on.
        return Ok(());
    }
    let method = obj["payment_method_types"][0]
        .as_str()
        .or_else(|| obj["payment_method"]["type"].as_str())
        .unwrap_or("card");
    let mut q = autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::Status, Expr::value(status::ACTIVE))
        .col_expr(
            autopay_mandate::Column::StripePaymentMethodId,
            Expr::value(pm),
        )
        .col_expr(autopay_mandate::Column::MethodType, Expr::value(method))
        .col_expr(autopay_mandate::Column::ConsentedAt, Expr::value(Some(at)))
        .col_expr(
            autopay_mandate::Column::ConsentActor,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            autopay_mandate::Column::MovedFrom,
            Expr::value(Option::<uuid::Uuid>::None),
        )
        .col_expr(
            autopay_mandate::Column::EndedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            autopay_mandate::Column::EndedReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            autopay_mandate::Column::DetachedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            autopay_mandate::Column::SetupUrl,
            Expr::value(Option::<String>::None),
        )
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(autopay_mandate::Column::TenantId.eq(m.tenant_id))
        .filter(autopay_mandate::Column::Id.eq(m.id));
    if let Some(c) = text(&obj["customer"]) {
        q = q.col_expr(autopay_mandate::Column::StripeCustomerId, Expr::value(c));
    }
    let (brand, last4) = method_display(&obj["payment_method"]);
    q = q
        .col_expr(autopay_mandate::Column::MethodBrand, Expr::value(brand))
        .col_expr(
            autopay_mandate::Column::MethodLast4,
            Expr::value(last4.clone()),
        );
    q.exec(tx.conn()).await?;
    if last4.is_none() {
        // The event names the method only by id: ask Stripe for what it
        // shows (brand and last four) in a job.
        aqueduct_jobs::enqueue(
            tx.conn(),
            clock,
            aqueduct_jobs::NewJob::new(
                crate::AUTOPAY_METHOD_JOB,
                json!({ "mandate": m.id, "payment_method": pm }),
            )
            .for_tenant(tx.tenant_id())
            .dedupe(format!("autopay-method:{}:{pm}", m.id)),
        )
        .await?;
    }
    tracing::info!(mandate = %m.id, method, "autopay payment method saved");
    Ok(())
}

/// A setup-mode Checkout Session completed: remember the customer and
/// close the setup page (the SetupIntent's own event saves the method).
pub(crate) async fn apply_setup_session(
    tx: &TenantTx,
    clock: &dyn Clock,
    obj: &Value,
) -> Result<(), PaymentsError> {
    let Some(m) = mandate_for(tx, obj).await? else {
        return Ok(());
    };
    let mut q = autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(autopay_mandate::Column::TenantId.eq(m.tenant_id))
        .filter(autopay_mandate::Column::Id.eq(m.id));
    if obj["status"] == "complete" || obj["status"] == "expired" {
        q = q
            .col_expr(
                autopay_mandate::Column::SetupUrl,
                Expr::value(Option::<String>::None),
            )
            .filter(autopay_mandate::Column::SetupSessionId.eq(text(&obj["id"]).unwrap_or("")));
    }
    if let Some(c) = text(&obj["customer"])
        && m.stripe_customer_id.is_none()
    {
        q = q.col_expr(autopay_mandate::Column::StripeCustomerId, Expr::value(c));
    }
    q.exec(tx.conn()).await?;
    Ok(())
}

/// What one autopay run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Upcoming-charge notices queued.
    pub notified: u32,
    /// Charges Stripe accepted.
    pub charged: u32,
    /// Charges declined (or needing authentication).
    pub failed: u32,
    /// Bills with nothing due on their charge date.
    pub skipped: u32,
    /// Charges left for the next run (Stripe unreachable).
    pub retry: u32,
}

/// The association's autopay timing: (days before the due date, notice
/// days before the charge).
pub async fn timing(tx: &TenantTx) -> Result<(i32, i32), PaymentsError> {
    Ok(scoped::<payment_settings::Entity>(tx)
        .one(tx.conn())
        .await?
        .map_or((0, 3), |s| {
            (s.autopay_days_before.max(0), s.autopay_notice_days.max(0))
        }))
}

/// Sets when autopay charges (days before the due date, 0–28) and when
/// the upcoming notice goes out (days before the charge, 0–28).
pub async fn set_timing(
    tx: &TenantTx,
    clock: &dyn Clock,
    days_before: i32,
    notice_days: i32,
) -> Result<(), PaymentsError> {
    if !(0..=28).contains(&days_before) || !(0..=28).contains(&notice_days) {
        return Err(PaymentsError::Invalid(
            "autopay days are between 0 and 28".into(),
        ));
    }
    // Creates the settings row if the association has none yet.
    fees::set_convenience_fees(tx, clock, fees::convenience_fees(tx).await?).await?;
    payment_settings::Entity::update_many()
        .col_expr(
            payment_settings::Column::AutopayDaysBefore,
            Expr::value(days_before),
        )
        .col_expr(
            payment_settings::Column::AutopayNoticeDays,
            Expr::value(notice_days),
        )
        .col_expr(
            payment_settings::Column::UpdatedAt,
            Expr::value(clock.now()),
        )
        .filter(payment_settings::Column::TenantId.eq(tx.tenant_id().uuid()))
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// How long after the due date a missed run still charges a bill.
const LATE_DAYS: u64 = 7;

/// The daily run for every association with a connected account.
pub async fn run(db: &Db, clock: &dyn Clock, stripe: &Stripe) -> Result<RunReport, PaymentsError> {
    let mut total = RunReport::default();
    for ctx in connect::connected_tenants(db).await? {
        if !ctx.status().allows_use() {
            continue;
        }
        match run_tenant(db, &ctx, clock, stripe).await {
            Ok(r) => {
                total.notified += r.notified;
                total.charged += r.charged;
                total.failed += r.failed;
                total.skipped += r.skipped;
                total.retry += r.retry;
            }
            Err(e) => {
                tracing::error!(tenant = %ctx.slug(), error = %e, "autopay run failed for an association");
                total.retry += 1;
            }
        }
    }
    Ok(total)
}

/// The daily run for one association: notices, then charges.
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn run_tenant(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
) -> Result<RunReport, PaymentsError> {
    let mut report = RunReport::default();
    let today = clock.now().date_naive();
    let tx = db.tenant(ctx).await?;
    if !connect::account(&tx)
        .await?
        .is_some_and(|a| a.charges_enabled)
    {
        tx.commit().await?;
        return Ok(report);
    }
    let (days_before, notice_days) = timing(&tx).await?;
    let mandates = scoped::<autopay_mandate::Entity>(&tx)
        .filter(autopay_mandate::Column::Status.eq(status::ACTIVE))
        .all(tx.conn())
        .await?;
    let mut due = Vec::new();
    for m in mandates {
        let account = AccountId::from_uuid(m.account_id);
        let Some(bill) = latest_bill(&tx, account).await? else {
            continue;
        };
        let charge_on = bill
            .due_on
            .checked_sub_days(Days::new(u64::try_from(days_before).unwrap_or(0)))
            .unwrap_or(bill.due_on);
        let notice_on = charge_on
            .checked_sub_days(Days::new(u64::try_from(notice_days).unwrap_or(0)))
            .unwrap_or(charge_on);
        if today < notice_on || today > bill.due_on + Days::new(LATE_DAYS) {
            continue;
        }
        let row = scoped::<autopay_charge::Entity>(&tx)
            .filter(autopay_charge::Column::BillId.eq(bill.id))
            .one(tx.conn())
            .await?;
        let state = row.as_ref().map(|r| r.status.as_str());
        if matches!(
            state,
            Some(charge_status::CHARGED | charge_status::FAILED | charge_status::SKIPPED)
        ) {
            continue;
        }
        if today < charge_on {
            if row.is_none() && notify_upcoming(&tx, clock, &bill, charge_on).await? {
                report.notified += 1;
            }
            continue;
        }
        due.push((m, bill, charge_on));
    }
    tx.commit().await?;
    for (m, bill, charge_on) in due {
        match charge(db, ctx, clock, stripe, &m, &bill, charge_on).await? {
            Charged::Accepted => report.charged += 1,
            Charged::Declined => report.failed += 1,
            Charged::NothingDue => report.skipped += 1,
            Charged::Later => report.retry += 1,
        }
    }
    Ok(report)
}

/// The account's newest bill that stands (not voided).
async fn latest_bill(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Option<aqueduct_billing::entity::bill::Model>, PaymentsError> {
    for b in aqueduct_billing::bills::for_account(tx, account).await? {
        if !aqueduct_billing::bills::is_voided(tx, BillId::from_uuid(b.id)).await? {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

async fn notify_upcoming(
    tx: &TenantTx,
    clock: &dyn Clock,
    bill: &aqueduct_billing::entity::bill::Model,
    charge_on: NaiveDate,
) -> Result<bool, PaymentsError> {
    let account = AccountId::from_uuid(bill.account_id);
    let due = ledger::amount_due(tx, account).await?.cents;
    if due <= 0 {
        return Ok(false);
    }
    let now = clock.now();
    autopay_charge::Entity::insert(autopay_charge::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        bill_id: Set(bill.id),
        account_id: Set(bill.account_id),
        charge_on: Set(charge_on),
        status: Set(charge_status::UPCOMING.into()),
        amount_cents: Set(Some(due)),
        payment_id: Set(None),
        failure_code: Set(None),
        failure_reason: Set(None),
        notified_upcoming_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        autopay_charge::Column::TenantId,
        autopay_charge::Column::BillId,
    ])
    .exec_without_returning(tx.conn())
    .await?;
    crate::notices::to_account(
        tx,
        clock,
        Kind::AutopayUpcoming,
        format!("autopay_upcoming:{}", bill.id),
        account,
        json!({ "amount_cents": due, "date": charge_on.to_string() }),
    )
    .await?;
    Ok(true)
}

enum Charged {
    Accepted,
    Declined,
    NothingDue,
    Later,
}

/// Charges one bill: claims it (a payment row keyed by the bill), then an
/// off-session PaymentIntent whose Idempotency-Key is rooted in the bill,
/// so a run that dies half-way and runs again charges once.
async fn charge(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    m: &autopay_mandate::Model,
    bill: &aqueduct_billing::entity::bill::Model,
    charge_on: NaiveDate,
) -> Result<Charged, PaymentsError> {
    let account = AccountId::from_uuid(bill.account_id);
    let (Some(customer), Some(pm)) = (&m.stripe_customer_id, &m.stripe_payment_method_id) else {
        return Ok(Charged::NothingDue);
    };
    let tx = db.tenant(ctx).await?;
    let acct = connect::chargeable(&tx).await?;
    let existing = scoped::<payment::Entity>(&tx)
        .filter(payment::Column::IdempotencyKey.eq(payment_key(bill.id)))
        .one(tx.conn())
        .await?;
    let now = clock.now();
    let pay = match existing {
        Some(p) => p,
        None => {
            let due = ledger::amount_due(&tx, account).await?.cents;
            let in_flight = crate::checkout::has_processing(&tx, account).await?;
            if due < crate::checkout::MIN_CENTS || in_flight {
                // Nothing (or too little) due, or a bank payment is on its way.
                upsert_charge(
                    &tx,
                    clock,
                    bill,
                    charge_on,
                    charge_status::SKIPPED,
                    Some(due.max(0)),
                    None,
                )
                .await?;
                tx.commit().await?;
                return Ok(Charged::NothingDue);
            }
            let amount = due.min(crate::checkout::MAX_CENTS);
            let fee = fees::platform_fee(&tx).await?.on(amount);
            let row = payment::ActiveModel {
                tenant_id: Set(ctx.id().uuid()),
                id: Set(uuid::Uuid::now_v7()),
                account_id: Set(account.uuid()),
                idempotency_key: Set(payment_key(bill.id)),
                amount_cents: Set(amount),
                application_fee_cents: Set(fee),
                convenience_fee_cents: Set(0),
                currency: Set("usd".into()),
                status: Set(pay_status::PENDING.into()),
                method: Set(m.method_type.clone()),
                checkout_session_id: Set(None),
                checkout_url: Set(None),
                payment_intent_id: Set(None),
                charge_id: Set(None),
                captured_cents: Set(0),
                refunded_cents: Set(0),
                failure_reason: Set(None),
                posted_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            };
            payment::Entity::insert(row)
                .exec_with_returning(tx.conn())
                .await?
        }
    };
    upsert_charge(
        &tx,
        clock,
        bill,
        charge_on,
        charge_status::CHARGING,
        Some(pay.amount_cents),
        Some(pay.id),
    )
    .await?;
    tx.commit().await?;

    let meta: HashMap<String, String> = [
        ("aqueduct_payment_id".to_owned(), pay.id.to_string()),
        ("aqueduct_tenant_id".to_owned(), ctx.id().to_string()),
        ("aqueduct_bill_id".to_owned(), bill.id.to_string()),
        ("aqueduct_autopay".to_owned(), "true".to_owned()),
    ]
    .into();
    let mut create = CreatePaymentIntent::new(pay.amount_cents, Currency::USD)
        .customer(customer.as_str())
        .payment_method(pm.as_str())
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .metadata(meta)
        .description(format!("{}: autopay, bill {}", ctx.name(), bill.number));
    if pay.application_fee_cents > 0 {
        create = create.application_fee_amount(pay.application_fee_cents);
    }
    let sent = create
        .customize()
        .account_id(acct.stripe_account_id.as_str().into())
        .request_strategy(key(&format!("aqueduct-autopay-{}", bill.id))?)
        .send(&stripe.client)
        .await;
    let tx = db.tenant(ctx).await?;
    let out = match sent {
        Ok(pi) => {
            payment::Entity::update_many()
                .col_expr(
                    payment::Column::PaymentIntentId,
                    Expr::value(pi.id.as_str()),
                )
                .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
                .filter(payment::Column::TenantId.eq(pay.tenant_id))
                .filter(payment::Column::Id.eq(pay.id))
                .filter(payment::Column::PaymentIntentId.is_null())
                .exec(tx.conn())
                .await?;
            set_charge_status(&tx, clock, bill.id, charge_status::CHARGED, None, None).await?;
            tracing::info!(bill = %bill.id, payment = %pay.id, status = %pi.status.as_str(), "autopay charge accepted");
            Charged::Accepted
        }
        Err(stripe::StripeError::Stripe(err, code))
            if (400..500).contains(&code) && code != 401 && code != 429 =>
        {
            let code = err
                .code
                .as_ref()
                .map_or_else(|| "card_declined".to_owned(), |c| c.as_str().to_owned());
            let reason = err
                .message
                .clone()
                .unwrap_or_else(|| "The payment was declined.".into());
            if let Some(pi) = err.payment_intent.as_ref() {
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::PaymentIntentId,
                        Expr::value(pi.id.as_str()),
                    )
                    .filter(payment::Column::TenantId.eq(pay.tenant_id))
                    .filter(payment::Column::Id.eq(pay.id))
                    .filter(payment::Column::PaymentIntentId.is_null())
                    .exec(tx.conn())
                    .await?;
            }
            failed(&tx, clock, &pay, &code, &reason).await?;
            Charged::Declined
        }
        Err(e) => {
            // Stripe unreachable or erroring: the next run tries again with
            // the same key (Stripe replays the first answer).
            tracing::warn!(bill = %bill.id, error = %e, "autopay charge not sent; retried next run");
            Charged::Later
        }
    };
    tx.commit().await?;
    Ok(out)
}

fn payment_key(bill: uuid::Uuid) -> String {
    format!("autopay:{bill}")
}

async fn upsert_charge(
    tx: &TenantTx,
    clock: &dyn Clock,
    bill: &aqueduct_billing::entity::bill::Model,
    charge_on: NaiveDate,
    state: &str,
    amount: Option<i64>,
    payment: Option<uuid::Uuid>,
) -> Result<(), PaymentsError> {
    let now = clock.now();
    autopay_charge::Entity::insert(autopay_charge::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        bill_id: Set(bill.id),
        account_id: Set(bill.account_id),
        charge_on: Set(charge_on),
        status: Set(state.into()),
        amount_cents: Set(amount),
        payment_id: Set(payment),
        failure_code: Set(None),
        failure_reason: Set(None),
        notified_upcoming_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        autopay_charge::Column::TenantId,
        autopay_charge::Column::BillId,
    ])
    .exec_without_returning(tx.conn())
    .await?;
    autopay_charge::Entity::update_many()
        .col_expr(autopay_charge::Column::Status, Expr::value(state))
        .col_expr(autopay_charge::Column::AmountCents, Expr::value(amount))
        .col_expr(autopay_charge::Column::PaymentId, Expr::value(payment))
        .col_expr(autopay_charge::Column::ChargeOn, Expr::value(charge_on))
        .col_expr(autopay_charge::Column::UpdatedAt, Expr::value(now))
        .filter(autopay_charge::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(autopay_charge::Column::BillId.eq(bill.id))
        .exec(tx.conn())
        .await?;
    Ok(())
}

async fn set_charge_status(
    tx: &TenantTx,
    clock: &dyn Clock,
    bill: uuid::Uuid,
    state: &str,
    code: Option<&str>,
    reason: Option<&str>,
) -> Result<u64, PaymentsError> {
    let mut q = autopay_charge::Entity::update_many()
        .col_expr(autopay_charge::Column::Status, Expr::value(state))
        .col_expr(autopay_charge::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(autopay_charge::Column::TenantId.eq(tx.tenant_id().uuid()))
        .filter(autopay_charge::Column::BillId.eq(bill))
        .filter(autopay_charge::Column::Status.ne(charge_status::FAILED));
    if state == charge_status::FAILED {
        q = q
            .col_expr(autopay_charge::Column::FailureCode, Expr::value(code))
            .col_expr(autopay_charge::Column::FailureReason, Expr::value(reason));
    } else {
        // A late "accepted" never undoes a failure already recorded.
        q = q.filter(autopay_charge::Column::Status.ne(charge_status::CHARGED));
    }
    Ok(q.exec(tx.conn()).await?.rows_affected)
}

/// An autopay charge failed (declined at once, or a bank debit returned
/// later): the bill's autopay is marked failed, the payment attempt is
/// failed, and the customer is told to pay by hand — once.
pub(crate) async fn failed(
    tx: &TenantTx,
    clock: &dyn Clock,
    pay: &payment::Model,
    code: &str,
    reason: &str,
) -> Result<(), PaymentsError> {
    let Some(bill) = pay
        .idempotency_key
        .strip_prefix("autopay:")
        .and_then(|b| b.parse::<uuid::Uuid>().ok())
    else {
        return Ok(());
    };
    payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(pay_status::FAILED))
        .col_expr(payment::Column::FailureReason, Expr::value(reason))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::TenantId.eq(pay.tenant_id))
        .filter(payment::Column::Id.eq(pay.id))
        .filter(payment::Column::Status.eq(pay_status::PENDING))
        .exec(tx.conn())
        .await?;
    if set_charge_status(
        tx,
        clock,
        bill,
        charge_status::FAILED,
        Some(code),
        Some(reason),
    )
    .await?
        == 0
    {
        return Ok(());
    }
    let due_on = scoped::<aqueduct_billing::entity::bill::Entity>(tx)
        .filter(aqueduct_billing::entity::bill::Column::Id.eq(bill))
        .one(tx.conn())
        .await?
        .map(|b| b.due_on.to_string())
        .unwrap_or_default();
    crate::notices::to_account(
        tx,
        clock,
        Kind::AutopayFailed,
        format!("autopay_failed:{bill}"),
        AccountId::from_uuid(pay.account_id),
        json!({ "amount_cents": pay.amount_cents, "date": due_on, "detail": reason }),
    )
    .await?;
    tracing::warn!(bill = %bill, code, "autopay charge failed; the bill falls back to manual payment");
    Ok(())
}

/// The payment is an autopay charge.
pub(crate) fn is_autopay(p: &payment::Model) -> bool {
    p.idempotency_key.starts_with("autopay:")
}

/// What Stripe shows of a payment method: (brand or bank name, last four
/// digits) — nothing more is ever kept. `pm` is an expanded PaymentMethod
/// (or just its id, which shows nothing).
pub(crate) fn method_display(pm: &Value) -> (Option<String>, Option<String>) {
    let (brand, last4) = match pm["type"].as_str() {
        Some("card") => (
            pm["card"]["display_brand"]
                .as_str()
                .or_else(|| pm["card"]["brand"].as_str()),
            pm["card"]["last4"].as_str(),
        ),
        Some("us_bank_account") => (
            pm["us_bank_account"]["bank_name"].as_str(),
            pm["us_bank_account"]["last4"].as_str(),
        ),
        _ => (None, None),
    };
    let last4 = last4
        .filter(|l| l.len() == 4 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    let brand = brand.map(|b| b.chars().take(64).collect::<String>());
    (brand, last4)
}

/// The `payments.autopay_method` job: reads the saved method from Stripe
/// (on the association's account) and keeps its brand and last four.
pub async fn handle_method_job(
    db: &Db,
    clock: &dyn Clock,
    stripe: &Stripe,
    job: aqueduct_jobs::JobCtx,
) -> Result<(), aqueduct_jobs::JobError> {
    use aqueduct_jobs::JobError;
    let id: uuid::Uuid = serde_json::from_value(job.payload["mandate"].clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
    let pm = job.payload["payment_method"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("bad payload: no payment_method".into()))?
        .to_owned();
    let tenant = job
        .tenant
        .ok_or_else(|| JobError::Permanent("payments.autopay_method without a tenant".into()))?;
    let ctx = aqueduct_tenant::directory::by_id(db, tenant)
        .await?
        .ok_or_else(|| JobError::Permanent("tenant gone".into()))?;
    let tx = db.tenant(&ctx).await?;
    let acct = connect::account(&tx)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tx.commit().await?;
    let Some(acct) = acct else {
        return Err(JobError::Permanent("no connected account".into()));
    };
    let obj = crate::stripe_client::get_json(
        stripe,
        &acct.stripe_account_id,
        &format!("/payment_methods/{pm}"),
        "",
    )
    .await
    .map_err(|e| match e {
        PaymentsError::StripeRefused(m) => JobError::Permanent(m),
        other => JobError::Retry(other.to_string()),
    })?;
    let (brand, last4) = method_display(&obj);
    let tx = db.tenant(&ctx).await?;
    autopay_mandate::Entity::update_many()
        .col_expr(autopay_mandate::Column::MethodBrand, Expr::value(brand))
        .col_expr(autopay_mandate::Column::MethodLast4, Expr::value(last4))
        .col_expr(autopay_mandate::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(autopay_mandate::Column::TenantId.eq(ctx.id().uuid()))
        .filter(autopay_mandate::Column::StripePaymentMethodId.eq(pm.as_str()))
        .exec(tx.conn())
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    tx.commit().await?;
    tracing::info!(mandate = %id, "autopay method details read from Stripe");
    Ok(())
}

/// The account's mandate row, created `pending` when it has none (one row
/// per account: a second call, or a concurrent one, changes nothing).
async fn ensure_row(
    tx: &TenantTx,
    account: AccountId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), PaymentsError> {
    autopay_mandate::Entity::insert(autopay_mandate::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.uuid()),
        status: Set(status::PENDING.into()),
        setup_session_id: Set(None),
        setup_url: Set(None),
        stripe_customer_id: Set(None),
        stripe_payment_method_id: Set(None),
        method_type: Set(None),
        consented_at: Set(None),
        ended_at: Set(None),
        ended_reason: Set(None),
        detached_at: Set(None),
        consent_actor: Set(None),
        moved_from: Set(None),
        method_brand: Set(None),
        method_last4: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        autopay_mandate::Column::TenantId,
        autopay_mandate::Column::AccountId,
    ])
    .exec_without_returning(tx.conn())
    .await?;
    Ok(())
}
