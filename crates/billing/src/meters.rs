//! Meters.

use crate::entity::meter;
use crate::error::{BillingError, unique_or};
use crate::locations;
use aqueduct_core::{AccountId, LocationId, MeterId};
use aqueduct_tenant::{TenantTx, scoped};
use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};

/// Meter sizes in common US use.
pub const SIZES: &[&str] = &[
    "5/8\"", "3/4\"", "1\"", "1.5\"", "2\"", "3\"", "4\"", "6\"", "8\"",
];

/// Register units.
pub const UNITS: &[&str] = &["gallons", "cubic_feet", "ccf", "m3"];

/// A validated new meter.
#[derive(Debug, Clone)]
pub struct NewMeter {
    /// Location it is installed at.
    pub location: LocationId,
    /// Serial.
    pub serial: String,
    /// One of [`SIZES`].
    pub size: String,
    /// One of [`UNITS`].
    pub unit: String,
    /// Register digits, 3–10.
    pub register_digits: i16,
    /// Multiplier ≥ 1.
    pub multiplier: i32,
    /// Install date.
    pub installed_on: NaiveDate,
}

/// Installs a meter.
pub async fn create(tx: &TenantTx, new: NewMeter) -> Result<meter::Model, BillingError> {
    if !SIZES.contains(&new.size.as_str()) {
        return Err(BillingError::Invalid(format!(
            "unknown meter size {:?}",
            new.size
        )));
    }
    if !UNITS.contains(&new.unit.as_str()) {
        return Err(BillingError::Invalid(format!(
            "unknown unit {:?}",
            new.unit
        )));
    }
    if !(3..=10).contains(&new.register_digits) || new.multiplier < 1 {
        return Err(BillingError::Invalid(
            "register digits are 3 to 10 and the multiplier at least 1".into(),
        ));
    }
    let serial = new.serial.trim();
    if serial.is_empty() || serial.len() > 64 {
        return Err(BillingError::Invalid("serial is 1 to 64 characters".into()));
    }
    let model = meter::ActiveModel {
        tenant_id: Set(tx.tenant_id().uuid()),
        id: Set(MeterId::new().uuid()),
        location_id: Set(new.location.uuid()),
        serial: Set(serial.to_owned()),
        size: Set(new.size),
        unit: Set(new.unit),
        register_digits: Set(new.register_digits),
        multiplier: Set(new.multiplier),
        installed_on: Set(new.installed_on),
        removed_on: Set(None),
        status: Set("active".to_owned()),
    };
    model.insert(tx.conn()).await.map_err(|e| {
        unique_or(
            e,
            &["uq_meters_serial", "meters.serial"],
            BillingError::MeterSerialTaken,
        )
    })
}

/// One meter.
pub async fn get(tx: &TenantTx, id: MeterId) -> Result<meter::Model, BillingError> {
    scoped::<meter::Entity>(tx)
        .filter(meter::Column::Id.eq(id.uuid()))
        .one(tx.conn())
        .await?
        .ok_or(BillingError::NotFound)
}

/// The meters at the locations an account currently occupies.
pub async fn for_account(
    tx: &TenantTx,
    account: AccountId,
) -> Result<Vec<meter::Model>, BillingError> {
    let locations = locations::current_for_account(tx, account).await?;
    if locations.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scoped::<meter::Entity>(tx)
        .filter(meter::Column::LocationId.is_in(locations))
        .order_by_asc(meter::Column::Serial)
        .all(tx.conn())
        .await?)
}

/// The meter with this serial, if any.
pub async fn by_serial(tx: &TenantTx, serial: &str) -> Result<Option<meter::Model>, BillingError> {
    Ok(scoped::<meter::Entity>(tx)
        .filter(meter::Column::Serial.eq(serial.trim()))
        .one(tx.conn())
        .await?)
}
