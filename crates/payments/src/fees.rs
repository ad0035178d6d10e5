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
}
