//! The bill as a PDF: the staff route, the print-and-mail batch of a run
//! (paper customers only, route order, one page each) and the PDF
//! attached to "bill ready" mails when the association chooses it —
//! checked structurally (cross-reference offsets) and by the text drawn.

use crate::db_test;
use crate::notifications::{Spec, add_accounts, finalize_november, worker};
use crate::support::TestApp;
use crate::support::seed;
use crate::support::smtp::SmtpServer;
use aqueduct_billing::statement;
use aqueduct_documents::bill::money;
use aqueduct_documents::pdf::inspect;
use base64::Engine as _;
use http::Method;
use serde_json::json;

/// Every page's text, checked for a sound cross-reference table first.
fn pages(pdf: &[u8]) -> Vec<Vec<String>> {
    assert!(pdf.starts_with(b"%PDF-1.4"), "not a PDF");
    inspect::xref(pdf).unwrap_or_else(|e| panic!("xref: {e}"));
    inspect::contents(pdf)
        .iter()
        .map(|c| inspect::texts(c))
        .collect()
}

db_test!(staff_get_a_print_ready_pdf_of_a_bill, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "beta").await;
    let path = format!("/api/v1/bills/{}/pdf", a.bill);
    let res = app.get(&path, a.viewer_key.expose()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.headers["content-type"], "application/pdf");
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let s = statement::for_bill(&tx, a.bill).await.unwrap();
    tx.commit().await.unwrap();
    let text = pages(&res.bytes);
    assert_eq!(text.len(), 1);
    let has = |t: &str| text[0].iter().any(|x| x == t);
    assert!(has(&s.account.account_number), "{:?}", text[0]);
    assert!(has(&money(s.amount_due)), "amount due {}", s.amount_due);
    assert!(has("WATER BILL") && has("Payment stub"));
    assert!(has("alpha water association"));
    // In Spanish on request; an unknown language is refused.
    let es = app
        .get(&format!("{path}?lang=es"), a.viewer_key.expose())
        .await;
    assert!(pages(&es.bytes)[0].iter().any(|t| t == "FACTURA DE AGUA"));
    let fr = app
        .get(&format!("{path}?lang=fr"), a.viewer_key.expose())
        .await;
    assert_eq!(fr.status, 422, "{}", fr.text);
    // Another association's staff: 404, as if it did not exist.
    let other = app.get(&path, b.admin_key.expose()).await;
    assert_eq!(other.status, 404, "{}", other.text);
    // The HTML bill links to the PDF.
    let html = app
        .get(
            &format!("/api/v1/bills/{}/document", a.bill),
            a.viewer_key.expose(),
        )
        .await;
    assert!(
        html.text.contains(&format!("href=\"{path}\"")),
        "{}",
        html.text
    );
});

db_test!(
    print_mail_pdf_is_one_page_per_paper_bill_in_route_order,
    |db| {
        let app = TestApp::new(db).await;
        let s = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        // Sequence falls as the index rises: route order is the reverse.
        let specs: [Spec<'_>; 5] = [
            (Some("p0@cust.test"), false),
            (Some("p1@cust.test"), true),
            (None, false),
            (Some("p3@cust.test"), false),
            (None, true),
        ];
        add_accounts(&app, &s, &specs).await;
        let run = finalize_november(&app, &s).await;
        let csv = app
            .get(
                &format!("/api/v1/bill-runs/{run}/print-mail.csv"),
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        let expected: Vec<String> = csv
            .text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(3).unwrap().to_owned())
            .collect();
        let res = app
            .get(
                &format!("/api/v1/bill-runs/{run}/print-mail.pdf"),
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.headers["content-type"], "application/pdf");
        let text = pages(&res.bytes);
        assert_eq!(text.len(), expected.len(), "one page per paper bill");
        let on_page: Vec<String> = text
            .iter()
            .map(|p| {
                ["300-0", "300-1", "300-2", "300-3", "300-4", "100-1"]
                    .iter()
                    .find(|n| p.iter().any(|t| t == *n))
                    .map(|n| (*n).to_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(on_page, expected);
        // The paper customers, in route order; no paperless ones.
        let ours: Vec<&str> = on_page
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with("300-"))
            .collect();
        assert_eq!(ours, ["300-3", "300-2", "300-0"]);
        // Unknown run: 404.
        let missing = app
            .get(
                &format!("/api/v1/bill-runs/{}/print-mail.pdf", uuid::Uuid::now_v7()),
                s.viewer_key.expose(),
            )
            .await;
        assert_eq!(missing.status, 404);
    }
);

db_test!(
    bill_ready_mail_attaches_the_pdf_when_the_association_chooses,
    |db| {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "beta").await;
        let path = "/api/v1/notification-settings";
        let bad = app
            .request(
                Method::PUT,
                path,
                Some(a.admin_key.expose()),
                Some(json!({ "bill_pdf": "fax" })),
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        let ok = app
            .request(
                Method::PUT,
                path,
                Some(a.admin_key.expose()),
                Some(json!({ "bill_pdf": "attach" })),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            app.get(path, a.viewer_key.expose()).await.json()["bill_pdf"],
            "attach"
        );
        // Alpha attaches; beta keeps the default (link only).
        add_accounts(&app, &a, &[(Some("pdf@cust.test"), true)]).await;
        add_accounts(&app, &b, &[(Some("link@cust.test"), true)]).await;
        finalize_november(&app, &a).await;
        finalize_november(&app, &b).await;
        worker(&app, &smtp).run_until_idle().await.unwrap();
        let mails = smtp.received();
        let got: Vec<_> = mails
            .iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == "pdf@cust.test"))
            .collect();
        assert_eq!(got.len(), 1, "{mails:?}");
        let m = got[0];
        assert!(m.raw.contains("multipart/mixed"), "{}", m.raw);
        assert!(!m.text.is_empty() && !m.html.is_empty(), "body parts kept");
        assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
        let att = &m.attachments[0];
        assert_eq!(att.content_type, "application/pdf");
        assert!(att.filename.starts_with("bill-") && att.filename.ends_with(".pdf"));
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(&att.data_b64)
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = pages(&pdf);
        assert!(text[0].iter().any(|t| t == "300-0"), "{:?}", text[0]);
        let link: Vec<_> = mails
            .iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == "link@cust.test"))
            .collect();
        assert_eq!(link.len(), 1);
        assert!(link[0].attachments.is_empty(), "link only: no attachment");
    }
);
