//! Service locations and who occupies them.

use crate::entity::{occupancy, service_location};
use crate::error::BillingError;
use aqueduct_core::{AccountId, Clock, LocationId};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter};
use uuid::Uuid;

/// A validated new service location.
#[derive(Debug, Clone)]
pub struct NewLocation {
    /// Street address.
    pub address_line1: String,
    /// Unit, lot.
    pub address_line2: Option<String>,
    /// City.
    pub city: String,
    /// State, 2 letters.
    pub state: String,
    /// ZIP (5 or 9 digits, `12345` or `12345-6789`).
    pub postal_code: String,
    /// Meter-reading route.
    pub route: Option<String>,
    /// Position in the route.
    pub sequence: Option<i32>,
}

/// Checks a US ZIP code.
pub fn validate_zip(zip: &str) -> Result<(), BillingError> {
    let b = zip.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let ok = (b.len() == 5 && digits(b))
        || (b.len() == 10 && digits(&b[..5]) && b[5] == b'-' && digits(&b[6..]));
    if ok {
        Ok(())
    } else {
        Err(BillingError::Invalid(format!("not a ZIP code: {zip:?}")))
    }
}

/// Creates a location.
pub async fn create(
    tx: &TenantTx,
    clock: &dyn Clock,
    new: NewLocation,
) -> Result<service_location::Model, BillingError> {
    validate_zip(&new.postal_code)?;
    if new.state.len() != 2 || !new.state.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(BillingError::Invalid(format!(
            "state {:?}: use the 2-letter code",
            new.state
        )));
    }
    if new.address_line1.trim().is_empty() || new.city.trim().is_empty() {
        return Err(BillingError::Invalid("street and city are required".into()));
    }
    let model = service_location::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(LocationId::new().uuid()),
        address_line1: Set(new.address_line1.trim().to_owned()),
        address_line2: Set(new.address_line2),
        city: Set(new.city.trim().to_owned()),
        state: Set(new.state),
        postal_code: Set(new.postal_code),
        route: Set(new.route),
        sequence: Set(new.sequence),
        status: Set("active".to_owned()),
        created_at: Set(clock.now()),
    };
    Ok(model.insert(tx.conn()).await?)
}

/// One location.
pub async fn get(tx: &TenantTx, id: LocationId) -> Result<service_location::Model, BillingError> {
    scoped::<service_location::Entity>(tx)
        .filter(service_location::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// Starts an occupancy: `account` receives service at `location` from `on`.
/// Both must belong to the transaction's association (the composite foreign
/// keys refuse anything else).
pub async fn move_in(
    tx: &TenantTx,
    account: AccountId,
    location: LocationId,
    on: NaiveDate,
) -> Result<occupancy::Model, BillingError> {
    let model = occupancy::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(Uuid::now_v7()),
        account_id: Set(account.uuid()),
        location_id: Set(location.uuid()),
        starts_on: Set(on),
        ends_on: Set(None),
    };
    Ok(model.insert(tx.conn()).await?)
}

/// The locations an account currently occupies.
pub async fn current_for_account(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<Uuid>, BillingError> {
    Ok(scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::AccountId.eq(account.uuid()))
        .filter(occupancy::Column::EndsOn.is_null())
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|o| o.location_id)
        .collect())
}

/// Finds the account that a person proves they hold by giving its account
/// number and the ZIP code of a location it is (or was last) served at —
/// the check behind guest payment and linking an account to a customer
/// login. Only the first five digits of the ZIP are compared; `None` when
/// the number is unknown, malformed, or the ZIP does not match (callers
/// answer all three the same way, so the response never tells which).
pub async fn match_account_and_zip(
    tx: &TenantTx,
    number: &str,
    zip: &str,
) -> Result<Option<crate::entity::account::Model>, BillingError> {
    use crate::entity::account;
    let Ok(number) = crate::accounts::AccountNumber::parse(number) else {
        return Ok(None);
    };
    let zip5: String = zip.trim().chars().take(5).collect();
    if zip5.len() != 5 || !zip5.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Some(acct) = scoped::<account::Entity>(tx)
        .filter(account::Column::AccountNumber.eq(number.as_str()))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let location_ids: Vec<Uuid> = scoped::<occupancy::Entity>(tx)
        .filter(occupancy::Column::AccountId.eq(acct.id))
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|o| o.location_id)
        .collect();
    if location_ids.is_empty() {
        return Ok(None);
    }
    let matched = scoped::<service_location::Entity>(tx)
        .filter(service_location::Column::Id.is_in(location_ids))
        .all(tx.conn())
        .await?
        .iter()
        .any(|l| l.postal_code.get(..5) == Some(zip5.as_str()));
    Ok(matched.then_some(acct))
}
