//! Errors that act, one test per class, through the binary: a transient failure is retried from
//! the source's checkpoint with backoff (and the source's `Retry-After`), the retries in the log,
//! the run report and `status`; bad input is quarantined and the run succeeds; a fatal error
//! stops only its source. The exit code says which: 0, 3 (fatal), 5 (still transient).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json as j, Value};

use crate::scratch::*;
use crate::support::*;

/// An HTTP person source that the connector itself does not retry (`max_retries = 0`), so every
/// failure reaches the pipeline.
fn api(name: &str, url: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\n[sources.connector]\nkind = \"http\"\nurl = \"{url}?page={{page}}\"\n\
         key = \"k\"\nmax_retries = 0\npagination = {{ kind = \"page\", size = 2 }}\n[sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\n\
         name = {{ from = \"n\", required = true }}\n"
    )
}

/// An API that answers 503 (with `Retry-After` when `retry_after` is set) to its first
/// `failures` requests, then two people on page 1 and none after.
async fn flaky(failures: u32, retry_after: Option<u32>) -> (String, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/people",
        axum::routing::get(move |Query(q): Query<BTreeMap<String, String>>| {
            let calls = calls.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    let mut headers = HeaderMap::new();
                    if let Some(s) = retry_after {
                        headers.insert("retry-after", HeaderValue::from(s));
                    }
                    return (StatusCode::SERVICE_UNAVAILABLE, headers, "down").into_response();
                }
                if q.get("page").map(String::as_str) != Some("1") {
                    return axum::Json(j!({"data": []})).into_response();
                }
                axum::Json(j!({"data": [{"k": "f1", "n": "甲"}, {"k": "f2", "n": "乙"}]}))
                    .into_response()
            }
        }),
    );
    (format!("{}/people", serve(app).await), seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_error_class_decides_what_happens_and_the_exit_code_says_which() {
    let (flaky_url, calls) = flaky(2, None).await;
    let refusing = axum::Router::new().route(
        "/people",
        axum::routing::get(|| async { (StatusCode::UNAUTHORIZED, "no") }),
    );
    let refusing_url = format!("{}/people", serve(refusing).await);
    let s = Scratch::sqlite();
    s.write(
        "p.csv",
        "id,name,phone,birth\n1,张三,13800138001,1990-01-01\n2,,13800138002,1990-01-02\n",
    );
    s.config(&format!(
        "[run]\nretries = 3\nretry_initial_ms = 20\n{}{}{}",
        api("flaky", &flaky_url),
        api("refusing", &refusing_url),
        person_csv("csv", "p.csv")
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    // Fatal: the refusing API stops, alone; the exit code says a source must be fixed.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let refusing = by_source(&report, "refusing");
    assert_eq!(refusing["error_class"], "fatal", "{refusing}");
    assert_eq!(refusing["retries"], 0, "a fatal error is not retried");
    // Transient: failed twice, retried from its checkpoint, then read whole.
    let flaky = by_source(&report, "flaky");
    assert!(flaky["error"].is_null(), "{flaky}");
    assert_eq!(
        (flaky["retries"].as_u64(), flaky["accepted"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "two failures, then pages 1 and 2"
    );
    // The input report covers every attempt, as the counts do.
    let attempts = flaky["input"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{flaky}");
    assert_eq!(attempts[2]["pages"], 2, "{flaky}");
    assert!(
        by_source(&report, "csv")["input"]["attempts"].is_null(),
        "one attempt: its report as it was"
    );
    let log = stderr(&out);
    assert_eq!(
        log.matches("retrying the source from its checkpoint")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(s.source_status("flaky")["last"]["retries"], 2);
    // Bad record: quarantined, the source succeeds.
    let csv = by_source(&report, "csv");
    assert!(csv["error"].is_null(), "{csv}");
    assert_eq!(
        (csv["accepted"].as_u64(), csv["quarantined"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s.quarantine("csv").len(), 1);
    assert_eq!(
        s.goldens().len(),
        3,
        "the sources that could be read were resolved"
    );

    // Without the refusing source, the run succeeds although a row is quarantined.
    s.config(&format!(
        "[run]\nretries = 3\nretry_initial_ms = 20\n{}{}",
        api("flaky", &flaky_url),
        person_csv("csv", "p.csv")
    ));
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_still_down_after_its_retries_exits_5_having_waited_its_retry_after() {
    let (url, calls) = flaky(u32::MAX, Some(1)).await;
    let s = Scratch::sqlite();
    s.config(&format!(
        "[run]\nretries = 2\nretry_initial_ms = 10\n{}",
        api("down", &url)
    ));
    let start = Instant::now();
    let out = s.output(&["--json", "run", "--no-publish"]).await;
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    // Two waits of the server's one second, not the configured 10 ms.
    assert!(took >= Duration::from_secs(2), "took {took:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the first try and two retries"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let down = by_source(&report, "down");
    assert_eq!(down["error_class"], "transient", "{down}");
    assert_eq!(down["retries"], 2);
    assert!(
        down["error"].as_str().unwrap().contains("retry after 1 s"),
        "{down}"
    );
    let st = s.source_status("down");
    assert_eq!(st["last"]["retries"], 2, "{st}");
    assert!(st["last_error"].as_str().unwrap().contains("503"), "{st}");
}
