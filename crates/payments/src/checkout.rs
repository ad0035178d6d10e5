//! "Pay": a Stripe Checkout Session on the association's connected account
//! (a direct charge with the platform's application fee), created once per
//! payment attempt.

use crate::entity::payment;
use crate::fees::PayMethod;
use crate::stripe_client::{key, stripe_err};
use crate::{PaymentsError, Stripe, connect, fees, ledger};
use aqueduct_core::{AccountId, Clock, Money, PaymentId};
use aqueduct_tenant::{Access, Db, TenantCtx, TenantTx, scoped};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TryInsertResult,
};
use std::collections::HashMap;
use stripe::StripeRequest;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
    CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_shared::CheckoutSessionMode;
use stripe_types::Currency;

/// Smallest payment: $1.
pub const MIN_CENTS: i64 = 100;
/// Largest payment accepted online: $100,000.
pub const MAX_CENTS: i64 = 10_000_000;

/// Payment states.
pub mod status {
    /// Created; the customer has not paid yet (or a card was declined).
    pub const PENDING: &str = "pending";
    /// A bank debit (ACH) on its way: shown as processing, never as paid.
    pub const PROCESSING: &str = "processing";
    /// Stripe confirmed: posted to the ledger once.
    pub const SUCCEEDED: &str = "succeeded";
    /// The bank debit failed or the session expired.
    pub const FAILED: &str = "failed";
}

/// A validated request to pay.
#[derive(Debug, Clone)]
pub struct PayRequest {
    /// The customer account.
    pub account: AccountId,
    /// Amount; `None` means the amount due.
    pub amount: Option<Money>,
    /// The client's key: the same key gives the same payment and session.
    pub idempotency_key: String,
}

/// Where to send the customer.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// Our payment id.
    pub payment: PaymentId,
    /// Stripe's hosted Checkout page.
    pub url: String,
    /// What the customer is charged (amount, convenience fee, total).
    pub quote: Quote,
}

/// Validates a client's Idempotency-Key (1–255 visible ASCII characters).
pub fn validate_key(key: &str) -> Result<String, PaymentsError> {
    let k = key.trim();
    if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PaymentsError::Invalid(
            "Idempotency-Key is 1 to 255 visible ASCII characters".into(),
        ));
    }
    Ok(k.to_owned())
}

/// What a payment will cost, shown before paying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Quote {
    /// What goes to the account (the amount due, or the amount asked).
    pub amount_cents: i64,
    /// The association's convenience fee for this method (0: none).
    pub convenience_fee_cents: i64,
    /// What the customer is charged.
    pub total_cents: i64,
    /// The payment method, when one was chosen.
    pub method: Option<PayMethod>,
}

/// The quote for paying `amount` (the amount due when `None`) on `account`
/// by `method` (no limits checked: [`start`] checks them).
pub async fn quote(
    tx: &TenantTx,
    account: AccountId,
    amount: Option<Money>,
    method: Option<PayMethod>,
) -> Result<Quote, PaymentsError> {
    aqueduct_billing::accounts::get(tx, account).await?;
    let amount = match amount {
        Some(m) => m.cents,
        None => ledger::amount_due(tx, account).await?.cents.max(0),
    };
    let fee = fees::convenience_fees(tx).await?.on(amount, method)?;
    Ok(Quote {
        amount_cents: amount,
        convenience_fee_cents: fee,
        total_cents: amount + fee,
        method,
    })
}

/// Creates (or finds) the payment attempt and its Checkout Session (the
/// customer picks card or bank on Stripe's page).
pub async fn start(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    req: PayRequest,
) -> Result<Redirect, PaymentsError> {
    start_with(db, ctx, clock, stripe, req, None).await
}

/// [`start`] for one payment method (`None`: both), so the association's
/// convenience fee for it can be added; the session then offers only that
/// method. The quote is in the returned [`Redirect`].
#[tracing::instrument(skip_all, fields(tenant = %ctx.slug()))]
pub async fn start_with(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    stripe: &Stripe,
    req: PayRequest,
    method: Option<PayMethod>,
) -> Result<Redirect, PaymentsError> {
    let tx = db.tenant(ctx).await?;
    let account = aqueduct_billing::accounts::get(&tx, req.account).await?;
    let acct = connect::chargeable(&tx).await?;
    let amount = match req.amount {
        Some(m) => m.cents,
        None => ledger::amount_due(&tx, req.account).await?.cents,
    };
    if req.amount.is_none() && amount <= 0 {
        return Err(PaymentsError::Invalid(
            "nothing is due on this account; give an amount to pay ahead".into(),
        ));
    }
    if !(MIN_CENTS..=MAX_CENTS).contains(&amount) {
        return Err(PaymentsError::Invalid(format!(
            "a payment is between {} and {}",
            Money::usd(MIN_CENTS),
            Money::usd(MAX_CENTS)
        )));
    }
    let fee = fees::platform_fee(&tx).await?.on(amount);
    let convenience = fees::convenience_fees(&tx).await?.on(amount, method)?;
    let total = amount + convenience;
    let now = clock.now();
    let id = PaymentId::new();
    let row = payment::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(id.uuid()),
        account_id: Set(req.account.uuid()),
        idempotency_key: Set(req.idempotency_key.clone()),
        amount_cents: Set(total),
        application_fee_cents: Set(fee),
        convenience_fee_cents: Set(convenience),
        currency: Set("usd".into()),
        status: Set(status::PENDING.into()),
        method: Set(None),
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
    // Two clicks with one key: the unique key makes one row, not a check.
    payment::Entity::insert(row)
        .on_conflict_do_nothing_on([payment::Column::TenantId, payment::Column::IdempotencyKey])
        .exec_without_returning(tx.conn())
        .await?;
    let pay = scoped::<payment::Entity>(&tx)
        .filter(payment::Column::IdempotencyKey.eq(req.idempotency_key.as_str()))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)?;
    tx.commit().await?;
    if pay.account_id != req.account.uuid()
        || pay.amount_cents != total
        || pay.convenience_fee_cents != convenience
    {
        return Err(PaymentsError::Conflict(
            "this Idempotency-Key was used for a different payment".into(),
        ));
    }
    let payment_id = PaymentId::from_uuid(pay.id);
    let quote = Quote {
        amount_cents: pay.amount_cents - pay.convenience_fee_cents,
        convenience_fee_cents: pay.convenience_fee_cents,
        total_cents: pay.amount_cents,
        method,
    };
    if let Some(url) = pay.checkout_url {
        return Ok(Redirect {
            payment: payment_id,
            url,
            quote,
        });
    }
    if pay.status != status::PENDING {
        return Err(PaymentsError::Conflict(
            "this payment is already under way".into(),
        ));
    }

    let meta: HashMap<String, String> = [
        ("aqueduct_payment_id".to_owned(), payment_id.to_string()),
        ("aqueduct_tenant_id".to_owned(), ctx.id().to_string()),
    ]
    .into();
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
    price.unit_amount = Some(quote.amount_cents);
    price.product_data = Some(ProductData::new(format!(
        "{}: payment on account {}",
        ctx.name(),
        account.account_number
    )));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(1);
    let mut items = vec![item];
    if quote.convenience_fee_cents > 0 {
        // Its own line on Stripe's page too: disclosed before paying.
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
        price.unit_amount = Some(quote.convenience_fee_cents);
        price.product_data = Some(ProductData::new("Convenience fee for paying online"));
        let mut fee_item = CreateCheckoutSessionLineItems::new();
        fee_item.price_data = Some(price);
        fee_item.quantity = Some(1);
        items.push(fee_item);
    }
    let mut intent = CreateCheckoutSessionPaymentIntentData::new();
    if pay.application_fee_cents > 0 {
        intent.application_fee_amount = Some(pay.application_fee_cents);
    }
    intent.metadata = Some(meta.clone());
    let back = format!("{}/{}/pay/{}", stripe.public_url, ctx.slug(), payment_id);
    let mut session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(items)
        .payment_intent_data(intent)
        .metadata(meta)
        .client_reference_id(payment_id.to_string())
        .success_url(format!("{back}/done?session={{CHECKOUT_SESSION_ID}}"))
        .cancel_url(back);
    if let Some(m) = method {
        session = session.allowed_payment_method_types(vec![match m {
            PayMethod::Card => CreateCheckoutSessionAllowedPaymentMethodTypes::Card,
            PayMethod::UsBankAccount => {
                CreateCheckoutSessionAllowedPaymentMethodTypes::UsBankAccount
            }
        }]);
    }
    let session = session
        .customize()
        .account_id(acct.stripe_account_id.as_str().into())
        .request_strategy(key(&format!("aqueduct-checkout-{payment_id}"))?)
        .send(&stripe.client)
        .await
        .map_err(stripe_err)?;
    let url = session
        .url
        .clone()
        .ok_or_else(|| PaymentsError::Stripe("Checkout Session without a url".into()))?;
    let tx = db.tenant(ctx).await?;
    payment::Entity::update_many()
        .col_expr(
            payment::Column::CheckoutSessionId,
            Expr::value(session.id.as_str()),
        )
        .col_expr(payment::Column::CheckoutUrl, Expr::value(url.as_str()))
        .col_expr(payment::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(payment::Column::TenantId.eq(ctx.id().uuid()))
        .filter(payment::Column::Id.eq(payment_id.uuid()))
        .filter(payment::Column::CheckoutSessionId.is_null())
        .exec(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(Redirect {
        payment: payment_id,
        url,
        quote,
    })
}

/// One payment.
pub async fn get(tx: &TenantTx, id: PaymentId) -> Result<payment::Model, PaymentsError> {
    scoped::<payment::Entity>(tx)
        .filter(payment::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(PaymentsError::NotFound)
}

/// An account's payments, newest first.
pub async fn for_account(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<payment::Model>, PaymentsError> {
    Ok(scoped::<payment::Entity>(tx)
        .filter(payment::Column::AccountId.eq(account.uuid()))
        .order_by_desc(payment::Column::Id)
        .all(tx.conn())
        .await?)
}

/// Whether the account has a bank payment processing (late fees skip it).
pub async fn has_processing(tx: &TenantTx, account: AccountId) -> Result<bool, PaymentsError> {
    Ok(scoped::<payment::Entity>(tx)
        .filter(payment::Column::AccountId.eq(account.uuid()))
        .filter(payment::Column::Status.eq(status::PROCESSING))
        .one(tx.conn())
        .await?
        .is_some())
}

/// Records a payment attempt without Stripe (seeding and tests).
pub async fn record_pending(
    db: &Db,
    ctx: &TenantCtx,
    clock: &dyn Clock,
    account: AccountId,
    amount: Money,
    idempotency_key: &str,
) -> Result<PaymentId, PaymentsError> {
    let tx = db.tenant_with(ctx, Access::Write).await?;
    aqueduct_billing::accounts::get(&tx, account).await?;
    let id = PaymentId::new();
    let now = clock.now();
    let res = payment::Entity::insert(payment::ActiveModel {
        tenant_id: Set(ctx.id().uuid()),
        id: Set(id.uuid()),
        account_id: Set(account.uuid()),
        idempotency_key: Set(idempotency_key.to_owned()),
        amount_cents: Set(amount.cents),
        application_fee_cents: Set(0),
        convenience_fee_cents: Set(0),
        currency: Set("usd".into()),
        status: Set(status::PENDING.into()),
        method: Set(None),
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
    })
    .on_conflict_do_nothing_on([payment::Column::TenantId, payment::Column::IdempotencyKey])
    .exec_without_returning(tx.conn())
    .await?;
    if !matches!(res, TryInsertResult::Inserted(n) if n > 0) {
        return Err(PaymentsError::Conflict(
            "idempotency key already used".into(),
        ));
    }
    tx.commit().await?;
    Ok(id)
}
