//! OpenTelemetry trace export, on when `[otel] endpoint` is set.
//!
//! Spans come from `tracing` (through `tracing-opentelemetry`) and leave
//! in batches as OTLP over HTTP with the JSON encoding
//! (`POST {endpoint}/v1/traces`, `Content-Type: application/json`), which
//! every OpenTelemetry Collector and the common tracing back ends accept.
//! The exporter is ours (a few dozen lines over the HTTP client we already
//! link) rather than `opentelemetry-otlp`, which would add protobuf code
//! generation and a second HTTP stack to the build.

// A sampling probability is the one float here; it never touches money.
#![allow(clippy::disallowed_types)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{Value as Json, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `[otel]`: traces sent as OTLP/HTTP (JSON) to a collector.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtelConfig {
    /// Base URL of the collector's OTLP/HTTP receiver, e.g.
    /// `http://127.0.0.1:4318`; spans go to `{endpoint}/v1/traces`.
    /// Falls back to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Fraction of new traces kept (0.0–1.0); a caller's `traceparent`
    /// decision is followed.
    pub sample_ratio: f64,
    /// Extra request headers, e.g. a vendor's API key (never logged).
    pub headers: std::collections::BTreeMap<String, aqueduct_core::Secret>,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            service_name: "aqueduct".into(),
            sample_ratio: 1.0,
            headers: Default::default(),
        }
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// How long one batch may take to leave before it is dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running exporter; dropping it flushes what is still buffered.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// Starts the exporter. Must be called inside a Tokio runtime: the
    /// batches are sent from it.
    pub fn start(config: &OtelConfig) -> anyhow::Result<Option<(Self, SdkTracer)>> {
        let Some(endpoint) = config.endpoint.as_deref() else {
            return Ok(None);
        };
        let exporter = OtlpHttpJson::new(endpoint, config)?;
        let ratio = config.sample_ratio.clamp(0.0, 1.0);
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(config.service_name.clone())
                    .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                    .build(),
            )
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("aqueduct");
        Ok(Some((Self { provider }, tracer)))
    }

    /// Sends what is buffered and stops.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("aqueduct: trace export did not shut down cleanly: {e}");
        }
    }
}

/// The exporter: one POST per batch.
#[derive(Debug)]
struct OtlpHttpJson {
    url: http::Uri,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    client: Client<Https, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
    resource: Vec<Json>,
}

impl OtlpHttpJson {
    fn new(endpoint: &str, config: &OtelConfig) -> anyhow::Result<Self> {
        let base = endpoint.trim_end_matches('/');
        let url: http::Uri = format!("{base}/v1/traces")
            .parse()
            .map_err(|e| anyhow::anyhow!("otel.endpoint {endpoint:?} is not a URL: {e}"))?;
        match url.scheme_str() {
            Some("http" | "https") => {}
            _ => anyhow::bail!("otel.endpoint must start with http:// or https://"),
        }
        let mut headers = Vec::new();
        for (name, value) in &config.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| anyhow::anyhow!("otel.headers: {name:?}: {e}"))?;
            let mut value = http::HeaderValue::from_str(value.expose())
                .map_err(|_| anyhow::anyhow!("otel.headers: the value of {name} is not valid"))?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| anyhow::anyhow!("TLS setup for trace export: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            url,
            headers,
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
            runtime: tokio::runtime::Handle::try_current()
                .map_err(|_| anyhow::anyhow!("trace export needs a Tokio runtime"))?,
            resource: Vec::new(),
        })
    }
}

impl SpanExporter for OtlpHttpJson {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let body = encode(&self.resource, &batch).to_string();
        let mut req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)));
        if let Ok(r) = req.as_mut() {
            for (k, v) in &self.headers {
                r.headers_mut().insert(k.clone(), v.clone());
            }
        }
        let client = self.client.clone();
        // The SDK drives this future from its own thread; the HTTP client
        // needs Tokio, so the request runs on the runtime and we wait for it.
        let task = self.runtime.spawn(async move {
            let req = req.map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
            let res = tokio::time::timeout(EXPORT_TIMEOUT, client.request(req))
                .await
                .map_err(|_| OTelSdkError::Timeout(EXPORT_TIMEOUT))?
                .map_err(|e| OTelSdkError::InternalFailure(format!("trace export: {e}")))?;
            let status = res.status();
            // Read the answer so the connection can be reused.
            let _ = res.into_body().collect().await;
            if status.is_success() {
                Ok(())
            } else {
                Err(OTelSdkError::InternalFailure(format!(
                    "trace export: collector answered {status}"
                )))
            }
        });
        async move {
            task.await
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource
            .iter()
            .map(|(k, v)| attribute(k.as_str(), v))
            .collect();
    }
}

/// One `ExportTraceServiceRequest` in OTLP's JSON mapping: ids in hex,
/// 64-bit integers as strings, enums as numbers.
fn encode(resource: &[Json], batch: &[SpanData]) -> Json {
    let mut scopes: Vec<(String, Option<String>, Vec<Json>)> = Vec::new();
    for span in batch {
        let scope = &span.instrumentation_scope;
        let name = scope.name().to_owned();
        let version = scope.version().map(str::to_owned);
        let item = encode_span(span);
        match scopes
            .iter_mut()
            .find(|(n, v, _)| *n == name && *v == version)
        {
            Some((_, _, spans)) => spans.push(item),
            None => scopes.push((name, version, vec![item])),
        }
    }
    let scope_spans: Vec<Json> = scopes
        .into_iter()
        .map(|(name, version, spans)| {
            let mut scope = json!({ "name": name });
            if let Some(v) = version {
                scope["version"] = json!(v);
            }
            json!({ "scope": scope, "spans": spans })
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": resource },
            "scopeSpans": scope_spans,
        }]
    })
}

fn encode_span(span: &SpanData) -> Json {
    let kind = match span.span_kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    };
    let status = match &span.status {
        Status::Unset => json!({ "code": 0 }),
        Status::Ok => json!({ "code": 1 }),
        Status::Error { description } => json!({ "code": 2, "message": description }),
    };
    let mut out = json!({
        "traceId": span.span_context.trace_id().to_string(),
        "spanId": span.span_context.span_id().to_string(),
        "name": span.name,
        "kind": kind,
        "startTimeUnixNano": nanos(span.start_time),
        "endTimeUnixNano": nanos(span.end_time),
        "attributes": span.attributes.iter().map(|kv| attribute(kv.key.as_str(), &kv.value)).collect::<Vec<_>>(),
        "droppedAttributesCount": span.dropped_attributes_count,
        "events": span.events.iter().map(|e| json!({
            "timeUnixNano": nanos(e.timestamp),
            "name": e.name,
            "attributes": e.attributes.iter().map(|kv| attribute(kv.key.as_str(), &kv.value)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "status": status,
    });
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        out["parentSpanId"] = json!(span.parent_span_id.to_string());
    }
    out
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_string()
}

fn attribute(key: &str, value: &Value) -> Json {
    json!({ "key": key, "value": any_value(value) })
}

fn any_value(value: &Value) -> Json {
    use opentelemetry::Array;
    match value {
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::I64(i) => json!({ "intValue": i.to_string() }),
        Value::F64(f) => json!({ "doubleValue": f }),
        Value::String(s) => json!({ "stringValue": s.as_str() }),
        Value::Array(a) => {
            let values: Vec<Json> = match a {
                Array::Bool(v) => v.iter().map(|b| json!({ "boolValue": b })).collect(),
                Array::I64(v) => v
                    .iter()
                    .map(|i| json!({ "intValue": i.to_string() }))
                    .collect(),
                Array::F64(v) => v.iter().map(|f| json!({ "doubleValue": f })).collect(),
                Array::String(v) => v
                    .iter()
                    .map(|s| json!({ "stringValue": s.as_str() }))
                    .collect(),
                _ => Vec::new(),
            };
            json!({ "arrayValue": { "values": values } })
        }
        _ => json!({ "stringValue": value.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    fn span(parent: SpanId) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "request".into(),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_123),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_000),
            attributes: vec![
                KeyValue::new("route", "/api/v1/accounts/{account_id}"),
                KeyValue::new("status", 200_i64),
            ],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::error("boom"),
            instrumentation_scope: InstrumentationScope::builder("aqueduct").build(),
        }
    }

    #[test]
    fn encodes_otlp_json() {
        let resource = vec![attribute("service.name", &Value::from("aqueduct"))];
        let body = encode(&resource, &[span(SpanId::INVALID)]);
        let rs = &body["resourceSpans"][0];
        assert_eq!(
            rs["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "aqueduct"}})
        );
        let s = &rs["scopeSpans"][0]["spans"][0];
        assert_eq!(rs["scopeSpans"][0]["scope"]["name"], "aqueduct");
        assert_eq!(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s["spanId"], "00f067aa0ba902b7");
        assert!(s.get("parentSpanId").is_none(), "a root span has no parent");
        assert_eq!(s["kind"], 2);
        assert_eq!(s["startTimeUnixNano"], "1700000000000000123");
        assert_eq!(s["status"], json!({"code": 2, "message": "boom"}));
        assert_eq!(
            s["attributes"][1],
            json!({"key": "status", "value": {"intValue": "200"}})
        );
    }

    #[test]
    fn child_spans_name_their_parent() {
        let parent = SpanId::from_hex("b7ad6b7169203331").unwrap();
        let body = encode(&[], &[span(parent), span(parent)]);
        let spans = &body["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(spans.as_array().unwrap().len(), 2, "one scope, two spans");
        assert_eq!(spans[0]["parentSpanId"], "b7ad6b7169203331");
    }
}
