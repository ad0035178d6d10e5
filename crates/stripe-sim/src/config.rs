//! Sim settings: keys, the webhook endpoint and how deliveries misbehave.

use serde::{Deserialize, Serialize};

/// Default secret API key accepted by the sim.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_aqueduct_sim";
/// Default webhook signing secret.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_aqueduct_sim";

/// How webhook deliveries behave; all of it can be changed at run time via `/_sim/config`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DeliveryOptions {
    /// Deliver every event twice.
    pub deliver_twice: bool,
    /// With `deliver_twice`, send both copies at the same instant instead of one after the other.
    pub concurrent_duplicates: bool,
    /// Wait this long before delivering each batch of queued events.
    pub delay_ms: u64,
    /// Deliver the events queued together (one API call's events, plus whatever
    /// else queued up during `delay_ms`) newest first.
    pub out_of_order: bool,
    /// Attempts per event copy before giving up (the first attempt included).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles with each further retry.
    pub retry_backoff_ms: u64,
    /// Per-attempt timeout.
    pub timeout_ms: u64,
    /// Events of these types are recorded (`/v1/events` lists them) but never
    /// delivered, as when a webhook is lost for good: `payment_intent.succeeded`,
    /// a prefix `checkout.session.*`, or `*` for all.
    pub drop_types: Vec<String>,
}

impl DeliveryOptions {
    /// Whether an event of type `kind` is dropped.
    pub fn drops(&self, kind: &str) -> bool {
        self.drop_types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => kind.starts_with(prefix),
            None => t == kind,
        })
    }
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            deliver_twice: false,
            concurrent_duplicates: false,
            delay_ms: 0,
            out_of_order: false,
            max_attempts: 4,
            retry_backoff_ms: 200,
            timeout_ms: 10_000,
            drop_types: Vec::new(),
        }
    }
}

/// Everything the sim is configured with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SimConfig {
    /// The only secret key accepted in `Authorization: Bearer …`.
    pub secret_key: String,
    /// Where events are POSTed; `None` records events without delivering them.
    pub webhook_url: Option<String>,
    /// `whsec_…` used to sign deliveries.
    pub webhook_secret: String,
    /// Delivery behaviour.
    pub delivery: DeliveryOptions,
    /// How long a bank (ACH) payment stays `processing` before it settles.
    pub ach_settle_delay_ms: u64,
    /// New connected accounts are created already onboarded (charges and
    /// payouts enabled), as `make run` wants for the demo.
    pub instant_onboarding: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            webhook_url: None,
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            delivery: DeliveryOptions::default(),
            ach_settle_delay_ms: 1_000,
            instant_onboarding: false,
        }
    }
}
