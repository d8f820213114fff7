//! Regression tests for the low-severity findings of the reliability audit of 2026-12-01
//! (`../shared/audits/reliability-2026-12-01.md`, L1–L14), each named after its finding,
//! through the real binary. (L5, L6, L9 and L13 are covered by unit tests, L8 in
//! `deletions.rs`, L12 and L14 in `sql_sources.rs`.)

use serde_json::Value;

use crate::scratch::*;
use crate::support::*;

#[test]
fn l7_parameters_trained_on_far_fewer_records_are_reported_stale() {
    let s = Scratch::sqlite();
    s.write("a.csv", rows("a", 100));
    s.write("b.csv", rows("b", 300));
    s.config(&person_csv("a", "a.csv"));
    let first: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
    assert_eq!(first["entities"][0]["stale_model"], false);
    s.config(&format!(
        "{}{}",
        person_csv("a", "a.csv"),
        person_csv("b", "b.csv")
    ));
    let out = s.cmd(&["--json", "run", "--no-publish"]).output().unwrap();
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(second["entities"][0]["stale_model"], true, "{second}");
    assert!(stderr(&out).contains("tombolo train"), "{}", stderr(&out));
    let trained: Value = json(s.cmd(&["--json", "train"]));
    assert_eq!(trained[0]["stale_model"], false, "{trained}");
}

#[cfg(unix)]
#[test]
fn l4_store_and_key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::sqlite();
    let store = format!("sqlite:{}", s.path("data/hub.db").display());
    s.write("p.csv", rows("p", 3));
    s.config(&format!(
        "[store]\nencryption = {{ key_file = \"keys/hub.keyring\" }}\n{}",
        person_csv("people", "p.csv")
    ));
    ok(tombolo(
        &s.path("tombolo.toml"),
        &store,
        &s.env,
        &["run", "--no-publish"],
    ));
    let mode = |p: &str| std::fs::metadata(s.path(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("data"), 0o700);
    assert_eq!(mode("keys"), 0o700);
    assert_eq!(mode("data/hub.db") & 0o077, 0, "{:o}", mode("data/hub.db"));
    assert_eq!(mode("keys/hub.keyring"), 0o600);
}

#[test]
fn l10_a_broker_that_is_down_fails_within_timeout_with_the_report_and_a_status() {
    let s = Scratch::sqlite();
    s.write("p.csv", rows("p", 3));
    s.config(&format!(
        "[kafka]\nbrokers = \"127.0.0.1:1\"\ntimeout_secs = 5\n{}",
        person_csv("people", "p.csv")
    ));
    let start = std::time::Instant::now();
    let out = s.cmd(&["--json", "run"]).output().unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(40),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sources"][0]["accepted"], 3, "{report}");
    assert!(report["publish_error"].is_string(), "{report}");
    assert_eq!(report["outbox_backlog"], 3);
    let status = s.status();
    assert!(status["publish"]["last_error"].is_string(), "{status}");
}

#[test]
fn l11_a_password_in_a_command_line_store_url_is_warned_about() {
    let s = Scratch::sqlite();
    s.write("p.csv", rows("p", 1));
    s.config(&person_csv("people", "p.csv"));
    let pg = fresh_postgres("e2e_l11").replace("postgres@", "postgres:pw-on-cmdline@");
    let out = tombolo(&s.path("tombolo.toml"), &pg, &s.env, &["status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("process list"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("pw-on-cmdline"));
    // A user name and TLS settings are no password: no warning.
    let plain = pg.replace("postgres:pw-on-cmdline@", "postgres@") + "?sslmode=prefer";
    let out = tombolo(&s.path("tombolo.toml"), &plain, &s.env, &["status"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("process list"), "{}", stderr(&out));
}

#[test]
fn l2_check_warns_when_a_source_is_keyed_by_personal_data() {
    let s = Scratch::sqlite();
    s.write("p.csv", "sfz,xm\n");
    s.config(&csv_source(
        "hk",
        "p.csv",
        "sfz",
        "person",
        "[sources.mapping.fields]\nresident_id = { from = \"sfz\" }\nname = { from = \"xm\" }",
    ));
    let v = json(s.cmd(&["--json", "check"]));
    assert!(
        v[0]["warning"].as_str().unwrap().contains("resident_id"),
        "{v}"
    );
    s.config(&person_csv("p", "p.csv"));
    let v = json(s.cmd(&["--json", "check"]));
    assert!(v[0]["warning"].is_null(), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn l3_sealed_values_cannot_be_swapped_between_rows_or_downgraded() {
    let s = Scratch::sqlite();
    s.write("p.csv", rows("p", 3));
    s.config(&format!(
        "[store]\nencryption = {{ key_file = \"keys/hub.keyring\", require_sealed = true }}\n{}",
        person_csv("people", "p.csv")
    ));
    ok(s.cmd(&["run", "--no-publish"]));
    assert_eq!(s.goldens().len(), 3);
    // Two golden records' sealed values swapped: neither opens.
    exec(
        &s.store,
        "UPDATE golden SET data = (SELECT g2.data FROM golden g2 WHERE g2.golden_id <> golden.golden_id ORDER BY g2.golden_id LIMIT 1) \
         WHERE golden_id = (SELECT MIN(golden_id) FROM golden)",
    )
    .await
    .unwrap();
    let out = s
        .cmd(&["export", "golden", "--entity", "person"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not open"), "{}", stderr(&out));
    // A plaintext value written in its place: refused, not read as data.
    exec(
        &s.store,
        "UPDATE golden SET data = '{\"forged\":true}' WHERE golden_id = (SELECT MIN(golden_id) FROM golden)",
    )
    .await
    .unwrap();
    let out = s
        .cmd(&["export", "golden", "--entity", "person"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("require_sealed"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn l1_content_hashes_are_keyed_and_an_older_store_is_rekeyed_without_churn() {
    for postgres in [false, true] {
        let s = if postgres {
            Scratch::postgres("e2e_l1")
        } else {
            Scratch::sqlite()
        };
        let unkeyed = |table: &str| {
            format!("SELECT COUNT(*) FROM {table} WHERE content_hash NOT LIKE 'h1:l-%'")
        };
        // A store written before its keyring: plain SHA-256 content hashes, an oracle for
        // guesses of low-entropy records.
        s.write("p.csv", rows("p", 50));
        s.config(&person_csv("people", "p.csv"));
        ok(s.cmd(&["run", "--no-publish"]));
        assert_eq!(count(&s.store, &unkeyed("source_record")).await, 50);

        // With a keyring: every hash keyed under the lookup key, and nothing looks changed.
        let mut more = rows("p", 50);
        more.push_str(&rows("q", 5).replacen("id,name,phone,birth\n", "", 1));
        s.write("p.csv", &more);
        s.config(&format!(
            "[store]\nencryption = {{ key_file = \"keys/hub.keyring\" }}\n{}",
            person_csv("people", "p.csv")
        ));
        let report = json(s.cmd(&["--json", "run", "--no-publish"]));
        let src = &report["sources"][0];
        assert_eq!(
            (
                src["new"].as_u64(),
                src["changed"].as_u64(),
                src["unchanged"].as_u64()
            ),
            (Some(5), Some(0), Some(50)),
            "{src}"
        );
        assert_eq!(report["entities"][0]["updated"], 0, "{report}");
        for table in ["source_record", "golden"] {
            assert_eq!(count(&s.store, &unkeyed(table)).await, 0, "{table}");
        }
        assert_eq!(
            count(&s.store, "SELECT COUNT(*) FROM golden").await,
            55,
            "postgres: {postgres}"
        );
        let keyring = std::fs::read_to_string(s.path("keys/hub.keyring")).unwrap();
        let lookup = keyring.lines().find(|l| l.starts_with("l-")).unwrap();
        let id = lookup.split(' ').next().unwrap();
        let prefix =
            format!("SELECT COUNT(*) FROM source_record WHERE content_hash LIKE 'h1:{id}:%'");
        assert_eq!(count(&s.store, &prefix).await, 55);
        // Rotation leaves the lookup key, so the hashes stay as they are.
        ok(s.cmd(&["keys", "rotate", "--drop-old"]));
        assert_eq!(count(&s.store, &prefix).await, 55);
        more.push_str(&rows("r", 1).replacen("id,name,phone,birth\n", "", 1));
        s.write("p.csv", &more);
        let report = json(s.cmd(&["--json", "run", "--no-publish"]));
        assert_eq!(report["sources"][0]["unchanged"], 55, "{report}");
        assert_eq!(report["sources"][0]["new"], 1, "{report}");
        assert_eq!(report["entities"][0]["updated"], 0, "{report}");
    }
}
