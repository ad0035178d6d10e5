//! The association's uploaded logo: `PUT`/`DELETE /api/v1/branding/logo`,
//! the public `GET /{slug}/logo` (ETag, 304, caching), the pages and the
//! bill (HTML and PDF) showing it, refusals that store nothing, and the
//! settings page's upload form (multipart, CSRF token as a part).

use crate::db_test;
use crate::support::app::TestResponse;
use crate::support::browser::{self, Browser, PASSWORD};
use crate::support::{TestApp, seed};
use aqueduct_documents::pdf::inspect;
use aqueduct_tenant::audit;
use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;

// ------------------------------------------------- hand-made test images

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    !crc
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32(&[kind, body]).to_be_bytes());
}

/// A PNG of `w`×`h`: `colour_type`/`bits`/`interlace` as given, pixels
/// from `px(x, y)` (each row unfiltered).
fn png(w: u32, h: u32, bits: u8, colour_type: u8, interlace: u8, channels: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bits, colour_type, 0, 0, interlace]);
    chunk(&mut out, b"IHDR", &ihdr);
    let row = usize::try_from(w).unwrap() * channels * usize::from(bits) / 8;
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0);
        raw.extend((0..row).map(|i| u8::try_from((i * 37 + y as usize * 11) % 256).unwrap()));
    }
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A 1×1 grey PNG whose header claims `w`×`h` (the data does not match).
fn claims(w: u32, h: u32) -> Vec<u8> {
    let mut p = png(1, 1, 8, 0, 0, 1);
    p[16..20].copy_from_slice(&w.to_be_bytes());
    p[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&[&p[12..16], &p[16..29]]);
    p[29..33].copy_from_slice(&crc.to_be_bytes());
    p
}

/// A small RGBA logo (4:1).
fn rgba_logo() -> Vec<u8> {
    png(40, 10, 8, 6, 0, 4)
}

/// A minimal JPEG's markers: SOI, SOF0 of 30×20 RGB, SOS, a few bytes, EOI.
fn jpeg() -> Vec<u8> {
    let mut j = vec![0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0, 20, 0, 30, 3];
    for c in 1..=3u8 {
        j.extend_from_slice(&[c, 0x11, 0]);
    }
    j.extend_from_slice(&[
        0xff, 0xda, 0x00, 0x0c, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0,
    ]);
    j.extend_from_slice(&[0x12, 0x34, 0x56, 0xff, 0xd9]);
    j
}

// ---------------------------------------------------------------- helpers

async fn put_logo(app: &TestApp, key: &str, content_type: &str, data: &[u8]) -> TestResponse {
    let req = Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/branding/logo")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(Body::from(data.to_vec()))
        .unwrap();
    app.send(req).await
}

async fn public(app: &TestApp, path: &str, if_none_match: Option<&str>) -> TestResponse {
    let mut req = Request::builder().uri(path);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn actions(app: &TestApp, a: &seed::Seeded) -> Vec<String> {
    let tx = app.pool.tenant(&a.tenant).await.unwrap();
    let out = audit::recent(&tx, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    tx.commit().await.unwrap();
    out
}

// ------------------------------------------------------------------ tests

db_test!(logo_upload_is_served_shown_and_printed, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let b = seed::tenant(&app.pool, app.clock.as_ref(), "bravo").await;
    let key = a.admin_key.expose();
    let logo = rgba_logo();

    // Nothing yet.
    assert_eq!(public(&app, "/alpha/logo", None).await.status, 404);
    assert_eq!(
        app.get("/api/v1/branding", key).await.json()["logo"],
        Value::Null
    );

    let put = put_logo(&app, key, "image/png", &logo).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let info = put.json();
    let url = info["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/alpha/logo?v="), "{url}");
    assert_eq!(info["content_type"], "image/png");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(40), Some(10))
    );
    assert_eq!(info["bytes"].as_u64(), Some(logo.len() as u64));
    assert!(
        actions(&app, &a)
            .await
            .iter()
            .any(|x| x == "branding.logo_uploaded")
    );

    // Served as uploaded, cacheable, with an ETag and nosniff.
    let got = public(&app, &url, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, logo, "the same bytes come back");
    assert_eq!(got.headers["content-type"], "image/png");
    assert_eq!(got.headers["cache-control"], "public, max-age=300");
    assert_eq!(got.headers["x-content-type-options"], "nosniff");
    let tag = got.headers["etag"].to_str().unwrap().to_owned();
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");
    let again = public(&app, "/alpha/logo", Some(&tag)).await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());
    assert_eq!(again.headers["etag"], tag.as_str());
    let weak = public(&app, "/alpha/logo", Some(&format!("\"nope\", W/{tag}"))).await;
    assert_eq!(weak.status, 304);
    let stale = public(&app, "/alpha/logo", Some("\"something-else\"")).await;
    assert_eq!(stale.status, 200);

    // The association's pages show it; the other association's do not.
    let home = public(&app, "/alpha", None).await;
    assert!(
        home.text.contains(&format!("<img src=\"{url}\"")),
        "{}",
        home.text
    );
    let other = public(&app, "/bravo", None).await;
    assert!(!other.text.contains("/logo?v="));
    assert_eq!(
        app.get("/api/v1/branding", key).await.json()["logo"]["url"],
        url.as_str()
    );

    // The bill: HTML and PDF.
    let html = app
        .get(&format!("/api/v1/bills/{}/document", a.bill), key)
        .await;
    assert_eq!(html.status, 200);
    assert!(
        html.text.contains(&format!(
            "<img class=\"logo\" src=\"{url}\" alt=\"\" width=\"115\" height=\"29\">"
        )),
        "{}",
        html.text
    );
    let pdf = app.get(&format!("/api/v1/bills/{}/pdf", a.bill), key).await;
    assert_eq!(pdf.status, 200);
    inspect::xref(&pdf.bytes).unwrap_or_else(|e| panic!("xref: {e}"));
    assert!(inspect::find(&pdf.bytes, b"/Subtype /Image /Width 40 /Height 10", 0).is_some());
    assert!(
        inspect::find(&pdf.bytes, b"/SMask", 0).is_some(),
        "alpha as a soft mask"
    );
    let page = &inspect::contents(&pdf.bytes)[0];
    assert!(page.contains("/Im1 Do"), "{page}");
    // Bravo's bill has none.
    let theirs = app
        .get(
            &format!("/api/v1/bills/{}/pdf", b.bill),
            b.admin_key.expose(),
        )
        .await;
    assert!(inspect::find(&theirs.bytes, b"/Subtype /Image", 0).is_none());

    // Bravo can neither see nor remove alpha's logo.
    assert_eq!(public(&app, "/bravo/logo", None).await.status, 404);
    let del = app
        .request(
            Method::DELETE,
            "/api/v1/branding/logo",
            Some(b.admin_key.expose()),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(public(&app, "/alpha/logo", None).await.bytes, logo);
    let theirs = put_logo(&app, b.admin_key.expose(), "image/jpeg", &jpeg()).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(public(&app, "/alpha/logo", None).await.bytes, logo);
    assert_eq!(public(&app, "/bravo/logo", None).await.bytes, jpeg());

    // Replacing it changes the version and the ETag.
    let put = put_logo(&app, key, "image/jpeg", &jpeg()).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let url2 = put.json()["url"].as_str().unwrap().to_owned();
    assert_ne!(url, url2);
    let got = public(&app, "/alpha/logo", Some(&tag)).await;
    assert_eq!(got.status, 200, "the old ETag no longer matches");
    assert_eq!(got.headers["content-type"], "image/jpeg");
    let pdf = app.get(&format!("/api/v1/bills/{}/pdf", a.bill), key).await;
    inspect::xref(&pdf.bytes).unwrap();
    assert!(
        inspect::find(
            &pdf.bytes,
            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
            0
        )
        .is_some()
    );

    // Removing it: 404, the pages fall back to the path option.
    let set = app
        .request(
            Method::PUT,
            "/api/v1/branding",
            Some(key),
            Some(serde_json::json!({ "logo_url": "/static/alpha.png" })),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let home = public(&app, "/alpha", None).await;
    assert!(
        home.text.contains(&format!("<img src=\"{url2}\"")),
        "upload wins"
    );
    let del = app
        .request(Method::DELETE, "/api/v1/branding/logo", Some(key), None)
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(public(&app, "/alpha/logo", None).await.status, 404);
    assert!(
        actions(&app, &a)
            .await
            .iter()
            .any(|x| x == "branding.logo_removed")
    );
    let home = public(&app, "/alpha", None).await;
    assert!(
        home.text.contains("<img src=\"/static/alpha.png\""),
        "{}",
        home.text
    );
    assert!(!home.text.contains("/alpha/logo"));
    let pdf = app.get(&format!("/api/v1/bills/{}/pdf", a.bill), key).await;
    assert!(inspect::find(&pdf.bytes, b"/Subtype /Image", 0).is_none());
    assert_eq!(
        public(&app, "/no-such-association/logo", None).await.status,
        404
    );
});

db_test!(bad_logos_are_refused_and_store_nothing, |db| {
    let app = TestApp::new(db).await;
    let a = seed::tenant(&app.pool, app.clock.as_ref(), "alpha").await;
    let key = a.admin_key.expose();
    let mut big = rgba_logo();
    big.resize(300 * 1024, 0);
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let mut corrupt = rgba_logo();
    let n = corrupt.len();
    corrupt[n - 20] ^= 0x55;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("image/png", big, "at most 256 KiB"),
        ("image/gif", gif.clone(), "image/png or image/jpeg"),
        ("image/png", gif, "GIF"),
        (
            "image/png",
            b"this is not an image at all".to_vec(),
            "PNG or JPEG",
        ),
        ("image/png", corrupt, "corrupt"),
        ("image/png", png(8, 8, 8, 2, 1, 3), "interlaced"),
        ("image/png", png(4, 4, 16, 2, 0, 3), "16-bit"),
        ("image/png", png(2001, 1, 8, 0, 0, 1), "at most 2000×2000"),
        // Refused from the header, before anything is decoded.
        (
            "image/png",
            claims(50_000, 50_000),
            "50000×50000 pixels; at most 2000×2000",
        ),
        ("image/png", claims(3, 3), "corrupt"),
        (
            "image/jpeg",
            rgba_logo(),
            "the file is image/png but was sent as image/jpeg",
        ),
        (
            "text/plain",
            rgba_logo(),
            "Content-Type image/png or image/jpeg",
        ),
        ("image/jpeg", jpeg()[..12].to_vec(), "corrupt"),
    ];
    for (ct, data, want) in &cases {
        let res = put_logo(&app, key, ct, data).await;
        assert_eq!(res.status, 422, "{ct} {want}: {}", res.text);
        let msg = res.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(
            public(&app, "/alpha/logo", None).await.status,
            404,
            "{want}"
        );
    }
    assert_eq!(
        app.get("/api/v1/branding", key).await.json()["logo"],
        Value::Null
    );
    assert!(
        !actions(&app, &a)
            .await
            .iter()
            .any(|x| x.starts_with("branding.logo"))
    );

    // A refused upload leaves the current logo in place.
    let good = rgba_logo();
    assert_eq!(put_logo(&app, key, "image/png", &good).await.status, 200);
    assert_eq!(put_logo(&app, key, "image/png", b"junk").await.status, 422);
    assert_eq!(public(&app, "/alpha/logo", None).await.bytes, good);

    // A viewer may not upload or remove.
    let viewer = put_logo(&app, a.viewer_key.expose(), "image/png", &good).await;
    assert_eq!(viewer.status, 403);
    let viewer = app
        .request(
            Method::DELETE,
            "/api/v1/branding/logo",
            Some(a.viewer_key.expose()),
            None,
        )
        .await;
    assert_eq!(viewer.status, 403);
    assert_eq!(public(&app, "/alpha/logo", None).await.status, 200);
    // Nor may anyone without credentials.
    let anon = app
        .send(
            Request::builder()
                .method(Method::PUT)
                .uri("/api/v1/branding/logo")
                .header("content-type", "image/png")
                .body(Body::from(good.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(anon.status, 401);
});

const BOUNDARY: &str = "----aqueductlogo";

fn form(csrf: Option<&str>, file: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(t) = csrf {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{t}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(f) = file {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(f);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

db_test!(
    logo_form_on_the_settings_page_works_without_javascript,
    |db| {
        let (app, _a) =
            browser::alpha_with(db, "admin@alpha.test", aqueduct_tenant::Role::Admin).await;
        let mut b = Browser::default();
        let signed = b.sign_in(&app, "admin@alpha.test", PASSWORD).await;
        assert_eq!(signed.status, 200, "{}", signed.text);
        let token = b.csrf.clone().unwrap();
        // A browser without script sends the token as a form part, not a header.
        let mut bare = b.clone();
        bare.csrf = None;

        let page = bare.get(&app, "/app/settings/branding").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains(
        "<form method=\"post\" action=\"/app/settings/branding/logo\" enctype=\"multipart/form-data\">"
    ));
        assert!(page.text.contains("<label for=\"logo_file\">"));
        assert!(page.text.contains("name=\"csrf_token\""));
        assert!(page.text.contains("No logo uploaded yet."));
        assert!(!page.text.contains("/app/settings/branding/logo/remove"));

        let post = |b: &Browser, path: &str, body: Vec<u8>| {
            b.build(Method::POST, path)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(Body::from(body))
                .unwrap()
        };
        let logo = rgba_logo();
        // Without the token: refused, nothing stored.
        let req = post(
            &bare,
            "/app/settings/branding/logo",
            form(None, Some(&logo)),
        );
        assert_eq!(bare.send(&app, req).await.status, 403);
        let req = post(
            &bare,
            "/app/settings/branding/logo",
            form(Some("nope"), Some(&logo)),
        );
        assert_eq!(bare.send(&app, req).await.status, 403);
        assert_eq!(public(&app, "/alpha/logo", None).await.status, 404);

        // With it: stored, and the page shows it.
        let req = post(
            &bare,
            "/app/settings/branding/logo",
            form(Some(&token), Some(&logo)),
        );
        let res = bare.send(&app, req).await;
        assert_eq!(res.status, 303, "{}", res.text);
        assert_eq!(res.headers["location"], "/app/settings/branding?saved=logo");
        assert_eq!(public(&app, "/alpha/logo", None).await.bytes, logo);
        let page = bare.get(&app, "/app/settings/branding?saved=logo").await;
        assert!(page.text.contains("Logo uploaded."));
        assert!(
            page.text
                .contains("Uploaded logo: PNG, 40 × 10 pixels, 2 KiB"),
            "{}",
            page.text
        );
        assert!(page.text.contains("src=\"/alpha/logo?v="));
        assert!(
            page.text
                .contains("action=\"/app/settings/branding/logo/remove\"")
        );

        // A bad file: the error on the page, the logo unchanged.
        let req = post(
            &bare,
            "/app/settings/branding/logo",
            form(Some(&token), Some(b"GIF89a....")),
        );
        let res = bare.send(&app, req).await;
        assert_eq!(res.status, 200);
        assert!(res.text.contains("class=\"error\""), "{}", res.text);
        assert!(res.text.contains("this file is a GIF"));
        let req = post(
            &bare,
            "/app/settings/branding/logo",
            form(Some(&token), None),
        );
        let res = bare.send(&app, req).await;
        assert!(
            res.text.contains("Choose a PNG or JPEG file"),
            "{}",
            res.text
        );
        assert_eq!(public(&app, "/alpha/logo", None).await.bytes, logo);

        // Remove: a plain form with the token.
        let remove = |b: &Browser, body: String| {
            b.build(Method::POST, "/app/settings/branding/logo/remove")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        };
        let req = remove(&bare, String::new());
        assert_eq!(bare.send(&app, req).await.status, 403);
        assert_eq!(public(&app, "/alpha/logo", None).await.status, 200);
        let req = remove(&bare, format!("csrf_token={token}"));
        let res = bare.send(&app, req).await;
        assert_eq!(res.status, 303, "{}", res.text);
        assert_eq!(public(&app, "/alpha/logo", None).await.status, 404);
    }
);
