//! The command line: `aqueduct serve | migrate | demo | operator | tenant`.

use crate::config::Config;
use crate::{backup, database, demo, restore, retention, serve};
use anyhow::{Context, bail};
use aqueduct_core::{Secret, SystemClock};
use aqueduct_tenant::{PlatformAccess, TenantError, credentials, directory, password, users};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Prints a line to stdout; a closed pipe (`aqueduct demo | head`) ends the
/// output quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Aqueduct: billing and online payments for small water associations.
#[derive(Debug, Parser)]
#[command(name = "aqueduct", version, about)]
pub struct Cli {
    /// TOML configuration file (environment variables AQUEDUCT__SECTION__KEY
    /// and DATABASE_URL override it).
    #[arg(long, global = true, env = "AQUEDUCT_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Listen address (default from configuration, 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Also run the job worker and schedules in this process.
        #[arg(long)]
        with_worker: bool,
    },
    /// Run the job worker and schedules (no HTTP).
    Worker,
    /// Check that a server answers (for container health checks): exits 0
    /// when `GET URL` returns 2xx.
    Health {
        /// The URL to check (plain HTTP on the local machine).
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Apply database migrations (and, on PostgreSQL, create/grant the
    /// application role).
    Migrate {
        /// List migrations and whether each is applied; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// Load the demo association (idempotent) and print how to use it.
    Demo,
    /// Manage platform operators.
    Operator {
        /// Operator action.
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Encrypted backups: take one (no action), list, verify, prune, keygen.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty database.
    Restore(restore::RestoreArgs),
    /// Retention: run the job, legal holds, policies.
    Retention(retention::RetentionArgs),
    /// Inspect associations (platform-wide, audited).
    Tenant {
        /// Tenant action.
        #[command(subcommand)]
        action: TenantAction,
    },
}

/// `aqueduct operator …`
#[derive(Debug, Subcommand)]
pub enum OperatorAction {
    /// Create a platform operator.
    Create {
        /// Email address (sign-in name).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "Platform operator")]
        name: String,
        /// Read the password from the first line of standard input; without
        /// it a one-time link to choose the password is printed.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `aqueduct tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// List every association with its status and number of accounts.
    List,
}

impl Cli {
    /// Loads the configuration this invocation names.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref(), std::env::vars())
    }
}

/// Runs one command.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let clock = SystemClock;
    match cli.command {
        Command::Serve {
            listen,
            with_worker,
        } => serve::run(&config, listen, with_worker).await,
        Command::Worker => serve::run_worker(&config).await,
        Command::Health { url } => {
            let status = crate::health::check(&url).await?;
            out!("{url}: {status}");
            if (200..300).contains(&status) {
                Ok(())
            } else {
                bail!("{url} answered {status}")
            }
        }
        Command::Backup(args) => backup::run(args, &config, &clock).await,
        Command::Restore(args) => restore::run(args, &config).await,
        Command::Retention(args) => retention::run(args, &config, &clock).await,
        Command::Migrate { status: true } => {
            for (name, applied) in database::status(&config).await? {
                out!("{} {name}", if applied { "applied" } else { "pending" });
            }
            Ok(())
        }
        Command::Migrate { status: false } => {
            let applied = database::migrate(&config).await?;
            if applied.is_empty() {
                out!("database is up to date; nothing to apply");
            }
            for name in applied {
                out!("applied {name}");
            }
            Ok(())
        }
        Command::Demo => {
            let db = database::connect(&config).await?;
            let s = demo::load(&db, &clock).await?;
            let base = config.server.public_url.trim_end_matches('/');
            out!(
                "Demo association \"{}\" is ready: {base}/{}",
                s.tenant.name(),
                s.tenant.slug()
            );
            out!(
                "  {} customer accounts ({} added now), each with a service location and a meter",
                s.accounts_total,
                s.accounts_created
            );
            out!(
                "  {} meter reads (13 months), {} finalized bills, {} past-due accounts",
                s.billing.reads,
                s.billing.bills,
                s.billing.past_due_accounts
            );
            out!(
                "  staff sign-in at {base}/login with password {:?}:",
                demo::DEMO_PASSWORD
            );
            for (email, role) in &s.staff {
                out!("    {email}  ({role})");
            }
            out!(
                "  customer sign-in at {base}/{}/signin: {} with password {:?} (account {})",
                s.tenant.slug(),
                s.customer.0,
                demo::DEMO_PASSWORD,
                s.customer.1
            );
            out!("  API key (admin; shown once, replaced each time `demo` runs):");
            out!("    {}", s.api_key.expose());
            out!(
                "  try: curl -H 'Authorization: Bearer {}' '{base}/api/v1/accounts?limit=5'",
                s.api_key.expose()
            );
            match config.stripe.settings(base) {
                Some(settings) => {
                    let api_base = settings.api_base.clone();
                    let stripe =
                        aqueduct_payments::Stripe::new(settings).context("configuring Stripe")?;
                    let st = demo::connect_stripe(&db, &clock, &s.tenant, &stripe).await?;
                    out!(
                        "  Stripe ({}): connected account {}, charges {}",
                        api_base.as_deref().unwrap_or("api.stripe.com"),
                        st.stripe_account_id.as_deref().unwrap_or("-"),
                        if st.charges_enabled {
                            "enabled: the Pay button works"
                        } else {
                            "not enabled yet: finish onboarding (POST /api/v1/stripe/connect as the admin and follow the link)"
                        }
                    );
                }
                None => out!(
                    "  Stripe is not configured: payments are off (`make run` starts the local Stripe simulator)."
                ),
            }
            Ok(())
        }
        Command::Operator {
            action:
                OperatorAction::Create {
                    email,
                    name,
                    password_stdin,
                },
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                let password = Secret::new(line.trim_end_matches(['\r', '\n']));
                password::check_policy(&password)?;
                Some(password)
            } else {
                None
            };
            let db = database::connect(&config).await?;
            match users::create_operator(&db, &clock, &email, &name).await {
                Ok(id) => {
                    out!("operator {} created (id {id})", email.trim().to_lowercase());
                    match password {
                        Some(p) => {
                            credentials::set_password(&db, id, &p).await?;
                            out!("password set");
                        }
                        None => {
                            let token = credentials::issue_token(
                                &db,
                                &clock,
                                id,
                                credentials::TokenPurpose::SetPassword,
                                None,
                            )
                            .await?;
                            out!(
                                "choose the password within 72 hours at (single use): {}/login/reset?token={}",
                                config.server.public_url.trim_end_matches('/'),
                                token.expose()
                            );
                        }
                    }
                    Ok(())
                }
                Err(TenantError::EmailTaken) => {
                    bail!("a user with email {email} already exists; nothing changed")
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Tenant {
            action: TenantAction::List,
        } => {
            let db = database::connect(&config).await?;
            let tx = db
                .platform(
                    PlatformAccess {
                        actor: "cli".into(),
                        reason: "tenant.list",
                        request_id: None,
                    },
                    &clock,
                )
                .await
                .context("opening the platform-wide path")?;
            let tenants = directory::list(&tx).await?;
            let counts = aqueduct_billing::accounts::count_by_tenant(&tx).await?;
            tx.commit().await?;
            out!("{:<24} {:<12} {:>8}  name", "slug", "status", "accounts");
            for t in tenants {
                out!(
                    "{:<24} {:<12} {:>8}  {}",
                    t.slug().as_str(),
                    t.status().as_str(),
                    counts.get(&t.id()).copied().unwrap_or(0),
                    t.name()
                );
            }
            Ok(())
        }
    }
}
