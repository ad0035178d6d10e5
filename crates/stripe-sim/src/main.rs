//! `aqueduct-stripe-sim`: a local Stripe for development (`make run`).

use std::net::SocketAddr;

use aqueduct_stripe_sim::{DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET, Sim, SimConfig};
use clap::Parser;

/// A local stand-in for Stripe: Connect, Checkout, PaymentIntents, refunds, payouts, signed webhooks.
#[derive(Debug, Parser)]
#[command(name = "aqueduct-stripe-sim", version)]
struct Args {
    /// Address to listen on (keep it on loopback).
    #[arg(long, env = "STRIPE_SIM_LISTEN", default_value = "127.0.0.1:12111")]
    listen: SocketAddr,
    /// Where to POST signed events (none: events are only recorded).
    #[arg(long, env = "STRIPE_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Webhook signing secret.
    #[arg(long, env = "STRIPE_SIM_WEBHOOK_SECRET", default_value = DEFAULT_WEBHOOK_SECRET)]
    webhook_secret: String,
    /// The secret API key clients must send.
    #[arg(long, env = "STRIPE_SIM_SECRET_KEY", default_value = DEFAULT_SECRET_KEY)]
    secret_key: String,
    /// Milliseconds a bank payment stays `processing`.
    #[arg(long, default_value_t = 5_000)]
    ach_settle_delay_ms: u64,
    /// Create connected accounts already onboarded (charges enabled): the demo.
    #[arg(long, env = "STRIPE_SIM_INSTANT_ONBOARDING")]
    instant_onboarding: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if !args.secret_key.starts_with("sk_test_") || !args.webhook_secret.starts_with("whsec_") {
        eprintln!("--secret-key must start with sk_test_ and --webhook-secret with whsec_");
        std::process::exit(2);
    }
    let config = SimConfig {
        secret_key: args.secret_key,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        ach_settle_delay_ms: args.ach_settle_delay_ms,
        instant_onboarding: args.instant_onboarding,
        ..SimConfig::default()
    };
    let sim = Sim::bind(args.listen, config).await?;
    tracing::info!(url = %sim.base_url(), "aqueduct-stripe-sim listening");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }
}
