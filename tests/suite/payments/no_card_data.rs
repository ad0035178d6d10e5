//! PCI scope check (SECURITY.md §A): after full payment journeys — card,
//! bank debit that settles, bank debit that fails, a decline, a partial
//! refund — nothing shaped like a card number is in the database, the logs
//! or the pages and JSON we served.

use super::{env, session_of};
use crate::db_test;
use aqueduct_stripe_sim::DeliveryOptions;
use axum::body::Body;
use http::Request;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Card-number candidates in `text`: maximal runs of 13–19 digits (single
/// spaces or hyphens allowed between digits) with a card network's prefix
/// that pass the Luhn check — what PCI data-discovery tools look for.
pub fn card_numbers(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(char::from(b));
                j += 1;
            } else if (b == b' ' || b == b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && bytes[j - 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        let bounded = j >= bytes.len() || !word(bytes[j]);
        if bounded && (13..=19).contains(&digits.len()) && network_prefix(&digits) && luhn(&digits)
        {
            found.push(digits);
        }
        i = j.max(i + 1);
    }
    found
}

fn network_prefix(d: &str) -> bool {
    let two: u32 = d[..2].parse().unwrap_or(0);
    let four: u32 = d[..4].parse().unwrap_or(0);
    d.starts_with('4')                       // Visa
        || (51..=55).contains(&two)           // Mastercard
        || (2221..=2720).contains(&four)      // Mastercard 2-series
        || two == 34 || two == 37             // American Express
        || d.starts_with("6011") || two == 65 // Discover
}

fn luhn(d: &str) -> bool {
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let n = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = n * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                n
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn the_scanner_finds_what_it_should() {
    for hit in [
        "4242424242424242",
        "pan=4242 4242 4242 4242;",
        "5555-5555-5555-4444",
        "378282246310005",
    ] {
        assert_eq!(card_numbers(hit).len(), 1, "{hit}");
    }
    for miss in [
        "4242424242424241",                     // fails Luhn
        "0194f1d2-0000-7000-8000-000000000000", // a UUID
        "1234567890123",                        // no network prefix
        "pi_4242424242424242",                  // part of an id
        "2026-11-26 14:52:16.123456+00",        // a timestamp
    ] {
        assert!(card_numbers(miss).is_empty(), "{miss}");
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged by this test process (at TRACE), from any thread: one
/// global subscriber, installed once, shared by the tests that need it.
fn captured_logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // If something else owns the global subscriber, the capture stays
        // empty and the test's "saw the requests" check fails loudly.
        let _ = tracing::subscriber::set_global_default(subscriber);
        capture
    })
}

/// Every row of every table, as text, read as the schema owner.
async fn database_text(owner: &sea_orm::DatabaseConnection) -> String {
    let backend = owner.get_database_backend();
    let tables_sql = match backend {
        DbBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table'",
    };
    let tables = owner
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .unwrap();
    let mut text = String::new();
    for t in tables {
        let name: String = t.try_get("", "name").unwrap();
        let sql = match backend {
            DbBackend::Postgres => format!("SELECT t::text AS row FROM \"{name}\" t"),
            _ => {
                let cols = owner
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name FROM pragma_table_info('{name}')"),
                    ))
                    .await
                    .unwrap();
                let cols: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        let c: String = c.try_get("", "name").unwrap();
                        // Ids are 16-byte blobs on SQLite: not text, and
                        // their bytes are no card number.
                        format!(
                            "CASE WHEN typeof(\"{c}\") = 'blob' THEN '' \
                             ELSE COALESCE(CAST(\"{c}\" AS TEXT), '') END"
                        )
                    })
                    .collect();
                format!("SELECT {} AS row FROM \"{name}\"", cols.join(" || '|' || "))
            }
        };
        for r in owner
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            let row: String = r.try_get("", "row").unwrap_or_default();
            text.push_str(&row);
            text.push('\n');
        }
    }
    text
}

db_test!(
    no_card_number_in_database_logs_or_pages_after_payment_journeys,
    |db| {
        let capture = captured_logs();

        let e = env(db, DeliveryOptions::default()).await;
        e.onboard(&e.a).await;
        let (card, _) = e.pay_with(&e.a, 5_000, "pay").await;
        let declined = e.pay(&e.a, Some(2_500), "scan-decline").await;
        assert_eq!(declined.status, 303, "{}", declined.text);
        let session = session_of(&declined);
        let (code, _) = e
            .control(
                &format!("/_sim/checkout/sessions/{session}/complete"),
                "action=decline",
            )
            .await;
        assert_eq!(code, 402, "the simulator declines like Stripe");
        e.pay_with(&e.a, 3_000, "bank_succeed").await;
        e.pay_with(&e.a, 4_000, "bank_fail").await;
        e.drain().await;
        let refund = Request::builder()
            .method("POST")
            .uri(format!("/api/v1/payments/{card}/refunds"))
            .header(
                "authorization",
                format!("Bearer {}", e.a.admin_key.expose()),
            )
            .header("idempotency-key", "scan-refund")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"amount_cents": 1_000, "reason": "meter misread"}).to_string(),
            ))
            .unwrap();
        let res = e.app.send(refund).await;
        assert!(res.status.is_success(), "{}", res.text);
        e.drain().await;

        // What we served.
        let mut pages = String::new();
        for path in [
            format!("/api/v1/payments/{card}"),
            format!("/api/v1/accounts/{}/payments", e.a.account),
            format!("/api/v1/accounts/{}/ledger", e.a.account),
            format!("/api/v1/accounts/{}", e.a.account),
        ] {
            let r = e.app.get(&path, e.a.admin_key.expose()).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            pages.push_str(&r.text);
        }
        assert!(pages.contains("succeeded"), "the journeys happened");

        let owner = e.app.db.owner().await;
        let db_text = database_text(&owner).await;
        let intent = e.payment(&e.a, &card).await["payment_intent_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            db_text.contains(&intent),
            "the scan read the payments table"
        );
        assert_eq!(
            card_numbers(&db_text),
            Vec::<String>::new(),
            "card-like numbers in the database"
        );
        assert_eq!(
            card_numbers(&pages),
            Vec::<String>::new(),
            "card-like numbers in responses"
        );
        let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
        assert!(
            logs.contains("request finished"),
            "the capture saw the requests"
        );
        assert_eq!(
            card_numbers(&logs),
            Vec::<String>::new(),
            "card-like numbers in the logs"
        );
    }
);
