//! What happens to money: payment methods, charge attempts, fees, balance transactions,
//! refunds, disputes, payouts. Every function works on the locked [`Store`].

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::store::Store;

mod disputes;
mod intents;
mod payouts;
mod refunds;

pub use disputes::{close_dispute, open_dispute};
pub use intents::{NewIntent, confirm, confirm_as, new_intent, schedule_settle, settle};
pub use payouts::{available, payout};
pub use refunds::{charge_for, refund};

/// Where a pending "fail the next off-session charge" control is kept.
pub fn fail_next_key(owner: Option<&str>) -> String {
    format!("fail_next_off_session:{}", owner.unwrap_or("platform"))
}

/// Stripe's card fee: 2.9% + 30¢, rounded half up, in minor units.
pub fn card_fee(amount: i64) -> i64 {
    (amount * 29 + 500) / 1000 + 30
}

/// Stripe's ACH Direct Debit fee: 0.8%, capped at $5.00.
pub fn ach_fee(amount: i64) -> i64 {
    ((amount * 8 + 500) / 1000).min(500)
}

/// Stripe's dispute fee ($15.00).
pub const DISPUTE_FEE: i64 = 1500;

/// `$12.34` (`-$16.75` below zero) for error messages.
pub fn dollars(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}${}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod money_tests {
    #[test]
    fn dollars_read_like_stripe() {
        assert_eq!(super::dollars(1234), "$12.34");
        assert_eq!(super::dollars(5), "$0.05");
        assert_eq!(super::dollars(-1675), "-$16.75");
    }
}

/// What a payment method does when charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// The charge succeeds.
    Succeed,
    /// Declined: `generic_decline`.
    Decline,
    /// Declined: `insufficient_funds`.
    InsufficientFunds,
    /// Declined off-session: `authentication_required` (the bank wants 3-D Secure).
    AuthenticationRequired,
    /// Bank debit: processing, then succeeds.
    BankSucceed,
    /// Bank debit: processing, then fails.
    BankFail,
}

impl Behavior {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeed => "succeed",
            Self::Decline => "decline",
            Self::InsufficientFunds => "insufficient_funds",
            Self::AuthenticationRequired => "authentication_required",
            Self::BankSucceed => "bank_succeed",
            Self::BankFail => "bank_fail",
        }
    }

    /// The failure a `/_sim/accounts/{id}/fail_next_off_session` control asks for.
    pub fn forced_failure(code: &str) -> Option<Self> {
        match code {
            "card_declined" | "generic_decline" => Some(Self::Decline),
            "insufficient_funds" => Some(Self::InsufficientFunds),
            "authentication_required" => Some(Self::AuthenticationRequired),
            _ => None,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "decline" => Self::Decline,
            "insufficient_funds" => Self::InsufficientFunds,
            "authentication_required" => Self::AuthenticationRequired,
            "bank_succeed" => Self::BankSucceed,
            "bank_fail" => Self::BankFail,
            _ => Self::Succeed,
        }
    }

    fn is_bank(self) -> bool {
        matches!(self, Self::BankSucceed | Self::BankFail)
    }
}

pub(crate) fn billing_details(email: Option<&str>) -> Value {
    json!({"address": null, "email": email, "name": null, "phone": null, "tax_id": null})
}

/// Creates a payment method (card `4242`/`0002`/`9995`, or a test bank account).
pub fn new_payment_method(
    store: &mut Store,
    owner: Option<&str>,
    customer: Option<&str>,
    behavior: Behavior,
) -> Value {
    let id = new_id("pm");
    let mut pm = json!({
        "id": id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(None),
        "created": now(),
        "customer": customer,
        "livemode": false,
        "metadata": {},
    });
    if behavior.is_bank() {
        pm["type"] = json!("us_bank_account");
        pm["us_bank_account"] = json!({
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "financial_connections_account": null,
            "fingerprint": new_id("fp"),
            "last4": if behavior == Behavior::BankSucceed { "6789" } else { "1116" },
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": "110000000",
            "status_details": null,
        });
    } else {
        let last4 = match behavior {
            Behavior::Decline => "0002",
            Behavior::InsufficientFunds => "9995",
            _ => "4242",
        };
        pm["type"] = json!("card");
        pm["card"] = json!({
            "brand": "visa",
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": "US",
            "display_brand": "visa",
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": new_id("fp"),
            "funding": "credit",
            "generated_from": null,
            "last4": last4,
            "networks": {"available": ["visa"], "preferred": null},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": true},
            "wallet": null,
        });
    }
    store
        .internal
        .insert(id, json!({"behavior": behavior.as_str()}));
    store.insert(owner, pm)
}

/// Resolves a `payment_method` parameter: Stripe's test ids (`pm_card_visa`,
/// `pm_card_chargeDeclined`, `pm_card_visa_chargeDeclined`,
/// `pm_card_chargeDeclinedInsufficientFunds`, `pm_usBankAccount_success`,
/// `pm_usBankAccount_insufficientFunds`) create a fresh method; anything else must exist.
pub fn resolve_payment_method(
    store: &mut Store,
    owner: Option<&str>,
    param: &str,
) -> Result<String, ApiError> {
    let test = match param {
        "pm_card_visa" | "pm_card_mastercard" => Some(Behavior::Succeed),
        "pm_card_chargeDeclined" | "pm_card_visa_chargeDeclined" => Some(Behavior::Decline),
        "pm_card_chargeDeclinedInsufficientFunds" => Some(Behavior::InsufficientFunds),
        "pm_usBankAccount_success" => Some(Behavior::BankSucceed),
        "pm_usBankAccount_insufficientFunds" => Some(Behavior::BankFail),
        _ => None,
    };
    if let Some(b) = test {
        let pm = new_payment_method(store, owner, None, b);
        return Ok(pm["id"].as_str().unwrap_or_default().to_owned());
    }
    store.get(
        owner,
        "payment_method",
        param,
        "PaymentMethod",
        "payment_method",
    )?;
    Ok(param.to_owned())
}

/// Records that `pm` was detached from its Customer (it may not be used again).
pub(crate) fn mark_detached(store: &mut Store, pm: &str) {
    if let Some(Value::Object(m)) = store.internal.get_mut(pm) {
        m.insert("detached".into(), json!(true));
    } else {
        store
            .internal
            .insert(pm.to_owned(), json!({"detached": true}));
    }
}

/// Whether `pm` was detached from its Customer.
pub(crate) fn is_detached(store: &Store, pm: &str) -> bool {
    store
        .internal
        .get(pm)
        .is_some_and(|v| v["detached"] == true)
}

pub(crate) fn behavior_of(store: &Store, pm: &str) -> Behavior {
    store
        .internal
        .get(pm)
        .and_then(|v| v["behavior"].as_str())
        .map_or(Behavior::Succeed, Behavior::parse)
}

pub(crate) fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

pub(crate) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Adds a balance transaction on `owner`'s balance and returns it.
#[expect(
    clippy::too_many_arguments,
    reason = "a balance transaction has this many parts"
)]
pub fn new_txn(
    store: &mut Store,
    owner: Option<&str>,
    kind: &str,
    category: &str,
    amount: i64,
    fees: &[(&str, i64, &str)],
    currency: &str,
    source: Option<&str>,
    description: Option<&str>,
) -> Value {
    let fee: i64 = fees.iter().map(|f| f.1).sum();
    let created = now();
    let fee_details: Vec<Value> = fees
        .iter()
        .map(|(t, a, d)| json!({"amount": a, "application": null, "currency": currency, "description": d, "type": t}))
        .collect();
    let txn = json!({
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": null,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available",
        "type": kind,
    });
    store.insert(owner, txn)
}
