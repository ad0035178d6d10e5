//! The privacy routes: staff download a customer's data (DSAR zip) within
//! their association only; an operator's legal disclosure export of one
//! account needs a stated reason and is audited on the platform and in the
//! association's log.

use crate::db_test;
use crate::support::audits::{all_audit, has, tenant_audit};
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::json;
use std::io::Read;
use tower::ServiceExt;

db_test!(
    staff_download_a_customers_data_and_operators_disclose_with_a_reason,
    |db| {
        let app = TestApp::new(db).await;
        let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
        let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
        let path = format!("/api/v1/accounts/{}/export", a.account);

        // A staff member (admin key) gets a zip holding this customer only.
        let req = Request::get(&path)
            .header("authorization", format!("Bearer {}", a.admin_key.expose()))
            .body(Body::empty())
            .unwrap();
        let res = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/zip");
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut doc = String::new();
        zip.by_name("account.json")
            .unwrap()
            .read_to_string(&mut doc)
            .unwrap();
        assert!(doc.contains(&a.marker), "{doc}");
        assert!(
            !doc.contains(&b.marker),
            "another association's data leaked"
        );
        // A viewer may not; another association's key finds nothing.
        assert_eq!(app.get(&path, a.viewer_key.expose()).await.status, 403);
        assert_eq!(app.get(&path, b.admin_key.expose()).await.status, 404);
        assert!(
            tenant_audit(&app, &a)
                .await
                .iter()
                .any(|e| e.action == "retention.export.account" && e.actor.starts_with("api_key:")),
            "the download is audited with who asked"
        );

        // Legal disclosure: operators only, with a reason.
        browser::operator(&app.pool, app.clock.as_ref(), "ops@platform.test").await;
        let mut op = Browser::default();
        op.sign_in(&app, "ops@platform.test", PASSWORD).await;
        op.enrol_totp(&app).await;
        let url = "/api/v1/operator/tenants/bravo/disclosure";
        let refused = op
            .json(
                &app,
                Method::POST,
                url,
                Some(json!({"account_id": b.account.to_string()})),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
        let ok = op
            .json(
                &app,
                Method::POST,
                url,
                Some(json!({"account_id": b.account.to_string(), "reason": "subpoena 2026-117"})),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.headers["content-type"], "application/zip");
        // Not an operator: refused.
        let staff = app
            .request(
                Method::POST,
                url,
                Some(b.admin_key.expose()),
                Some(json!({"account_id": b.account.to_string(), "reason": "x"})),
            )
            .await;
        assert_eq!(staff.status, 401);
        let log = tenant_audit(&app, &b).await;
        let entry = log
            .iter()
            .find(|e| e.action == "legal.disclosure")
            .expect("disclosure audited in the association's log");
        assert!(
            entry
                .details
                .as_ref()
                .unwrap()
                .to_string()
                .contains("subpoena 2026-117")
        );
        assert!(
            !entry
                .details
                .as_ref()
                .unwrap()
                .to_string()
                .contains(&b.marker)
        );
        assert!(has(
            &all_audit(&app).await,
            "platform.legal.disclosure",
            "success"
        ));
    }
);

db_test!(restricted_accounts_are_hidden_from_staff_views, |db| {
    use aqueduct_core::Clock;
    use aqueduct_retention::{erasure, policy::Limits};
    use chrono::Months;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let show = format!("/api/v1/accounts/{}", a.account);
    let listed = |page: serde_json::Value| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == a.account.to_string())
    };
    assert_eq!(app.get(&show, key).await.status, 200);
    assert!(listed(app.get("/api/v1/accounts", key).await.json()));

    // Closed two years ago, then the holder asks for erasure: restricted.
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let acct = aqueduct_retention::accounts::find(&tx, a.account)
        .await
        .unwrap()
        .unwrap();
    let mut am = acct.into_active_model();
    am.status = Set("closed".into());
    am.closed_at = Set(Some(
        app.clock.now().checked_sub_months(Months::new(24)).unwrap(),
    ));
    am.update(tx.conn()).await.unwrap();
    let answer = erasure::request(
        &tx,
        app.clock.as_ref(),
        "customer",
        a.account,
        &Limits::default(),
    )
    .await
    .unwrap();
    assert!(answer.erase_after.is_some());
    tx.commit().await.unwrap();

    // Hidden from the staff list and the account view…
    assert!(!listed(app.get("/api/v1/accounts", key).await.json()));
    assert_eq!(app.get(&show, key).await.status, 404);
    // … but the data subject export (a legal view) still finds it.
    assert_eq!(app.get(&format!("{show}/export"), key).await.status, 200);
});
