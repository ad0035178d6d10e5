//! Seeds an association with one object of every kind, through the same
//! domain functions the product uses.

use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_core::{AccountId, Clock, InvitationId, LocationId, MeterId, Secret, Slug, UserId};
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::{Db, Role, TenantCtx, TenantStatus, api_keys, staff, users};
use chrono::NaiveDate;

/// One seeded association.
#[derive(Debug)]
pub struct Seeded {
    /// The association.
    pub tenant: TenantCtx,
    /// Admin key.
    pub admin_key: Secret,
    /// Viewer key.
    pub viewer_key: Secret,
    /// An account (holder name carries `marker`).
    pub account: AccountId,
    /// Its location.
    pub location: LocationId,
    /// Its meter.
    pub meter: MeterId,
    /// A string that appears only in this tenant's data.
    pub marker: String,
    /// A staff member (viewer).
    pub staff_user: UserId,
    /// A pending staff invitation.
    pub invitation: InvitationId,
}

impl Seeded {
    /// The id of this tenant's object for a route parameter name. Every
    /// path parameter of every tenant route must be known here; a new kind
    /// of object adds its line.
    pub fn id_for(&self, param: &str) -> String {
        match param {
            "account_id" => self.account.to_string(),
            "location_id" => self.location.to_string(),
            "meter_id" => self.meter.to_string(),
            "user_id" => self.staff_user.to_string(),
            "invitation_id" => self.invitation.to_string(),
            other => panic!(
                "route parameter {{{other}}} has no fixture: add one to tests/suite/support/seed.rs"
            ),
        }
    }
}

/// Creates association `slug` with an account, a location, a meter and keys.
pub async fn tenant(db: &Db, clock: &dyn Clock, slug: &str) -> Seeded {
    let marker = format!(
        "CANARY-{}-{}",
        slug.to_uppercase(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ctx = directory::create(
        db,
        clock,
        NewTenant {
            slug: Slug::parse(slug).unwrap(),
            name: format!("{slug} water association"),
            time_zone: "America/Chicago".into(),
            status: TenantStatus::Active,
        },
    )
    .await
    .unwrap();
    let tx = db.tenant(&ctx).await.unwrap();
    let opened = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let location = locations::create(
        &tx,
        clock,
        NewLocation {
            address_line1: format!("1 {marker} St"),
            address_line2: None,
            city: "Springfield".into(),
            state: "IL".into(),
            postal_code: "62701".into(),
            route: Some("R1".into()),
            sequence: Some(10),
        },
    )
    .await
    .unwrap();
    let account = accounts::create(
        &tx,
        clock,
        NewAccount {
            number: AccountNumber::parse("100-1").unwrap(),
            holder_name: format!("Holder {marker}"),
            email: Some(format!("{}@example.com", marker.to_lowercase())),
            phone: None,
            mailing: None,
            opened_on: opened,
            paperless: false,
        },
    )
    .await
    .unwrap();
    let account_id = AccountId::from_uuid(account.id);
    let location_id = LocationId::from_uuid(location.id);
    locations::move_in(&tx, account_id, location_id, opened)
        .await
        .unwrap();
    let meter = meters::create(
        &tx,
        NewMeter {
            location: location_id,
            serial: format!("SN-{marker}"),
            size: "5/8\"".into(),
            unit: "gallons".into(),
            register_digits: 6,
            multiplier: 1,
            installed_on: opened,
        },
    )
    .await
    .unwrap();
    let (_, admin_key) = api_keys::create(&tx, clock, "admin", Role::Admin)
        .await
        .unwrap();
    let (_, viewer_key) = api_keys::create(&tx, clock, "viewer", Role::Viewer)
        .await
        .unwrap();
    let staff_user = users::ensure_staff(
        &tx,
        clock,
        &format!("staff@{slug}.test"),
        "Seeded Staff",
        Role::Viewer,
    )
    .await
    .unwrap();
    let (invitation, _) = staff::invite(
        &tx,
        clock,
        "seed",
        &format!("invitee@{slug}.test"),
        Role::Clerk,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Seeded {
        tenant: ctx,
        admin_key,
        viewer_key,
        account: account_id,
        location: location_id,
        meter: MeterId::from_uuid(meter.id),
        marker,
        staff_user,
        invitation: invitation.id,
    }
}
