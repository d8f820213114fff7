//! Against a local HTTP server: page/size and cursor pagination, bearer auth from the
//! environment, retry of a 503, and a page that is not JSON quarantined without stopping the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use tombolo_connector_http::{Auth, HttpConfig, HttpSource, Pagination};
use tombolo_core::{Pulled, Source};

#[derive(Clone, Default)]
struct Hits {
    page2: Arc<AtomicUsize>,
}

async fn pages(
    State(hits): State<Hits>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer t0ken") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    match page {
        1 => axum::Json(
            json!({"total": 7, "data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}),
        )
        .into_response(),
        2 => {
            // The first request for page 2 fails with 503; the retry succeeds.
            if hits.page2.fetch_add(1, Ordering::SeqCst) == 0 {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            axum::Json(json!({"total": 7, "data": [{"id": 3, "name": "c"}, {"name": "no key"}]}))
                .into_response()
        }
        3 => (StatusCode::OK, "<html>gateway error</html>").into_response(),
        4 => axum::Json(json!({"total": 7, "data": [{"id": 7, "name": "g"}]})).into_response(),
        _ => axum::Json(json!({"total": 7, "data": []})).into_response(),
    }
}

async fn cursor(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    match q.get("cursor").map(String::as_str).unwrap_or("") {
        "" => axum::Json(json!({"items": [{"k": "x1"}], "next": "abc"})).into_response(),
        "abc" => axum::Json(json!({"items": [{"k": "x2"}], "next": null})).into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Answers the first request after 3 seconds (longer than the client's timeout), then at once.
async fn slow(State(hits): State<Hits>) -> Response {
    if hits.page2.fetch_add(1, Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    axum::Json(json!({"data": [{"id": 1}]})).into_response()
}

async fn serve() -> String {
    let app = Router::new()
        .route("/pages", get(pages))
        .route("/cursor", get(cursor))
        .route("/slow", get(slow))
        .with_state(Hits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn config(url: String, pagination: Pagination) -> HttpConfig {
    HttpConfig {
        url,
        pagination,
        records_pointer: "/data".into(),
        total_pointer: Some("/total".into()),
        key: "id".into(),
        updated_field: None,
        auth: Auth {
            bearer_env: Some("TOMBOLO_TEST_TOKEN".into()),
            headers: Default::default(),
        },
        timeout_secs: 5,
        max_retries: 3,
        backoff_ms: 10,
        rate_limit_per_sec: Some(200.0),
        max_pages: 1000,
        max_body_bytes: 1 << 20,
        full_listing: false,
    }
}

#[tokio::test]
async fn pages_retries_and_bad_pages() {
    std::env::set_var("TOMBOLO_TEST_TOKEN", "t0ken");
    let base = serve().await;
    let cfg = config(
        format!("{base}/pages?page={{page}}&size={{size}}"),
        Pagination::Page { start: 1, size: 2 },
    );
    let mut src = HttpSource::open(&cfg, vec!["name".into()], None).unwrap();
    let (mut keys, mut bad) = (vec![], vec![]);
    while let Some(b) = src.next_batch().await.unwrap() {
        for it in b.items {
            match it {
                Pulled::Record(r) => keys.push(r.key),
                Pulled::Malformed(m) => bad.push((m.key, m.reason)),
            }
        }
    }
    assert_eq!(keys, vec!["1", "2", "3", "7"]);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].1.contains("without key field"));
    assert_eq!(bad[1].0, "page 3");
    assert!(bad[1].1.contains("not JSON"), "{bad:?}");
}

#[tokio::test]
async fn missing_token_is_fatal_and_wrong_token_is_refused() {
    let base = serve().await;
    let mut cfg = config(
        format!("{base}/pages?page={{page}}"),
        Pagination::Page { start: 1, size: 2 },
    );
    cfg.auth.bearer_env = Some("TOMBOLO_UNSET_TOKEN_VAR".into());
    assert!(HttpSource::open(&cfg, vec![], None).is_err());
    std::env::set_var("TOMBOLO_WRONG_TOKEN", "nope");
    cfg.auth.bearer_env = Some("TOMBOLO_WRONG_TOKEN".into());
    let mut src = HttpSource::open(&cfg, vec![], None).unwrap();
    let err = src.next_batch().await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn cursor_pagination() {
    let base = serve().await;
    let mut cfg = config(
        format!("{base}/cursor?cursor={{cursor}}"),
        Pagination::Cursor {
            next_pointer: "/next".into(),
        },
    );
    cfg.auth = Auth::default();
    cfg.records_pointer = "/items".into();
    cfg.total_pointer = None;
    cfg.key = "k".into();
    let mut src = HttpSource::open(&cfg, vec![], None).unwrap();
    let mut keys = vec![];
    while let Some(b) = src.next_batch().await.unwrap() {
        for it in b.items {
            if let Pulled::Record(r) = it {
                keys.push(r.key);
            }
        }
    }
    assert_eq!(keys, vec!["x1", "x2"]);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let base = serve().await;
    let mut cfg = config(
        format!("{base}/slow?page={{page}}"),
        Pagination::Page { start: 1, size: 10 },
    );
    cfg.auth = Auth::default();
    cfg.total_pointer = None;
    cfg.timeout_secs = 1;
    let mut src = HttpSource::open(&cfg, vec![], None).unwrap();
    let batch = src.next_batch().await.unwrap().unwrap();
    assert_eq!(
        batch.items.len(),
        1,
        "the retry after the timeout got the page"
    );
}

#[tokio::test]
async fn request_rate_is_limited() {
    std::env::set_var("TOMBOLO_TEST_TOKEN", "t0ken");
    let base = serve().await;
    let mut cfg = config(
        format!("{base}/pages?page={{page}}&size={{size}}"),
        Pagination::Page { start: 1, size: 2 },
    );
    cfg.rate_limit_per_sec = Some(5.0);
    cfg.max_retries = 0;
    let mut src = HttpSource::open(&cfg, vec![], None).unwrap();
    let started = std::time::Instant::now();
    // Page 1 and page 2 (which answers 503 once: with no retries the source stops there).
    src.next_batch().await.unwrap();
    let _ = src.next_batch().await;
    let _ = src.next_batch().await;
    // Three requests at 5 per second take at least two gaps of 200 ms.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
}
