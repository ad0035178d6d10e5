//! The platform's application fee: a percentage (basis points) plus a fixed
//! part, per association (set by operators, `payment_settings`), never more
//! than the payment.

use crate::PaymentsError;
use crate::entity::payment_settings;
use aqueduct_core::Clock;
use aqueduct_tenant::{TenantTx, scoped};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Serialize;

/// An association's platform fee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlatformFee {
    /// Percentage part in basis points (0–10000).
    pub basis_points: i32,
    /// Fixed part in cents.
    pub fixed_cents: i64,
}

impl PlatformFee {
    /// The fee on `amount` cents.
    pub fn on(&self, amount: i64) -> i64 {
        application_fee(amount, self.basis_points, self.fixed_cents)
    }
}

/// The association's platform fee (zero until an operator sets one).
pub async fn platform_fee(tx: &TenantTx) -> Result<PlatformFee, PaymentsError> {
    Ok(scoped::<payment_settings::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(|s| PlatformFee {
            basis_points: s.platform_fee_basis_points,
            fixed_cents: s.platform_fee_fixed_cents,
        })
        .unwrap_or_default())
}

/// Sets the association's platform fee (operators; the caller audits).
/// Returns the previous fee.
pub async fn set_platform_fee(
    tx: &TenantTx,
    clock: &dyn Clock,
    fee: PlatformFee,
) -> Result<PlatformFee, PaymentsError> {
    if !(0..=10_000).contains(&fee.basis_points) || fee.fixed_cents < 0 {
        return Err(PaymentsError::Invalid(
            "the fee is 0 to 10000 basis points plus a non-negative fixed amount".into(),
        ));
    }
    let before = platform_fee(tx).await?;
    let now = clock.now();
    payment_settings::Entity::insert(payment_settings::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        platform_fee_basis_points: Set(fee.basis_points),
        platform_fee_fixed_cents: Set(fee.fixed_cents),
        card_fee_basis_points: Set(0),
        card_fee_fixed_cents: Set(0),
        bank_fee_basis_points: Set(0),
        bank_fee_fixed_cents: Set(0),
        autopay_days_before: sea_orm::ActiveValue::NotSet,
        autopay_notice_days: sea_orm::ActiveValue::NotSet,
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(payment_settings::Column::TenantId)
            .update_columns([
                payment_settings::Column::PlatformFeeBasisPoints,
                payment_settings::Column::PlatformFeeFixedCents,
                payment_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    Ok(before)
}

/// Fee in cents for `amount` cents: `fixed + round_half_up(amount × bps / 10000)`,
/// capped at the amount.
pub fn application_fee(amount: i64, basis_points: i32, fixed_cents: i64) -> i64 {
    let pct = (i128::from(amount) * i128::from(basis_points) + 5_000) / 10_000;
    let fee = i128::from(fixed_cents.max(0)) + pct.max(0);
    i64::try_from(fee.min(i128::from(amount))).unwrap_or(amount)
}

/// How the customer pays, for the convenience fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayMethod {
    /// Card (and wallets on top of cards).
    Card,
    /// US bank account (ACH debit).
    UsBankAccount,
}

impl PayMethod {
    /// Stripe's payment method type name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayMethod::Card => "card",
            PayMethod::UsBankAccount => "us_bank_account",
        }
    }

    /// Parses `card` / `us_bank_account`.
    pub fn parse(s: &str) -> Result<Self, PaymentsError> {
        match s {
            "card" => Ok(PayMethod::Card),
            "us_bank_account" => Ok(PayMethod::UsBankAccount),
            _ => Err(PaymentsError::Invalid(
                "method is card or us_bank_account".into(),
            )),
        }
    }
}

/// A fee rate: a percentage (basis points) plus a fixed part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeeRate {
    /// Percentage part in basis points.
    pub basis_points: i32,
    /// Fixed part in cents.
    pub fixed_cents: i64,
}

impl FeeRate {
    /// The fee on `amount` cents (never more than the amount).
    pub fn on(&self, amount: i64) -> i64 {
        application_fee(amount, self.basis_points, self.fixed_cents)
    }
}

/// Largest convenience fee rate accepted: 10% …
pub const MAX_CONVENIENCE_BASIS_POINTS: i32 = 1_000;
/// … plus at most $50.
pub const MAX_CONVENIENCE_FIXED_CENTS: i64 = 5_000;

/// The association's convenience fee by payment method (zero: off, the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvenienceFees {
    /// On card payments.
    pub card: FeeRate,
    /// On bank (ACH) payments.
    pub us_bank_account: FeeRate,
}

impl ConvenienceFees {
    /// The rate for `method`.
    pub fn rate(&self, method: PayMethod) -> FeeRate {
        match method {
            PayMethod::Card => self.card,
            PayMethod::UsBankAccount => self.us_bank_account,
        }
    }

    /// The fee on `amount` paid by `method`; without a method (the customer
    /// picks on Stripe's page), only when both methods cost the same.
    pub fn on(&self, amount: i64, method: Option<PayMethod>) -> Result<i64, PaymentsError> {
        match method {
            Some(m) => Ok(self.rate(m).on(amount)),
            None => {
                let (card, bank) = (self.card.on(amount), self.us_bank_account.on(amount));
                if card == bank {
                    Ok(card)
                } else {
                    Err(PaymentsError::Invalid(
                        "choose a payment method (card or us_bank_account): the convenience fee differs by method".into(),
                    ))
                }
            }
        }
    }
}

/// The association's convenience fees (off until its admin sets them).
pub async fn convenience_fees(tx: &TenantTx) -> Result<ConvenienceFees, PaymentsError> {
    Ok(scoped::<payment_settings::Entity>(tx)
        .one(tx.conn())
        .await?
        .map(|s| ConvenienceFees {
            card: FeeRate {
                basis_points: s.card_fee_basis_points,
                fixed_cents: s.card_fee_fixed_cents,
            },
            us_bank_account: FeeRate {
                basis_points: s.bank_fee_basis_points,
                fixed_cents: s.bank_fee_fixed_cents,
            },
        })
        .unwrap_or_default())
}

/// Sets the association's convenience fees (its admin; the caller audits).
/// Returns the previous ones.
pub async fn set_convenience_fees(
    tx: &TenantTx,
    clock: &dyn Clock,
    fees: ConvenienceFees,
) -> Result<ConvenienceFees, PaymentsError> {
    for r in [fees.card, fees.us_bank_account] {
        if !(0..=MAX_CONVENIENCE_BASIS_POINTS).contains(&r.basis_points)
            || !(0..=MAX_CONVENIENCE_FIXED_CENTS).contains(&r.fixed_cents)
        {
            return Err(PaymentsError::Invalid(format!(
                "a convenience fee is 0 to {MAX_CONVENIENCE_BASIS_POINTS} basis points plus 0 to {MAX_CONVENIENCE_FIXED_CENTS} cents"
            )));
        }
    }
    let before = convenience_fees(tx).await?;
    let now = clock.now();
    payment_settings::Entity::insert(payment_settings::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(uuid::Uuid::now_v7()),
        platform_fee_basis_points: Set(0),
        platform_fee_fixed_cents: Set(0),
        card_fee_basis_points: Set(fees.card.basis_points),
        card_fee_fixed_cents: Set(fees.card.fixed_cents),
        bank_fee_basis_points: Set(fees.us_bank_account.basis_points),
        bank_fee_fixed_cents: Set(fees.us_bank_account.fixed_cents),
        autopay_days_before: sea_orm::ActiveValue::NotSet,
        autopay_notice_days: sea_orm::ActiveValue::NotSet,
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(payment_settings::Column::TenantId)
            .update_columns([
                payment_settings::Column::CardFeeBasisPoints,
                payment_settings::Column::CardFeeFixedCents,
                payment_settings::Column::BankFeeBasisPoints,
                payment_settings::Column::BankFeeFixedCents,
                payment_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(tx.conn())
    .await?;
    Ok(before)
}

/// The convenience fee part of a refund of `refund` cents, so that the
/// parts of all refunds add up to the whole fee when everything is refunded:
/// `round(fee × after / total) − round(fee × before / total)`.
pub fn convenience_fee_refunded(fee: i64, total: i64, refunded_before: i64, refund: i64) -> i64 {
    if fee <= 0 || total <= 0 {
        return 0;
    }
    let share = |refunded: i64| {
        let r = i128::from(refunded.clamp(0, total));
        i64::try_from((i128::from(fee) * r * 2 + i128::from(total)) / (2 * i128::from(total)))
            .unwrap_or(fee)
    };
    share(refunded_before + refund) - share(refunded_before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_half_up_and_cap() {
        assert_eq!(application_fee(10_000, 0, 0), 0);
        assert_eq!(application_fee(10_000, 100, 25), 125);
        assert_eq!(application_fee(150, 100, 0), 2); // 1.5 → 2
        assert_eq!(application_fee(149, 100, 0), 1);
        assert_eq!(application_fee(100, 0, 500), 100);
    }

    #[test]
    fn convenience_fee_refunds_add_up() {
        // $100 + 3% fee = $103; refunded in three parts.
        let (fee, total) = (300, 10_300);
        let parts = [
            convenience_fee_refunded(fee, total, 0, 3_333),
            convenience_fee_refunded(fee, total, 3_333, 3_333),
            convenience_fee_refunded(fee, total, 6_666, 3_634),
        ];
        assert_eq!(parts.iter().sum::<i64>(), fee);
        assert_eq!(parts[0], 97);
        assert_eq!(convenience_fee_refunded(fee, total, 0, total), fee);
        assert_eq!(convenience_fee_refunded(0, total, 0, total), 0);
        let both = ConvenienceFees {
            card: FeeRate {
                basis_points: 300,
                fixed_cents: 0,
            },
            us_bank_account: FeeRate::default(),
        };
        assert_eq!(both.on(10_000, Some(PayMethod::Card)).unwrap(), 300);
        assert_eq!(both.on(10_000, Some(PayMethod::UsBankAccount)).unwrap(), 0);
        assert!(both.on(10_000, None).is_err());
        assert_eq!(ConvenienceFees::default().on(10_000, None).unwrap(), 0);
    }
}
