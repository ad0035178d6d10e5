//! `aqueduct demo`: a realistic small water co-op to click through.
//! Deterministic (same data every time) and idempotent (running it twice
//! adds nothing).

use anyhow::Context;
use aqueduct_billing::accounts::{self, AccountNumber, MailingAddress, NewAccount};
use aqueduct_billing::locations::{self, NewLocation};
use aqueduct_billing::meters::{self, NewMeter};
use aqueduct_billing::{bill_runs, bills, late_fees, ledger, rates, reads};
use aqueduct_core::{AccountId, BillRunId, Clock, LocationId, Money, RateScheduleId, Secret, Slug};
use aqueduct_rates::RateSchedule;
use aqueduct_tenant::directory::{self, NewTenant};
use aqueduct_tenant::{Db, Role, TenantCtx, TenantStatus, api_keys, credentials, users};
use chrono::{Datelike, NaiveDate};

/// Slug of the demo association.
pub const DEMO_SLUG: &str = "demo";
/// Password of the demo staff users (printed by `aqueduct demo`; never
/// use the demo on a public server).
pub const DEMO_PASSWORD: &str = "cedar-creek-demo-2026";
/// Number of customer accounts in the demo.
pub const DEMO_ACCOUNTS: u32 = 320;

const FIRST: &[&str] = &[
    "Maria",
    "James",
    "Linda",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Elizabeth",
    "David",
    "Barbara",
    "William",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
    "Thomas",
    "Karen",
    "Carlos",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "José",
    "Dorothy",
    "Paul",
    "Kimberly",
    "Steven",
    "Emily",
    "Andrew",
    "Donna",
    "Luis",
    "Michelle",
    "Joshua",
    "Rosa",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
];
const LAST: &[&str] = &[
    "Garcia",
    "Smith",
    "Johnson",
    "Martinez",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Rodriguez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Hernandez",
    "Moore",
    "Martin",
    "Jackson",
    "Lopez",
    "Thompson",
    "White",
    "Gonzalez",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Perez",
    "Hall",
    "Young",
    "Allen",
    "Sanchez",
    "Wright",
    "King",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Ramirez",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
];
const STREETS: &[&str] = &[
    "Cedar Creek Rd",
    "Juniper Ln",
    "Mesa Vista Dr",
    "Old Mill Rd",
    "Cottonwood Ave",
    "Ponderosa Way",
    "Sage Hollow Rd",
    "Aspen Ct",
    "Red Rock Rd",
    "Willow Bend",
    "County Road 12",
    "Elk Ridge Dr",
    "Pinon Pl",
    "Ranch House Rd",
    "Silver Spur Ln",
];

/// A tiny deterministic generator (xorshift64*): the demo is the same on
/// every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items[i]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What `demo` did, for the printed summary.
#[derive(Debug)]
pub struct DemoSummary {
    /// The association.
    pub tenant: TenantCtx,
    /// Accounts created by this run (0 on a re-run).
    pub accounts_created: u32,
    /// Accounts in the association.
    pub accounts_total: u64,
    /// Staff users and their roles.
    pub staff: Vec<(String, Role)>,
    /// A fresh admin API key (the previous demo key is revoked).
    pub api_key: Secret,
    /// The billing part: reads, bills, payments, past-due accounts.
    pub billing: BillingSummary,
    /// The demo customer's sign-in email and the account it holds.
    pub customer: (String, String),
}

/// The demo customer's sign-in (password [`DEMO_PASSWORD`]).
pub const DEMO_CUSTOMER: &str = "customer@demo.example.org";
/// The account the demo customer holds.
pub const DEMO_CUSTOMER_ACCOUNT: &str = "10-0001";

/// Makes the demo customer login and links it to [`DEMO_CUSTOMER_ACCOUNT`]
/// (idempotent; the account's email becomes the customer's, so paperless
/// billing can be turned on).
async fn demo_customer(db: &Db, clock: &dyn Clock, tenant: &TenantCtx) -> anyhow::Result<()> {
    let (user, _) = users::ensure_person(db, clock, DEMO_CUSTOMER).await?;
    credentials::set_password(db, user, &Secret::new(DEMO_PASSWORD)).await?;
    let tx = db.tenant(tenant).await?;
    let account = accounts::by_number(&tx, &AccountNumber::parse(DEMO_CUSTOMER_ACCOUNT)?)
        .await?
        .context("demo customer account")?;
    let id = AccountId::from_uuid(account.id);
    if account.email.as_deref() != Some(DEMO_CUSTOMER) {
        accounts::apply_customer_changes(
            &tx,
            clock,
            id,
            &accounts::CustomerChanges {
                paperless: Some(false),
                email: Some(DEMO_CUSTOMER.into()),
                phone: None,
            },
        )
        .await?;
    }
    aqueduct_tenant::customers::link(
        &tx,
        clock,
        user,
        id,
        aqueduct_tenant::customers::Via::Invitation,
        "demo",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).context("demo date")
}

/// Loads the demo association into `db`.
pub async fn load(db: &Db, clock: &dyn Clock) -> anyhow::Result<DemoSummary> {
    let tenant = match directory::by_slug(db, DEMO_SLUG).await? {
        Some(t) => t,
        None => match directory::create(
            db,
            clock,
            NewTenant {
                slug: Slug::parse(DEMO_SLUG)?,
                name: "Cedar Creek Water Association".into(),
                time_zone: "America/Denver".into(),
                status: TenantStatus::Active,
            },
        )
        .await
        {
            Ok(t) => t,
            // Created by a concurrent run: use it.
            Err(aqueduct_tenant::TenantError::SlugTaken) => directory::by_slug(db, DEMO_SLUG)
                .await?
                .context("demo association vanished")?,
            Err(e) => return Err(e.into()),
        },
    };

    let tx = db.tenant(&tenant).await?;
    let staff = vec![
        ("admin@demo.example.org".to_owned(), Role::Admin),
        ("clerk@demo.example.org".to_owned(), Role::Clerk),
        ("board@demo.example.org".to_owned(), Role::Viewer),
    ];
    let names = ["Dana Whitfield", "Luis Ortega", "Board Treasurer"];
    let mut staff_ids = Vec::new();
    for ((email, role), name) in staff.iter().zip(names) {
        staff_ids.push(users::ensure_staff(&tx, clock, email, name, *role).await?);
    }

    let mut rng = Rng(0x5EED_CEDA_0C12_EE4B);
    let mut created = 0;
    for n in 1..=DEMO_ACCOUNTS {
        // Draw every value whether or not the account exists, so a re-run
        // stays on the same sequence.
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let street = rng.pick(STREETS);
        let house = 100 + rng.below(9800);
        let size_roll = rng.below(100);
        let with_email = rng.below(100) < 70;
        let paperless = with_email && rng.below(100) < 40;
        let opened_year = 2004 + i32::try_from(rng.below(21)).unwrap_or(0);
        let opened_month = 1 + u32::try_from(rng.below(12)).unwrap_or(0);
        let number = AccountNumber::parse(&format!("10-{n:04}"))?;
        if accounts::by_number(&tx, &number).await?.is_some() {
            continue;
        }
        let route = format!("R{}", 1 + (n - 1) / 60);
        let location = locations::create(
            &tx,
            clock,
            NewLocation {
                address_line1: format!("{house} {street}"),
                address_line2: None,
                city: "Cedar Creek".into(),
                state: "CO".into(),
                postal_code: "81230".into(),
                route: Some(route),
                sequence: Some(i32::try_from((n - 1) % 60 + 1).unwrap_or(0) * 10),
            },
        )
        .await?;
        let opened_on = date(opened_year, opened_month, 1)?;
        let email = with_email.then(|| {
            format!(
                "{}.{}{}@example.com",
                first.to_lowercase().replace('é', "e"),
                last.to_lowercase(),
                n
            )
        });
        let account = accounts::create(
            &tx,
            clock,
            NewAccount {
                number,
                holder_name: format!("{first} {last}"),
                email,
                phone: Some(format!("(719) 555-01{:02}", n % 100)),
                mailing: Some(MailingAddress {
                    line1: format!("{house} {street}"),
                    line2: None,
                    city: "Cedar Creek".into(),
                    state: "CO".into(),
                    postal_code: "81230".into(),
                }),
                opened_on,
                paperless,
            },
        )
        .await?;
        let account_id = AccountId::from_uuid(account.id);
        let location_id = LocationId::from_uuid(location.id);
        locations::move_in(&tx, account_id, location_id, opened_on).await?;
        let (size, digits, multiplier) = match size_roll {
            0..=84 => ("5/8\"", 6, 1),
            85..=92 => ("3/4\"", 6, 1),
            93..=96 => ("1\"", 7, 1),
            97..=98 => ("1.5\"", 7, 10),
            _ => ("2\"", 8, 10),
        };
        meters::create(
            &tx,
            NewMeter {
                location: location_id,
                serial: format!("BDG{:07}", 4_100_000 + n * 7),
                size: size.into(),
                unit: "gallons".into(),
                register_digits: digits,
                multiplier,
                installed_on: opened_on,
            },
        )
        .await?;
        created += 1;
    }
    let (_, api_key) = api_keys::replace_named(&tx, clock, "demo key", Role::Admin).await?;
    let accounts_total = accounts::count(&tx).await?;
    tx.commit().await?;
    // After the commit: the tenant transaction holds SQLite's write lock.
    for id in staff_ids {
        credentials::set_password(db, id, &Secret::new(DEMO_PASSWORD)).await?;
    }
    let billing = load_billing(db, &tenant, clock).await?;
    demo_customer(db, clock, &tenant).await?;
    Ok(DemoSummary {
        customer: (DEMO_CUSTOMER.into(), DEMO_CUSTOMER_ACCOUNT.into()),
        tenant,
        accounts_created: created,
        accounts_total,
        staff,
        api_key,
        billing,
    })
}

/// Connects the demo association to Stripe (`make run`: the local
/// simulator, started with `--instant-onboarding`, so the account can take
/// charges at once). Idempotent; an account Stripe no longer knows (the
/// simulator keeps its state in memory) is replaced by a new one.
pub async fn connect_stripe(
    db: &Db,
    clock: &dyn Clock,
    tenant: &TenantCtx,
    stripe: &aqueduct_payments::Stripe,
) -> anyhow::Result<aqueduct_payments::connect::ConnectStatus> {
    use aqueduct_payments::connect;
    connect::ensure_account(db, tenant, clock, stripe)
        .await
        .context("creating the demo association's connected account")?;
    if connect::refresh(db, tenant, clock, stripe).await?.is_none() {
        connect::replace_missing(db, tenant, clock, stripe).await?;
        connect::refresh(db, tenant, clock, stripe)
            .await?
            .context("the new connected account vanished")?;
    }
    let tx = db
        .tenant_with(tenant, aqueduct_tenant::Access::Read)
        .await?;
    let st = connect::ConnectStatus::load(&tx).await?;
    tx.commit().await?;
    Ok(st)
}

/// What the billing part of the demo holds.
#[derive(Debug, Default)]
pub struct BillingSummary {
    /// Meter reads stored (13 months per meter).
    pub reads: u64,
    /// Finalized bills.
    pub bills: u64,
    /// Accounts with a balance more than 30 days old.
    pub past_due_accounts: u64,
}

/// The demo tariff: tiered water (summer top tier higher), sewer, and a
/// state regulatory fee — shaped like a small Colorado system's rates.
pub fn demo_schedule() -> anyhow::Result<RateSchedule> {
    Ok(serde_json::from_value(serde_json::json!({
        "name": "Residential and small commercial 2025",
        "effective_from": "2025-01-01",
        "services": [
            {
                "service": "water",
                "base": {"amounts": {"by_meter_size": [
                    {"size": "5/8", "amount": "24.50"}, {"size": "3/4", "amount": "29.00"},
                    {"size": "1", "amount": "41.00"}, {"size": "1-1/2", "amount": "72.00"},
                    {"size": "2", "amount": "115.00"}], "default": "115.00"}},
                "usage": {
                    "unit": "thousand_gallons", "allowance": "2",
                    "blocks": [{"from": "0", "rate": "4.10"}, {"from": "8", "rate": "5.25"},
                               {"from": "18", "rate": "7.40"}],
                    "seasons": [{"name": "Summer", "from_month": 6, "to_month": 9,
                                 "blocks": [{"from": "0", "rate": "4.10"}, {"from": "8", "rate": "5.25"},
                                            {"from": "18", "rate": "8.90"}]}]
                }
            },
            {
                "service": "sewer",
                "base": {"amounts": {"default": "18.00"}},
                "usage": {"unit": "thousand_gallons", "blocks": [{"from": "0", "rate": "3.10"}]}
            }
        ],
        "assessments": [{"description": "State regulatory fee", "percent": "0.5"}]
    }))?)
}

/// Reads on the 25th of 13 months, bills for the last three cycles,
/// payments by most accounts, a late-fee rule and its job. Idempotent:
/// reads are unique per meter and day, runs per cycle, bills per account
/// and cycle, payments and fees per external id.
async fn load_billing(
    db: &Db,
    tenant: &TenantCtx,
    clock: &dyn Clock,
) -> anyhow::Result<BillingSummary> {
    let tx = db.tenant(tenant).await?;
    let schedule = match rates::list(&tx).await?.into_iter().next() {
        Some(s) => RateScheduleId::from_uuid(s.id),
        None => RateScheduleId::from_uuid(
            rates::create(
                &tx,
                clock,
                "Residential and small commercial",
                demo_schedule()?,
            )
            .await?
            .schedule
            .id,
        ),
    };
    late_fees::set_rule(
        &tx,
        clock,
        late_fees::Rule {
            flat_cents: 500,
            percent_bp: 150,
            grace_days: 5,
            min_balance_cents: 1_000,
        },
    )
    .await?;
    let list = accounts::list(
        &tx,
        &accounts::AccountQuery {
            search: None,
            after: None,
            limit: u64::from(DEMO_ACCOUNTS) + 10,
        },
    )
    .await?;
    let mut summary = BillingSummary::default();
    let mut rng = Rng(0xB111_DA7A_0C12_EE4B);
    for acct in &list {
        let monthly = 2_500 + rng.below(7_000); // gallons a month
        let leak_month = (rng.below(100) < 3).then(|| rng.below(13));
        let start = rng.below(990_000);
        for m in meters::for_account(&tx, AccountId::from_uuid(acct.id)).await? {
            let range = aqueduct_billing::consumption::register_range(m.register_digits);
            let mult = i64::from(m.multiplier.max(1));
            let mut register = i64::try_from(start).unwrap_or(0) % range;
            for i in 0..13_u32 {
                let month = (10 + i - 1) % 12 + 1;
                let year = if i < 3 { 2025 } else { 2026 };
                let on = date(year, month, 25)?;
                if i > 0 {
                    let summer = (6..=9).contains(&month);
                    let mut used = i64::try_from(monthly).unwrap_or(0);
                    if summer {
                        used = used * 8 / 5;
                    }
                    if leak_month == Some(u64::from(i)) {
                        used *= 6;
                    }
                    used += i64::try_from(rng.below(1_500)).unwrap_or(0);
                    register = (register + used / mult) % range;
                }
                let read = reads::NewRead {
                    read_on: on,
                    value: register,
                    estimated: false,
                    source: reads::ReadSource::Csv,
                };
                reads::record(&tx, clock, &m, read).await?;
                summary.reads += 1;
            }
        }
    }
    tx.commit().await?;

    // Three finalized cycles: August, September, October 2026.
    for month in [8_u32, 9, 10] {
        let start = date(2026, month, 1)?;
        let end = date(2026, month + 1, 1)?.pred_opt().context("demo date")?;
        let due = date(2026, month + 1, 20)?;
        let tx = db.tenant(tenant).await?;
        let run = match bill_runs::by_period(&tx, start, end).await? {
            Some(r) => r,
            None => {
                let new = bill_runs::NewRun {
                    schedule,
                    period_start: start,
                    period_end: end,
                    due_on: due,
                };
                bill_runs::create(&tx, clock, new).await?
            }
        };
        tx.commit().await?;
        let id = BillRunId::from_uuid(run.id);
        bill_runs::finalize(db, tenant, clock, id, &Default::default()).await?;
    }

    // Most accounts pay each bill in full before it is due; every
    // eleventh account stopped paying after August.
    let tx = db.tenant(tenant).await?;
    for (n, acct) in list.iter().enumerate() {
        let account = AccountId::from_uuid(acct.id);
        for b in bills::for_account(&tx, account).await? {
            summary.bills += 1;
            let stops = n % 11 == 5 && b.period_start.month() > 8;
            if stops || b.period_start.month() == 10 {
                continue;
            }
            let on = b.due_on - chrono::Duration::days(3);
            let external = format!("demo:pay:{}", b.id);
            ledger::post_payment(
                &tx,
                clock,
                account,
                Money::usd(b.total_cents),
                on,
                &external,
            )
            .await?;
        }
    }
    late_fees::assess(&tx, clock, clock.now().date_naive()).await?;
    let today = clock.now().date_naive();
    for acct in &list {
        let entries = ledger::for_account(&tx, AccountId::from_uuid(acct.id)).await?;
        let a = aqueduct_billing::aging::aging(&entries, today);
        if a.days_30 + a.days_60 + a.days_90_plus > 0 {
            summary.past_due_accounts += 1;
        }
    }
    tx.commit().await?;
    Ok(summary)
}
