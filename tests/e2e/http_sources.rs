//! HTTP sources that end, stay bounded and keep credentials at home (audit M2, M3, M4, M5,
//! M12), through the binary against local servers the tests control.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json as j, Value};

use crate::scratch::Scratch;
use crate::support::*;

fn http_source(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\n[sources.connector]\nkind = \"http\"\nurl = \"{url}\"\nkey = \"k\"\n{extra}\n\
         [sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = {{ from = \"n\", required = true }}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn m2_an_api_that_ignores_page_is_stopped_at_the_repeated_page() {
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(|| async {
            axum::Json(j!({"data": [{"k": "s1", "n": "甲"}, {"k": "s2", "n": "乙"}]}))
        }),
    );
    let base = serve(app).await;
    let s = Scratch::sqlite();
    s.config(&http_source(
        "api",
        &format!("{base}/api?page={{page}}"),
        "pagination = { kind = \"page\", size = 2 }",
    ));
    let start = Instant::now();
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let src = &report["sources"][0];
    assert!(
        src["error"]
            .as_str()
            .unwrap()
            .contains("identical to an earlier page"),
        "{src}"
    );
    assert_eq!(src["accepted"], 2, "page 1 is kept");
    assert_eq!(src["input"]["pages"], 2);
    // The next run starts again from page 1 (the checkpoint does not creep on).
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sources"][0]["input"]["pages"], 2, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn m2_a_cursor_that_never_changes_is_stopped() {
    // Each answer differs (a new record), only the cursor repeats.
    let n = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(move || {
            let n = n.clone();
            async move {
                let i = {
                    let mut n = n.lock().unwrap();
                    *n += 1;
                    *n
                };
                axum::Json(j!({"next": "c1", "data": [{"k": format!("s{i}"), "n": "甲"}]}))
            }
        }),
    );
    let base = serve(app).await;
    let s = Scratch::sqlite();
    s.config(&http_source(
        "api",
        &format!("{base}/api?cursor={{cursor}}"),
        "pagination = { kind = \"cursor\", next_pointer = \"/next\" }",
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let src = &report["sources"][0];
    assert!(
        src["error"].as_str().unwrap().contains("a second time"),
        "{src}"
    );
    assert!(src["input"]["pages"].as_u64().unwrap() <= 3, "{src}");
}

#[tokio::test(flavor = "multi_thread")]
async fn m2_max_pages_bounds_a_run() {
    // Every page different and full: only the cap stops it.
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(|Query(q): Query<BTreeMap<String, String>>| async move {
            let p = q.get("page").cloned().unwrap_or_default();
            axum::Json(j!({"data": [{"k": format!("{p}a"), "n": "甲"}, {"k": format!("{p}b"), "n": "乙"}]}))
        }),
    );
    let base = serve(app).await;
    let s = Scratch::sqlite();
    s.config(&http_source(
        "api",
        &format!("{base}/api?page={{page}}"),
        "pagination = { kind = \"page\", size = 2 }\nmax_pages = 5",
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let src = &report["sources"][0];
    assert!(
        src["error"].as_str().unwrap().contains("max_pages"),
        "{src}"
    );
    assert_eq!(src["accepted"], 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn m3_since_does_not_move_past_a_page_that_failed() {
    // Page 2 is garbage until `since` has been offered once.
    let fail = Arc::new(Mutex::new(true));
    let f = fail.clone();
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(move |Query(q): Query<BTreeMap<String, String>>| {
            let fail = f.clone();
            async move {
                let page = q.get("page").cloned().unwrap_or_default();
                let since = q.get("since").cloned().unwrap_or_default();
                let recs = |ks: &[(&str, &str)]| {
                    ks.iter()
                        .filter(|(_, u)| *u > since.as_str())
                        .map(|(k, u)| j!({"k": k, "n": format!("名{k}"), "upd": u}))
                        .collect::<Vec<_>>()
                };
                match page.as_str() {
                    "1" => axum::Json(
                        j!({"data": recs(&[("g1", "2024-01-01"), ("g2", "2024-01-02")])}),
                    )
                    .into_response(),
                    "2" if *fail.lock().unwrap() => "<html>502</html>".into_response(),
                    "2" => axum::Json(
                        j!({"data": recs(&[("g3", "2024-01-03"), ("g4", "2024-01-04")])}),
                    )
                    .into_response(),
                    "3" => axum::Json(j!({"data": recs(&[("g5", "2024-01-05")])})).into_response(),
                    _ => axum::Json(j!({"data": []})).into_response(),
                }
            }
        }),
    );
    let base = serve(app).await;
    let s = Scratch::sqlite();
    s.config(&http_source(
        "api",
        &format!("{base}/api?page={{page}}&size=2&since={{since}}"),
        "pagination = { kind = \"page\", size = 2 }\nupdated_field = \"upd\"",
    ));
    let report: Value =
        serde_json::from_slice(&s.output(&["--json", "run", "--no-publish"]).await.stdout).unwrap();
    assert_eq!(report["sources"][0]["quarantined"], 1, "{report}");
    assert!(report["sources"][0]["input"]["since"].is_null(), "{report}");
    *fail.lock().unwrap() = false;
    ok(s.cmd(&["run", "--no-publish"]));
    let csv = ok(s.cmd(&["export", "crosswalk", "--entity", "person"]));
    for k in ["g1", "g2", "g3", "g4", "g5"] {
        assert!(csv.contains(&format!("api,{k},")), "{k} missing:\n{csv}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn m4_an_endless_body_is_cut_at_max_body_bytes() {
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(|| async {
            let chunk = vec![b' '; 1 << 20];
            let stream =
                futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(stream)
        }),
    );
    let base = serve(app).await;
    let s = Scratch::sqlite();
    s.config(&http_source(
        "api",
        &format!("{base}/api?page={{page}}"),
        "pagination = { kind = \"page\", size = 2 }\nmax_body_bytes = 8388608\ntimeout_secs = 60",
    ));
    let start = Instant::now();
    let report: Value =
        serde_json::from_slice(&s.output(&["--json", "run", "--no-publish"]).await.stdout).unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    let q = s.quarantine("api");
    assert!(
        q[0]["reason"].as_str().unwrap().contains("max_body_bytes"),
        "{q:?} {report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn m12_credentials_never_follow_a_redirect_to_another_origin() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let other = serve(axum::Router::new().route(
        "/api",
        axum::routing::get(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!("{headers:?}"));
                axum::Json(j!({"data": []}))
            }
        }),
    ))
    .await;
    let target = format!("{other}/api");
    let origin = serve(axum::Router::new().route(
        "/api",
        axum::routing::get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [("location", target)]) }
        }),
    ))
    .await;
    let mut s = Scratch::sqlite();
    s.env
        .insert("E2E_API_KEY".into(), "key-must-not-leak-42".into());
    s.env
        .insert("E2E_TOKEN".into(), "token-must-not-leak-43".into());
    s.config(&http_source(
        "api",
        &format!("{origin}/api?page={{page}}&sig=url-secret-44"),
        "pagination = { kind = \"page\", size = 2 }\n\
         [sources.connector.auth]\nbearer_env = \"E2E_TOKEN\"\nheaders = { \"X-Api-Key\" = \"${E2E_API_KEY}\" }",
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin was asked: {seen:?}"
    );
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("another origin"), "{err}");
    // M5: the URL's secret is in no output, status or log.
    let status = String::from_utf8_lossy(&s.cmd(&["--json", "status"]).output().unwrap().stdout)
        .into_owned();
    for text in [
        &err.to_string(),
        &String::from_utf8_lossy(&out.stderr).into_owned(),
        &status,
    ] {
        for secret in [
            "url-secret-44",
            "key-must-not-leak-42",
            "token-must-not-leak-43",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn m5_a_token_in_the_url_is_in_no_log_status_or_store() {
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
    );
    let base = serve(app).await;
    let mut s = Scratch::sqlite();
    s.env
        .insert("E2E_URL_TOKEN".into(), "tok-in-url-777".into());
    // One retry of the whole source by the pipeline, after the connector's own two.
    s.config(&format!(
        "[run]\nretries = 1\nretry_initial_ms = 10\n{}",
        http_source(
            "api",
            &format!("{base}/api?page={{page}}&token=${{E2E_URL_TOKEN}}"),
            "pagination = { kind = \"page\", size = 2 }\nmax_retries = 2\nbackoff_ms = 10\ntimeout_secs = 3",
        )
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert_eq!(
        out.status.code(),
        Some(5),
        "transient: still failing after its retries"
    );
    let status = String::from_utf8_lossy(&s.cmd(&["--json", "status"]).output().unwrap().stdout)
        .into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stderr.contains("retrying"), "{stderr}");
    for text in [&stderr, &stdout, &status] {
        assert!(!text.contains("tok-in-url-777"), "{text}");
    }
    for file in ["hub.db", "hub.db-wal"] {
        let bytes = std::fs::read(s.path(file)).unwrap_or_default();
        assert!(
            !bytes.windows(14).any(|w| w == b"tok-in-url-777"),
            "token in {file}"
        );
    }
}
