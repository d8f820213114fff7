//! SQL sources that miss nothing and never hang (audit H4, M1, M10, L14), through the binary
//! against the real PostgreSQL and MariaDB.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::scratch::Scratch;
use crate::support::*;

fn sql_source(name: &str, url: &str, table: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"{name}\"\n[sources.connector]\nkind = \"sql\"\nurl = \"{url}\"\ntable = \"{table}\"\nkey = \"id\"\nwatermark = \"upd\"\n{extra}\n\
         [sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = {{ from = \"name\", required = true }}\n"
    )
}

/// The record keys the hub holds for a source, sorted.
fn keys(s: &Scratch, source: &str) -> Vec<String> {
    let csv = ok(s.cmd(&["export", "crosswalk", "--entity", "person"]));
    let mut k: Vec<String> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0] == source).then(|| cols[1].to_owned())
        })
        .collect();
    k.sort();
    k
}

#[test]
fn h4_a_row_whose_transaction_commits_late_is_still_read() {
    let src = fresh_postgres("e2e_h4");
    psql_at(
        &src,
        "CREATE TABLE late (id INT PRIMARY KEY, name TEXT, upd TIMESTAMP NOT NULL DEFAULT clock_timestamp()); \
         INSERT INTO late (id, name) VALUES (1, '甲')",
    );
    let s = Scratch::sqlite();
    s.config(&sql_source("late", &src, "late", ""));
    ok(s.cmd(&["run", "--no-publish"]));
    // Row 2 is stamped first but commits last, after row 3 has been pulled.
    let mut slow = Command::new("psql")
        .args([
            "-q",
            &src,
            "-c",
            "BEGIN; INSERT INTO late (id, name) VALUES (2, '乙'); SELECT pg_sleep(4); COMMIT;",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    psql_at(&src, "INSERT INTO late (id, name) VALUES (3, '丙')");
    ok(s.cmd(&["run", "--no-publish"]));
    assert_eq!(keys(&s, "late"), ["1", "3"]);
    assert!(slow.wait().unwrap().success());
    let report: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
    assert_eq!(keys(&s, "late"), ["1", "2", "3"], "{report}");
    let src_report = &report["sources"][0];
    assert_eq!(src_report["new"], 1, "{src_report}");
    assert!(
        src_report["input"]["reread_from"].is_string(),
        "{src_report}"
    );
}

#[test]
fn m10_l12_a_page_of_null_keys_does_not_end_the_read_and_a_uuid_key_pages() {
    let src = fresh_postgres("e2e_m10");
    psql_at(
        &src,
        "CREATE TABLE nk (id TEXT, name TEXT, upd TIMESTAMP NOT NULL); \
         INSERT INTO nk VALUES ('a','甲','2024-01-01'),(NULL,'乙','2024-01-02'),(NULL,'丙','2024-01-03'),('d','丁','2024-01-04'),('e','戊','2024-01-05'); \
         CREATE TABLE uu (id UUID PRIMARY KEY, name TEXT, upd TIMESTAMP NOT NULL); \
         INSERT INTO uu SELECT md5(i::text)::uuid, '王'||i, timestamp '2024-01-01' + i * interval '1 min' FROM generate_series(1,5) i",
    );
    let s = Scratch::sqlite();
    s.config(&format!(
        "{}{}",
        sql_source("nk", &src, "nk", "batch_size = 2"),
        sql_source("uu", &src, "uu", "batch_size = 2")
    ));
    for _ in 0..2 {
        let report: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
        assert!(
            report["sources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["error"].is_null()),
            "{report}"
        );
    }
    assert_eq!(keys(&s, "nk"), ["a", "d", "e"]);
    assert_eq!(keys(&s, "uu").len(), 5);
    let q = s.quarantine("nk");
    assert_eq!(
        q.len(),
        2,
        "each NULL-key row once, however many runs: {q:?}"
    );
    assert!(q
        .iter()
        .all(|e| e["reason"].as_str().unwrap().contains("NULL in key")));
}

#[test]
fn m1_a_locked_source_table_fails_within_the_statement_timeout() {
    let src = fresh_postgres("e2e_m1");
    psql_at(
        &src,
        "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, upd TIMESTAMP NOT NULL); INSERT INTO t VALUES (1,'甲','2024-01-01')",
    );
    let mut locker = Command::new("psql")
        .args([
            "-q",
            &src,
            "-c",
            "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(40); COMMIT;",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let s = Scratch::sqlite();
    s.config(&format!(
        "[run]\nretries = 1\nretry_initial_ms = 100\n{}",
        sql_source("t", &src, "t", "statement_timeout_secs = 2")
    ));
    let start = Instant::now();
    let out = s.cmd(&["run", "--no-publish"]).output().unwrap();
    let took = start.elapsed();
    let _ = locker.kill();
    let _ = locker.wait();
    // A timeout is transient: retried once, then the run says so (exit code 5).
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let st = s.source_status("t");
    assert_eq!(st["last"]["retries"], 1, "{st}");
    assert!(
        st["last_error"].as_str().unwrap().contains("timed out"),
        "{st}"
    );
}

#[test]
fn l14_a_query_source_runs_read_only() {
    let src = fresh_postgres("e2e_l14");
    psql_at(
        &src,
        "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, upd TIMESTAMP NOT NULL); INSERT INTO t VALUES (1,'甲','2024-01-01'); \
         CREATE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM t RETURNING 1';",
    );
    let s = Scratch::sqlite();
    // A query that writes through a function: refused by the read-only session.
    s.config(&format!(
        "[[sources]]\nname = \"q\"\n[sources.connector]\nkind = \"sql\"\nurl = \"{src}\"\n\
         query = \"SELECT id, name FROM t WHERE wipe() IS NOT NULL\"\nkey = \"id\"\n\
         [sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = {{ from = \"name\" }}\n"
    ));
    let out = s.cmd(&["run", "--no-publish"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(psql_at(&src, "SELECT count(*) FROM t").trim(), "1");
    assert!(s.source_status("q")["last_error"]
        .as_str()
        .unwrap()
        .contains("read-only"));
}
