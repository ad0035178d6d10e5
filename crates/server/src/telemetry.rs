//! Logging: human lines by default, JSON with `AQUEDUCT__LOG__FORMAT=json`;
//! spans also go to an OpenTelemetry collector when `[otel]` names one.

use crate::config::{LogConfig, LogFormat, OtelConfig};
use crate::otel::Tracing;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `RUST_LOG` overrides the configured
/// filter. Call inside a Tokio runtime when trace export is configured;
/// keep the returned exporter and shut it down last, so buffered spans
/// are sent. An export setting that cannot work is reported and export
/// stays off: logging never fails the process.
pub fn init(config: &LogConfig, otel: &OtelConfig) -> Option<Tracing> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (exporter, tracer) = match Tracing::start(otel) {
        Ok(Some((exporter, tracer))) => (Some(exporter), Some(tracer)),
        Ok(None) => (None, None),
        Err(e) => {
            eprintln!("aqueduct: trace export is off: {e:#}");
            (None, None)
        }
    };
    let otel_layer = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    let ansi = std::io::stderr().is_terminal();
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let result = match config.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
    if let Some(endpoint) = otel.endpoint.as_deref().filter(|_| exporter.is_some()) {
        tracing::info!(endpoint, "exporting traces (OTLP/HTTP JSON)");
    }
    exporter
}
