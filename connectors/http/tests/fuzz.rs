//! Property-based fuzzing of JSON pages (stable Rust, proptest): whatever a page holds, the
//! HTTP source never panics and accounts for it: one item per record of a JSON page, or the
//! page quarantined as one item. Short run in the suite; longer:
//! `PROPTEST_CASES=5000 cargo test -p tombolo-connector-http --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use serde_json::Value;
use tombolo_connector_http::{HttpConfig, HttpSource};
use tombolo_core::{Pulled, Source};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![Just("k".to_owned()), Just("n".to_owned()), ".{0,4}"],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A page body: JSON with a records array, any JSON, or bytes that are not JSON at all.
fn page() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(json_value(), 0..6)
            .prop_map(
                |records| serde_json::to_vec(&serde_json::json!({ "data": records })).unwrap()
            ),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        proptest::collection::vec(any::<u8>(), 0..64),
        "\\{\"data\":\\[\\{\"k\":\"[a-z]{0,3}".prop_map(String::into_bytes),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn any_page_is_read_or_quarantined_never_a_panic(body in page()) {
        let rt = runtime();
        let body = Arc::new(Mutex::new(body));
        let (items, expected) = rt.block_on(async {
            let b = body.clone();
            let app = axum::Router::new().route(
                "/api",
                axum::routing::get(move |axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>| {
                    let b = b.clone();
                    async move {
                        // The page under test first, then the end.
                        match q.get("page").map(String::as_str) {
                            Some("1") => b.lock().unwrap().clone(),
                            _ => b"{\"data\":[]}".to_vec(),
                        }
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            let cfg: HttpConfig = toml::from_str(&format!(
                "url = \"{base}/api?page={{page}}\"\npagination = {{ kind = \"page\", size = 1000 }}\nkey = \"k\"\nmax_retries = 0\ntimeout_secs = 5"
            ))
            .unwrap();
            let mut src = HttpSource::open(&cfg, vec!["n".into()], None).unwrap();
            let mut items = Vec::new();
            let mut failed = false;
            loop {
                match src.next_batch().await {
                    Ok(Some(b)) => items.extend(b.items),
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            let parsed: Option<Value> = serde_json::from_slice(&body.lock().unwrap()).ok();
            let expected = match parsed.as_ref().map(|v| v.pointer("/data")) {
                None => Some(1),                                     // not JSON: quarantined
                Some(Some(Value::Array(a))) => Some(a.len()),        // one item per record
                Some(None | Some(Value::Null)) => Some(0),           // no records: the end
                Some(Some(_)) => { prop_assert!(failed); None }      // records not an array: config error
            };
            Ok((items, expected))
        })?;
        if let Some(n) = expected {
            prop_assert_eq!(items.len(), n);
            for item in &items {
                if let Pulled::Record(r) = item {
                    prop_assert!(!r.key.trim().is_empty());
                }
            }
        }
    }
}
