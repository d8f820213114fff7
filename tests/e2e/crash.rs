//! SIGKILL in the middle of a run, then `run` again: the same golden records, crosswalk and
//! topic contents (latest version per key) as an uninterrupted run. On the people and
//! organisation sources: two whole cities through the broker are more than the local test
//! broker takes beside the other tests.

use std::collections::BTreeMap;
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
