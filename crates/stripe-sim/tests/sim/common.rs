//! Test harness: start a sim, talk to it over HTTP, parse with async-stripe types,
//! and receive its webhooks.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use aqueduct_stripe_sim::{Sim, SimConfig};
use axum::body::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Everything tracing writes during the tests (async-stripe warns on enum values it does not know).
pub static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .try_init();
    });
}

/// An enum value used on purpose to prove unknown values are noticed.
pub const SENTINEL: &str = "sim_sentinel.unknown";

/// Lines tracing logged that mention `needle`.
pub fn logged(needle: &str) -> usize {
    String::from_utf8_lossy(&LOG.lock().unwrap())
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// What async-stripe logged about values it could not map.
pub fn unknown_value_warnings() -> Vec<String> {
    String::from_utf8_lossy(&LOG.lock().unwrap())
        .lines()
        .filter(|l| l.contains("Unknown value") && !l.contains(SENTINEL))
        .map(str::to_owned)
        .collect()
}

/// Parses with both of async-stripe's deserialisers: miniserde (what its client uses)
/// and serde (what its `deserialize` feature offers).
pub fn parse<T>(v: &Value) -> T
where
    T: serde::de::DeserializeOwned + miniserde::Deserialize,
{
    if let Err(e) = serde_json::from_value::<T>(v.clone()) {
        panic!(
            "serde could not parse {}: {e}\n{v:#}",
            std::any::type_name::<T>()
        );
    }
    match miniserde::json::from_str::<T>(&v.to_string()) {
        Ok(t) => t,
        Err(_) => panic!(
            "miniserde could not parse {}:\n{v:#}",
            std::any::type_name::<T>()
        ),
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// The JSON, asserting a 2xx.
    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "status {}: {}",
            self.status,
            self.text
        );
        self.json
    }

    /// `error.code`.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// Percent-encodes a form component.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `a=b&c=d`.
pub fn form(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A running sim plus a plain HTTP client.
pub struct Api {
    pub sim: Sim,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    /// A sim with default settings (bank payments settle only when told to).
    pub async fn start() -> Self {
        Self::with(SimConfig {
            ach_settle_delay_ms: 600_000,
            ..SimConfig::default()
        })
        .await
    }

    /// A sim with this configuration.
    pub async fn with(config: SimConfig) -> Self {
        init_tracing();
        let sim = Sim::start(config).await.unwrap();
        Self {
            sim,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends a request built by `f` with the secret key.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        account: Option<&str>,
        idem: Option<&str>,
        body: String,
    ) -> Resp {
        let mut req = http::Request::builder()
            .method(method)
            .uri(self.sim.url(path))
            .header("authorization", format!("Bearer {}", self.sim.secret_key()))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(a) = account {
            req = req.header("stripe-account", a);
        }
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        self.raw(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
    }

    /// Sends any request.
    pub async fn raw(&self, req: http::Request<Full<Bytes>>) -> Resp {
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    /// `POST /v1/…` with form parameters.
    pub async fn post(&self, path: &str, account: Option<&str>, params: &[(&str, &str)]) -> Resp {
        self.send("POST", path, account, None, form(params)).await
    }

    /// `POST` with an Idempotency-Key.
    pub async fn post_idem(
        &self,
        path: &str,
        account: Option<&str>,
        key: &str,
        params: &[(&str, &str)],
    ) -> Resp {
        self.send("POST", path, account, Some(key), form(params))
            .await
    }

    /// `GET /v1/…` (query in `path`).
    pub async fn get(&self, path: &str, account: Option<&str>) -> Resp {
        self.send("GET", path, account, None, String::new()).await
    }

    /// `GET` a page (absolute URL), no key.
    pub async fn page(&self, url: &str) -> Resp {
        self.raw(
            http::Request::get(url)
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
    }

    /// `POST` a form to a page or control route (absolute URL or path), no key.
    pub async fn submit(&self, url: &str, body: &str) -> Resp {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            self.sim.url(url)
        };
        let req = http::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        self.raw(req).await
    }

    /// Creates an Express account and completes its onboarding through the HTML page.
    pub async fn onboarded_account(&self) -> String {
        let acct = self
            .post(
                "/v1/accounts",
                None,
                &[("type", "express"), ("country", "US")],
            )
            .await
            .ok();
        let id = acct["id"].as_str().unwrap().to_owned();
        let r = self
            .submit(&format!("/_sim/accounts/{id}/onboard"), "")
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        id
    }

    /// A succeeded card PaymentIntent on `account`.
    pub async fn paid_intent(&self, account: Option<&str>, amount: i64) -> Value {
        let amount = amount.to_string();
        self.post(
            "/v1/payment_intents",
            account,
            &[
                ("amount", &amount),
                ("currency", "usd"),
                ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ],
        )
        .await
        .ok()
    }
}

/// The receiver's state: what arrived, and how many requests were seen.
type HookState = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<usize>>);

/// One webhook request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub body: Bytes,
}

impl Received {
    /// The event JSON.
    pub fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A small axum webhook endpoint that records requests; the first `fail_first`
/// requests get a 500.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = Arc::new(Mutex::new(0_usize));
        let state = (Arc::clone(&got), seen);
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    move |axum::extract::State((got, seen)): axum::extract::State<HookState>,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        let n = {
                            let mut s = seen.lock().unwrap();
                            *s += 1;
                            *s
                        };
                        if n <= fail_first {
                            return http::StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        let signature = headers
                            .get("stripe-signature")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        got.lock().unwrap().push(Received { signature, body });
                        http::StatusCode::OK
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/hook"),
            got,
        }
    }

    /// Event ids in arrival order.
    pub fn ids(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.event()["id"].as_str().unwrap().to_owned())
            .collect()
    }
}
