//! SIGKILL in the middle of a run, then `run` again: the same golden records, crosswalk and
//! topic contents (latest version per key) as an uninterrupted run: once on the people and
//! organisation sources through the broker, once killed in the assembly of the whole city
//! (places, houses, incidents and relationships).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// Golden records without their timestamps.
fn goldens(f: &Islands, entity: &str) -> Vec<Value> {
    ok(f.tombolo(&["export", "golden", "--entity", entity]))
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("updated_at");
            v
        })
        .collect()
}

fn topic_state(f: &Islands, entity: &str) -> BTreeMap<String, Value> {
    latest(&consume(&f.topic(entity), entity))
        .into_iter()
        .map(|(k, mut m)| {
            m["value"].as_object_mut().unwrap().remove("updated_at");
            (k, m["value"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_converges_to_the_uninterrupted_result() {
    let _turn = HEAVY.lock().await;
    let calm = Islands::people_and_organisations("calm").await;
    ok(calm.tombolo(&["run"]));

    let crash = Islands::people_and_organisations("crash").await;
    // Kill during the pulls.
    let mut child = crash.tombolo(&["run"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    // Kill again once resolution has filled the outbox (during publication).
    let mut child = crash.tombolo(&["run"]).spawn().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(300) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let status = crash.tombolo(&["--json", "status"]).output().unwrap();
        if let Ok(v) = serde_json::from_slice::<Value>(&status.stdout) {
            if v["outbox_backlog"].as_u64().unwrap_or(0) > 0 {
                let _ = child.kill();
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait().unwrap();
    ok(crash.tombolo(&["run"]));

    for entity in ["person", "organization"] {
        let a = ok(calm.tombolo(&["export", "crosswalk", "--entity", entity]));
        let b = ok(crash.tombolo(&["export", "crosswalk", "--entity", entity]));
        assert!(a == b, "{entity} crosswalks differ");
        assert!(
            goldens(&calm, entity) == goldens(&crash, entity),
            "{entity} golden records differ"
        );
        let (ta, tb) = (topic_state(&calm, entity), topic_state(&crash, entity));
        assert_eq!(ta.len(), tb.len(), "{entity} topic keys");
        assert!(ta == tb, "{entity} topic contents differ");
    }
    let status = json(crash.tombolo(&["--json", "status"]));
    assert_eq!(status["outbox_backlog"].as_u64(), Some(0));
}

/// What the store holds of places, houses, incidents and their links and relationships,
/// without timestamps: crosswalks, golden records, record links and relationships.
fn assembled(f: &Islands) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entity in ["place", "house", "event"] {
        let crosswalk = ok(f.tombolo(&["export", "crosswalk", "--entity", entity]));
        out.insert(format!("{entity} crosswalk"), crosswalk);
        let goldens: Vec<String> = goldens(f, entity).iter().map(Value::to_string).collect();
        out.insert(format!("{entity} golden records"), goldens.join("\n"));
    }
    for (from, to) in [("house", "person"), ("event", "person"), ("event", "place")] {
        let links = ok(f.tombolo(&["export", "links", "--from", from, "--to", to]));
        out.insert(format!("{from} → {to} links"), links);
    }
    // kind, from, to, source, record_key, observed_at (not when the hub first saw it).
    let relations: Vec<String> = ok(f.tombolo(&["export", "relations"]))
        .lines()
        .map(|l| l.split(',').take(6).collect::<Vec<_>>().join(","))
        .collect();
    out.insert("relations".into(), relations.join("\n"));
    out.insert("places".into(), ok(f.tombolo(&["export", "places"])));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_in_the_assembly_converges_for_places_houses_incidents_and_relationships() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let _turn = HEAVY.lock().await;
    // The uninterrupted result, in the store (nothing published: one city through the broker
    // is enough, and the crashed one's topics are checked against its own store below).
    let calm = Islands::new("calm_city").await;
    ok(calm.tombolo(&["run", "--no-publish"]));

    let crash = Islands::new("crash_city").await;
    // Kill once the assembly has made its golden records and is writing them.
    let mut child = crash
        .tombolo(&["run"])
        .env("TOMBOLO_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log is read until then and kept open until the kill (the run keeps logging).
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let writing = log
        .by_ref()
        .map_while(std::result::Result::ok)
        .any(|l| l.contains("places, houses and incidents made"));
    assert!(writing, "the run never reached the assembly's writes");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    drop(log);
    assert!(!status.success(), "killed before the run finished");
    ok(crash.tombolo(&["run"]));

    let (a, b) = (assembled(&calm), assembled(&crash));
    for (what, calm_value) in &a {
        assert!(!calm_value.is_empty(), "{what}");
        assert!(*calm_value == b[what], "{what} differ after the crash");
    }
    // The crashed store's topics hold its golden records (latest version per key) and its
    // relationships.
    let status = json(crash.tombolo(&["--json", "status"]));
    assert_eq!(status["outbox_backlog"].as_u64(), Some(0));
    for entity in ["place", "house", "event"] {
        let stored: BTreeMap<String, i64> = goldens(&crash, entity)
            .iter()
            .map(|g| {
                let id = g["golden_id"].as_str().unwrap().to_owned();
                (id, g["version"].as_i64().unwrap())
            })
            .collect();
        let on_topic: BTreeMap<String, i64> = latest(&consume(&crash.topic(entity), entity))
            .into_iter()
            .map(|(k, m)| (k, m["value"]["version"].as_i64().unwrap()))
            .collect();
        assert_eq!(on_topic.len(), stored.len(), "{entity} topic keys");
        assert!(on_topic == stored, "{entity} topic versions differ");
    }
    let stored: BTreeSet<String> = ok(crash.tombolo(&["export", "relations"]))
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(":"))
        .collect();
    let live = live_keys(&consume(&crash.topic("relation"), "relation"));
    assert_eq!(
        live, stored,
        "the relation topic holds what the store holds"
    );
}
