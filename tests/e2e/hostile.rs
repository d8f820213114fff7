//! The hostile-input corpus (`hostile_corpus.py`: broken quoting, mixed and truncated encodings,
//! NUL bytes, a 10 MB field, odd line ends, a large file; xlsx at opposite corners, a
//! shared-string bomb, an inflation bomb, a file that is not a zip; JSON pages that are not
//! JSON, cut off, or never end) through the CSV, Excel and HTTP connectors in one run of the
//! binary under a 2 GiB address-space limit (`prlimit --as`): no abort, no hang, and every
//! physical line, sheet row and page accounted for, counted on both sides.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::scratch::Scratch;
use crate::support::*;

/// The stated memory cap of a run over the corpus.
const ADDRESS_SPACE: &str = "2147483648";

#[tokio::test(flavor = "multi_thread")]
async fn the_hostile_corpus_is_read_within_caps_and_every_line_accounted_for() {
    let _turn = HEAVY.lock().await;
    let s = Scratch::sqlite();
    let out = Command::new("python3")
        .arg(root().join("tests/e2e/hostile_corpus.py"))
        .arg(s.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counted: Value = serde_json::from_slice(&out.stdout).unwrap();

    // JSON pages: good, not JSON, cut off, endless, good and short (the end).
    let requests = Arc::new(AtomicU64::new(0));
    let r = requests.clone();
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(move |Query(q): Query<BTreeMap<String, String>>| {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                match q.get("page").map(String::as_str) {
                    Some("1") => {
                        r#"{"data":[{"k":"h1","n":"甲"},{"k":"h2","n":"乙"}]}"#.into_response()
                    }
                    Some("2") => "<html>502 Bad Gateway</html>".into_response(),
                    Some("3") => r#"{"data":[{"k":"h5","n":"#.into_response(),
                    Some("4") => {
                        let head = futures::stream::once(async {
                            Ok::<_, std::io::Error>(b"{\"data\":[".to_vec())
                        });
                        let tail = futures::stream::repeat_with(|| Ok(vec![b' '; 1 << 20]));
                        axum::body::Body::from_stream(futures::StreamExt::chain(head, tail))
                            .into_response()
                    }
                    Some("5") => r#"{"data":[{"k":"h9","n":"丙"}]}"#.into_response(),
                    _ => r#"{"data":[]}"#.into_response(),
                }
            }
        }),
    );
    let http = serve(app).await;

    let org = "[sources.mapping]\nentity = \"organization\"\n[sources.mapping.fields]\nname = { from = \"name\", required = true }";
    s.config(&format!(
        "[[sources]]\nname = \"csv\"\n[sources.connector]\nkind = \"csv\"\npath = \"csv\"\nkey = \"id\"\n{org}\n\n\
         [[sources]]\nname = \"xlsx\"\n[sources.connector]\nkind = \"excel\"\npath = \"xlsx\"\nkey = \"id\"\n{org}\n\n\
         [[sources]]\nname = \"api\"\n[sources.connector]\nkind = \"http\"\nurl = \"{http}/api?page={{page}}\"\n\
         pagination = {{ kind = \"page\", size = 2 }}\nkey = \"k\"\nmax_body_bytes = 4194304\ntimeout_secs = 60\n\
         [sources.mapping]\nentity = \"organization\"\n[sources.mapping.fields]\nname = {{ from = \"n\", required = true }}\n"
    ));
    let mut cmd = Command::new("timeout");
    cmd.args(["600", "/usr/bin/time", "-f", "peak_rss_kb=%M", "prlimit"])
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg(env!("CARGO_BIN_EXE_tombolo"))
        .arg("--config")
        .arg(s.path("tombolo.toml"))
        .arg("--store")
        .arg(&s.store)
        .args(["--json", "run", "--no-publish"]);
    let start = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    assert!(start.elapsed() < Duration::from_secs(600));
    let peak_kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    eprintln!("hostile corpus: peak RSS {} MiB", peak_kb / 1024);
    // The stated caps: 2 GiB of address space (prlimit), 1 GiB resident.
    assert!(peak_kb > 0 && peak_kb < 1 << 20, "peak RSS {peak_kb} kB");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = |name: &str| {
        report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == name)
            .cloned()
            .unwrap()
    };
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let file_name = |f: &Value| {
        f["path"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };

    // CSV: every physical line of every file, as Python counts them.
    let csv = source("csv");
    assert!(csv["error"].is_null(), "{csv}");
    let mut items = 0;
    for f in csv["input"]["files"].as_array().unwrap() {
        let name = file_name(f);
        assert_eq!(f["lines"], counted["csv"][&name], "{name}: {f}");
        assert_eq!(
            n(&f["lines"]),
            n(&f["header_lines"]) + n(&f["blank_lines"]) + n(&f["item_lines"]),
            "{name}: {f}"
        );
        items += n(&f["items"]);
    }
    assert_eq!(csv["input"]["files"].as_array().unwrap().len(), 9);
    assert_eq!(n(&csv["pulled"]), items);
    assert_eq!(
        n(&csv["pulled"]),
        n(&csv["accepted"]) + n(&csv["quarantined"])
    );
    let enc: BTreeMap<String, String> = csv["input"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (file_name(f), f["encoding"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(enc["02_mixed.csv"], "utf-8");
    assert_eq!(enc["03_truncated_utf8.csv"], "utf-8");
    assert_eq!(enc["04_truncated_gb.csv"], "gb18030");
    let reasons: Vec<String> = json(s.cmd(&[
        "--json",
        "quarantine",
        "list",
        "--source",
        "csv",
        "--limit",
        "1000",
    ]))
    .as_array()
    .unwrap()
    .iter()
    .map(|q| q["reason"].as_str().unwrap().to_owned())
    .collect();
    for want in [
        "unterminated quote",
        "NUL byte",
        "max_record_bytes",
        "invalid UTF-8",
        "expected 4 fields",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(want)),
            "no {want:?} in {reasons:?}"
        );
    }

    // Excel: sheet rows as Python wrote them; bombs rejected whole.
    let xlsx = source("xlsx");
    assert!(xlsx["error"].is_null(), "{xlsx}");
    let mut items = 0;
    for f in xlsx["input"]["files"].as_array().unwrap() {
        let name = file_name(f);
        match counted["xlsx"][&name].as_u64() {
            Some(rows) => assert_eq!(n(&f["lines"]), rows, "{name}: {f}"),
            None => assert!(f["rejected"].is_string(), "{name}: {f}"),
        }
        items += n(&f["items"]);
    }
    assert_eq!(n(&xlsx["pulled"]), items);
    assert_eq!(
        n(&xlsx["pulled"]),
        n(&xlsx["accepted"]) + n(&xlsx["quarantined"])
    );
    assert_eq!(n(&xlsx["accepted"]), 4, "{xlsx}"); // x1, s400, g1, g2

    // HTTP: every page the server answered is one the hub counted.
    let api = source("api");
    assert!(api["error"].is_null(), "{api}");
    assert_eq!(n(&api["input"]["pages"]), requests.load(Ordering::SeqCst));
    assert_eq!(n(&api["input"]["pages"]), 5);
    assert_eq!(
        (n(&api["accepted"]), n(&api["quarantined"])),
        (3, 3),
        "{api}"
    );
}
