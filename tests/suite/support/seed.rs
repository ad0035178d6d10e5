//! Seeds an association with one object of every kind, through the same
//! domain functions the product uses.

use aqueduct_billing::accounts::{self, AccountNumber, NewAccount};
use aqueduct_billing::bill_runs::{self, FinalizeOptions, NewRun};
use aqueduct_billing::ledger::{self, EntryKind, NewEntry};
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_billing::reads::{self, NewRead, ReadSource};
use aqueduct_billing::{bills, rates};
use aqueduct_core::{
    AccountId, BillId, BillRunId, Clock, InvitationId, LedgerEntryId, LocationId, MeterId, Money,
    RateScheduleId, Secret, Slug, UserId,
};
use aqueduct_rates::RateSchedule;
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
    /// A payment attempt on the account.
    pub payment: aqueduct_core::PaymentId,
    /// A rate schedule.
    pub schedule: RateScheduleId,
    /// A finalized bill run (October 2026).
    pub run: BillRunId,
    /// The account's bill from that run.
    pub bill: BillId,
    /// A ledger entry (a charge on the account).
    pub entry: LedgerEntryId,
    /// A string that appears only in this tenant's data.
    pub marker: String,
    /// A staff member (viewer).
    pub staff_user: UserId,
    /// A pending staff invitation.
    pub invitation: InvitationId,
    /// A queued notification to the account's holder (carries `marker`).
    pub notification: uuid::Uuid,
    /// A payout (in transit) on the association's Stripe account.
    pub payout: uuid::Uuid,
    /// The viewer key's id.
    pub viewer_key_id: aqueduct_core::ApiKeyId,
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
            "payment_id" => self.payment.to_string(),
            "entry_id" => self.entry.to_string(),
            // A ledger entry id too (a deposit refund's entry). The seeded
            // association has no move-out, so this is its charge: another
            // association's id must answer 404 whatever its kind. The
            // cross-tenant harness also probes a real refund
            // (`deposit_refund_routes_refuse_another_tenants_refund`).
            "refund_id" => self.entry.to_string(),
            "schedule_id" => self.schedule.to_string(),
            "run_id" => self.run.to_string(),
            "bill_id" => self.bill.to_string(),
            "user_id" => self.staff_user.to_string(),
            "invitation_id" => self.invitation.to_string(),
            "notification_id" => self.notification.to_string(),
            "payout_id" => self.payout.to_string(),
            "api_key_id" => self.viewer_key_id.to_string(),
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
    let entry = ledger::post(
        &tx,
        clock,
        NewEntry {
            account: account_id,
            kind: EntryKind::Charge,
            amount: Money::usd(4_250),
            effective_on: opened,
            external_id: Some(format!("seed-{marker}")),
            bill: None,
            memo: format!("Opening balance {marker}"),
        },
    )
    .await
    .unwrap();
    let (_, admin_key) = api_keys::create(&tx, clock, "admin", Role::Admin)
        .await
        .unwrap();
    let (viewer_key_id, viewer_key) = api_keys::create(&tx, clock, "viewer", Role::Viewer)
        .await
        .unwrap();
    for (on, value) in [("2026-09-28", 120_000), ("2026-10-28", 125_500)] {
        reads::record(
            &tx,
            clock,
            &meter,
            NewRead {
                read_on: on.parse().unwrap(),
                value,
                estimated: false,
                source: ReadSource::Manual,
            },
        )
        .await
        .unwrap();
    }
    let schedule = rates::create(&tx, clock, &format!("Residential {marker}"), residential())
        .await
        .unwrap();
    let schedule = RateScheduleId::from_uuid(schedule.schedule.id);
    let run = bill_runs::create(
        &tx,
        clock,
        NewRun {
            schedule,
            period_start: "2026-10-01".parse().unwrap(),
            period_end: "2026-10-31".parse().unwrap(),
            due_on: "2026-11-20".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    let run = BillRunId::from_uuid(run.id);
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
    let report = bill_runs::finalize(db, &ctx, clock, run, &FinalizeOptions::default())
        .await
        .unwrap();
    assert_eq!(report.billed, 1, "{report:?}");
    let tx = db.tenant(&ctx).await.unwrap();
    let bill = bills::for_account(&tx, account_id).await.unwrap()[0].id;
    tx.commit().await.unwrap();
    let payment = aqueduct_payments::checkout::record_pending(
        db,
        &ctx,
        clock,
        account_id,
        aqueduct_core::Money::usd(4_200),
        "seed",
    )
    .await
    .unwrap();
    let payout = aqueduct_payments::payouts::record(
        db,
        &ctx,
        clock,
        &serde_json::json!({
            "id": format!("po_seed_{}", marker.to_lowercase().replace('-', "_")),
            "object": "payout",
            "amount": 4_200,
            "currency": "usd",
            "status": "in_transit",
            "arrival_date": 1_800_000_000,
        }),
    )
    .await
    .unwrap()
    .id;
    let notification = {
        let tx = db.tenant(&ctx).await.unwrap();
        let recorded = aqueduct_notify::record(
            &tx,
            clock,
            aqueduct_notify::NewNotification {
                kind: aqueduct_notify::Kind::HighUsage,
                subject_id: format!("seed:{marker}"),
                recipient: format!("{}@example.com", marker.to_lowercase()),
                account: Some(account_id),
                data: serde_json::json!({ "holder": marker, "usage": "99 kgal" }),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Delivered at once (development sender), so a seeded association
        // starts with an empty job queue.
        let handler_clock: std::sync::Arc<dyn Clock> =
            std::sync::Arc::new(aqueduct_core::ManualClock::new(clock.now()));
        aqueduct_jobs::Worker::new(
            db.clone(),
            handler_clock.clone(),
            aqueduct_server::worker::registry(db, &handler_clock),
            "seed",
        )
        .run_until_idle()
        .await
        .unwrap();
        match recorded {
            aqueduct_notify::Recorded::Queued(id) => id,
            other => panic!("seed notification not queued: {other:?}"),
        }
    };
    Seeded {
        notification,
        payout,
        payment,
        tenant: ctx,
        admin_key,
        viewer_key,
        account: account_id,
        location: location_id,
        meter: MeterId::from_uuid(meter.id),
        entry: LedgerEntryId::from_uuid(entry.entry.id),
        schedule,
        run,
        bill: BillId::from_uuid(bill),
        marker,
        staff_user,
        invitation: invitation.id,
        viewer_key_id,
    }
}

/// A small residential tariff: $24.50 base on a 5/8" meter, 2,000 gallons
/// included, then $4.10 and $5.25 per 1,000 gallons.
pub fn residential() -> RateSchedule {
    serde_json::from_value(serde_json::json!({
        "name": "Residential 2026",
        "effective_from": "2026-01-01",
        "services": [{
            "service": "water",
            "base": {"amounts": {"by_meter_size": [{"size": "5/8", "amount": "24.50"}],
                                 "default": "60.00"}},
            "usage": {"unit": "thousand_gallons", "allowance": "2",
                      "blocks": [{"from": "0", "rate": "4.10"}, {"from": "8", "rate": "5.25"}]}
        }]
    }))
    .unwrap()
}

/// Another meter at the seeded account's location, with no reads.
pub async fn extra_meter(db: &Db, s: &Seeded, serial: &str) -> MeterId {
    let tx = db.tenant(&s.tenant).await.unwrap();
    let m = meters::create(
        &tx,
        NewMeter {
            location: s.location,
            serial: serial.into(),
            size: "5/8\"".into(),
            unit: "gallons".into(),
            register_digits: 6,
            multiplier: 1,
            installed_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    MeterId::from_uuid(m.id)
}
