//! Two processes on one store (audit H2, M7): one writer at a time. A second writer refuses at
//! once with exit code 4 and the holder's name, or waits for it (`lock_wait_secs`); either way
//! the final crosswalk, golden records, outbox versions and counters equal one uninterrupted
//! run. On SQLite and on PostgreSQL.

use std::collections::BTreeSet;
use std::process::{Child, Output};

use serde_json::Value;

use crate::scratch::*;
use crate::support::*;

type Partition = BTreeSet<BTreeSet<(String, String)>>;

/// `n` people in a CSV, a tenth of them a second time under another key (so resolution links).
fn people(n: usize) -> String {
    let mut s = String::from("id,name,phone,birth\n");
    for i in 0..n {
        let phone = format!("139{:08}", i * 7919 % 100_000_000);
        let birth = format!("19{:02}-{:02}-{:02}", 40 + i % 60, 1 + i % 12, 1 + i % 28);
        s.push_str(&format!("p{i},张{i},{phone},{birth}\n"));
        if i % 10 == 0 {
            s.push_str(&format!("d{i},张{i},{phone},{birth}\n"));
        }
    }
    s
}

fn partition(s: &Scratch) -> Partition {
    clusters(&ok(s.cmd(&["export", "crosswalk", "--entity", "person"])))
}

/// What must equal one uninterrupted run.
#[derive(Debug, PartialEq)]
struct Outcome {
    partition: Partition,
    goldens: usize,
    outbox: i64,
    duplicate_versions: i64,
    unlinked: i64,
    totals: (u64, u64, u64),
}

async fn outcome(s: &Scratch) -> Outcome {
    let st = s.source_status("people");
    Outcome {
        partition: partition(s),
        goldens: s.goldens().len(),
        outbox: count(&s.store, "SELECT COUNT(*) FROM outbox").await,
        duplicate_versions: count(
            &s.store,
            "SELECT COUNT(*) FROM (SELECT golden_id, version FROM outbox GROUP BY golden_id, version HAVING COUNT(*) > 1) t",
        )
        .await,
        unlinked: count(
            &s.store,
            "SELECT COUNT(*) FROM source_record s WHERE NOT EXISTS (SELECT 1 FROM crosswalk c WHERE c.source = s.source AND c.record_key = s.record_key)",
        )
        .await,
        totals: (
            st["total_pulled"].as_u64().unwrap(),
            st["total_accepted"].as_u64().unwrap(),
            st["total_quarantined"].as_u64().unwrap(),
        ),
    }
}

fn scratch(postgres: bool, tag: &str, rows: &str, extra: &str) -> Scratch {
    let s = if postgres {
        Scratch::postgres(tag)
    } else {
        Scratch::sqlite()
    };
    s.write("people.csv", rows);
    s.config(&format!("{extra}{}", person_csv("people", "people.csv")));
    s
}

fn finished(mut child: Child) {
    assert!(child.wait().unwrap().success());
}

async fn two_runs(postgres: bool) {
    let rows = people(30_000);
    let store_kind = if postgres { "postgres" } else { "sqlite" };
    // The reference: one uninterrupted run.
    let calm = scratch(postgres, "e2e_calm", &rows, "");
    ok(calm.cmd(&["run", "--no-publish"]));
    let reference = outcome(&calm).await;
    assert_eq!(reference.unlinked, 0);
    assert_eq!(reference.duplicate_versions, 0);

    // A second run while the first one writes: refused at once, naming the holder.
    let busy = scratch(postgres, "e2e_busy", &rows, "");
    let first = busy.started(&["run", "--no-publish"], 0).await;
    let second: Output = busy.cmd(&["run", "--no-publish"]).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(4), "{store_kind}: {err}");
    assert!(err.contains("being written by `tombolo run`"), "{err}");
    // A resolve likewise.
    let resolve = busy.cmd(&["resolve"]).output().unwrap();
    assert_eq!(resolve.status.code(), Some(4));
    // Reading commands are not held up.
    ok(busy.cmd(&["status"]));
    finished(first);
    assert_eq!(outcome(&busy).await, reference, "{store_kind}: refused");

    // With lock_wait_secs the second run waits for the first, then finds nothing new.
    let wait = scratch(
        postgres,
        "e2e_wait",
        &rows,
        "[store]\nlock_wait_secs = 300\n",
    );
    let first = wait.started(&["run", "--no-publish"], 0).await;
    let second: Value = json(wait.cmd(&["--json", "run", "--no-publish"]));
    finished(first);
    assert_eq!(second["sources"][0]["new"], 0, "{second}");
    assert_eq!(outcome(&wait).await, reference, "{store_kind}: waited");
}

#[tokio::test(flavor = "multi_thread")]
async fn m7_two_runs_on_one_sqlite_store_one_refuses_or_waits() {
    let _turn = HEAVY.lock().await;
    two_runs(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn m7_two_runs_on_one_postgres_store_one_refuses_or_waits() {
    let _turn = HEAVY.lock().await;
    two_runs(true).await;
}

/// R2: a pull of 58,000 new rows while another process runs `resolve` in a loop, then one more
/// `resolve`: every stored record is linked and published (58,000 were lost on 2691388).
#[tokio::test(flavor = "multi_thread")]
async fn h2_a_pull_beside_repeated_resolves_loses_nothing_on_postgres() {
    let _turn = HEAVY.lock().await;
    let src = fresh_postgres("e2e_h2_src");
    psql_at(
        &src,
        "CREATE TABLE p (id INT PRIMARY KEY, name TEXT, phone TEXT, upd TIMESTAMP NOT NULL); \
         INSERT INTO p SELECT i, '张'||i, '13'||lpad((i*7919 % 1000000000)::text, 9, '0'), timestamp '2024-01-01' + i * interval '1 s' FROM generate_series(1,2000) i",
    );
    let s = Scratch::postgres("e2e_h2_store");
    // Both sides wait for the lock (a resolve may hold it when the pull starts).
    s.config(&format!(
        "[store]\nlock_wait_secs = 300\n[[sources]]\nname = \"big\"\n[sources.connector]\nkind = \"sql\"\nurl = \"{src}\"\ntable = \"p\"\nkey = \"id\"\nwatermark = \"upd\"\nbatch_size = 4000\n\
         [sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = {{ from = \"name\", required = true }}\nphone = {{ from = \"phone\" }}\n"
    ));
    ok(s.cmd(&["run", "--no-publish"]));
    psql_at(
        &src,
        "INSERT INTO p SELECT i, '张'||i, '13'||lpad((i*7919 % 1000000000)::text, 9, '0'), timestamp '2024-01-01' + i * interval '1 s' FROM generate_series(2001,60000) i",
    );
    let mut pull = s
        .cmd(&["pull", "big", "--no-publish"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Each resolve waits for the pull to release the store (lock_wait_secs), then runs.
    let mut resolves = 0;
    while pull.try_wait().unwrap().is_none() {
        ok(s.cmd(&["resolve"]));
        resolves += 1;
    }
    assert!(pull.wait().unwrap().success());
    assert!(resolves > 0);
    ok(s.cmd(&["resolve"]));
    let unlinked = count(
        &s.store,
        "SELECT COUNT(*) FROM source_record s WHERE NOT EXISTS (SELECT 1 FROM crosswalk c WHERE c.source = s.source AND c.record_key = s.record_key)",
    )
    .await;
    assert_eq!(unlinked, 0);
    assert_eq!(
        count(&s.store, "SELECT COUNT(*) FROM source_record").await,
        60_000
    );
    let unpublished = count(
        &s.store,
        "SELECT COUNT(*) FROM golden g WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.golden_id = g.golden_id)",
    )
    .await;
    assert_eq!(unpublished, 0);
}
