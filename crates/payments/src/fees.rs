//! The platform's application fee: a percentage (basis points) plus a fixed
//! part, per association, never more than the payment.

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
