//! Stewards' corrections through the binary on the islands people and organisations, on the
//! sealed SQLite store and on PostgreSQL: a merge by hand and its unmerge restore the golden
//! records, the crosswalk and the latest message per key on the hub's and the departments'
//! topics, with retraining between the steps; a split; a reviewer's "same" decision applied by
//! the next incremental run and undone as a merge; `lineage` tells each step. Houses and
//! incidents on the whole city: merged, unmerged (crosswalks as before) and split; places
//! merged and unmerged (the houses at them follow).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// What must come back after an unmerge: golden records (content), crosswalk, and the latest
/// message per key of every topic, with the version counters and timestamps left out (they
/// move forward, as they must).
#[derive(Debug, PartialEq)]
struct State {
    crosswalks: BTreeMap<String, String>,
    goldens: BTreeMap<String, Value>,
    topics: BTreeMap<String, BTreeMap<String, Value>>,
}

fn content(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for f in ["version", "updated_at", "merged_from"] {
            o.remove(f);
        }
    }
    v
}

/// The golden records of a kind (live and retired) by id.
fn goldens(f: &Islands, store: &str, entity: &str) -> BTreeMap<String, Value> {
    ok(tombolo(
        &f.config(),
        store,
        &f.env,
        &["export", "golden", "--entity", entity, "--retired"],
    ))
    .lines()
    .map(|l| {
        let g: Value = serde_json::from_str(l).unwrap();
        (g["golden_id"].as_str().unwrap().to_owned(), g)
    })
    .collect()
}

fn state(f: &Islands, store: &str, dir: &Path) -> State {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    let mut crosswalks = BTreeMap::new();
    let mut all = BTreeMap::new();
    for entity in ["person", "organization"] {
        crosswalks.insert(
            entity.to_owned(),
            ok(t(&["export", "crosswalk", "--entity", entity])),
        );
        for (id, g) in goldens(f, store, entity) {
            all.insert(id, content(g));
        }
    }
    let mut topics = BTreeMap::new();
    for entity in ["person", "organization"] {
        let hub = latest(&consume(&f.topic(entity), entity));
        topics.insert(
            f.topic(entity),
            hub.into_iter()
                .map(|(k, m)| (k, content(m["value"].clone())))
                .collect(),
        );
    }
    for (dept, entity) in [("health", "person"), ("tax", "organization")] {
        let schema = dir.join(format!("{dept}_{entity}.avsc"));
        std::fs::write(&schema, ok(t(&["schema", entity, "--department", dept]))).unwrap();
        let topic = format!("{}.dept.{dept}", f.topic(entity));
        let messages = consume_raw(&topic, &[&schema]).unwrap_or_else(|| panic!("no {topic}"));
        topics.insert(
            topic,
            latest(&messages)
                .into_iter()
                .map(|(k, m)| (k, content(m["value"].clone())))
                .collect(),
        );
    }
    State {
        crosswalks,
        goldens: all,
        topics,
    }
}

/// Two live golden records of a kind with at least `size` records each, far apart in id order.
fn two(goldens: &BTreeMap<String, Value>, size: usize) -> (String, String) {
    let big: Vec<&String> = goldens
        .iter()
        .filter(|(_, g)| {
            g["retired_into"].is_null() && g["members"].as_array().unwrap().len() >= size
        })
        .map(|(id, _)| id)
        .collect();
    assert!(big.len() > 10, "golden records of {size}+ records");
    (big[1].clone(), big[big.len() - 2].clone())
}

fn member_keys(g: &Value) -> Vec<(String, String)> {
    g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["source"].as_str().unwrap().to_owned(),
                m["record_key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The id of the merge event of `lineage` in which `retired` went into the golden record,
/// with its cause.
fn merge_event(lineage: &Value, retired: &str) -> (i64, String) {
    let h = lineage["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["event"] == "merge" && h["detail"].as_str().unwrap().starts_with(retired))
        .unwrap_or_else(|| panic!("no merge of {retired} in {lineage}"));
    (
        h["id"].as_i64().unwrap(),
        h["cause"].as_str().unwrap().to_owned(),
    )
}

fn stewards_on(f: &Islands, store: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    let dir = tempfile::tempdir().unwrap();
    ok(t(&["run"]));
    let before = state(f, store, dir.path());
    let people = goldens(f, store, "person");
    let (g1, g2) = two(&people, 2);
    let (m1, m2) = (member_keys(&people[&g1]), member_keys(&people[&g2]));

    // Merge by hand: one golden record under the first id, the second redirected to it, on
    // every topic.
    let merged = json(t(&[
        "--json",
        "merge",
        &g1,
        &g2,
        "--reason",
        "one resident, two files",
    ]));
    assert_eq!(merged["kind"], "merge", "{merged}");
    assert_eq!(
        merged["sides"],
        serde_json::json!([m1.len(), m2.len()]),
        "{merged}"
    );
    ok(t(&["run"]));
    let after = goldens(f, store, "person");
    assert_eq!(after[&g2]["retired_into"], g1.as_str());
    let mut both = m1.clone();
    both.extend(m2.iter().cloned());
    both.sort();
    assert_eq!(member_keys(&after[&g1]), both);
    let hub = latest(&consume(&f.topic("person"), "person"));
    assert_eq!(hub[&g2]["value"]["retired_into"], g1.as_str());
    assert_eq!(
        hub[&g1]["value"]["members"].as_array().unwrap().len(),
        both.len()
    );
    let lineage = json(t(&["--json", "lineage", &g1]));
    let (event, cause) = merge_event(&lineage, &g2);
    assert!(cause.starts_with("steward:"), "{cause}");
    assert!(
        lineage["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["event"] == "steward_merge"),
        "{lineage}"
    );
    let current: Vec<&Value> = lineage["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["current"] == true)
        .collect();
    assert_eq!(current.len(), both.len());
    assert!(
        lineage["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|fl| fl["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| !c["lost"].is_null())),
        "some value beat another: {lineage}"
    );
    assert!(
        !lineage["deliveries"].as_array().unwrap().is_empty(),
        "the health department received it"
    );
    // Retraining keeps the merge.
    ok(t(&["train"]));
    ok(t(&["run"]));
    assert_eq!(
        member_keys(&goldens(f, store, "person")[&g1]),
        both,
        "the merge holds through retraining"
    );

    // Undo it: each side under its former id, everything as before the merge, through
    // retraining again.
    let undone = json(t(&[
        "--json",
        "unmerge",
        &event.to_string(),
        "--reason",
        "two residents",
    ]));
    assert_eq!(
        undone["golden_ids"],
        serde_json::json!([g2, g1]),
        "{undone}"
    );
    let again = t(&["unmerge", &event.to_string(), "--reason", "twice"])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an undone merge cannot be undone again"
    );
    ok(t(&["run"]));
    ok(t(&["train"]));
    ok(t(&["run"]));
    let restored = state(f, store, dir.path());
    assert_eq!(restored.crosswalks, before.crosswalks);
    for (id, g) in &before.goldens {
        assert_eq!(restored.goldens.get(id), Some(g), "golden record {id}");
    }
    for (topic, messages) in &before.topics {
        let now = &restored.topics[topic];
        assert_eq!(now.len(), messages.len(), "{topic}");
        for (key, value) in messages {
            assert_eq!(now.get(key), Some(value), "{topic}: {key}");
        }
    }
    let lineage = json(t(&["--json", "lineage", &g1]));
    let merge = lineage["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == event && h["event"] == "merge")
        .unwrap();
    assert!(merge["undone_by"].is_i64(), "{lineage}");

    // A split: one record out into a golden record of its own; the rest keep the id.
    let (big, _) = two(&goldens(f, store, "person"), 3);
    let members = member_keys(&goldens(f, store, "person")[&big]);
    let out = &members[0];
    ok(t(&[
        "split",
        &big,
        "--records",
        &format!("{}:{}", out.0, out.1),
        "--reason",
        "another resident",
    ]));
    let bad = t(&["split", &big, "--records", "nosuch:1", "--reason", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    ok(t(&["run"]));
    let now = goldens(f, store, "person");
    assert_eq!(member_keys(&now[&big]), members[1..].to_vec());
    let alone = now
        .values()
        .find(|g| g["retired_into"].is_null() && member_keys(g) == vec![out.clone()])
        .expect("the record split out has a golden record of its own");
    assert_ne!(alone["golden_id"], big.as_str());

    // Organisations: merged and unmerged alike.
    let orgs = goldens(f, store, "organization");
    let (o1, o2) = two(&orgs, 1);
    ok(t(&["merge", &o1, &o2, "--reason", "one company"]));
    ok(t(&["run"]));
    assert_eq!(
        goldens(f, store, "organization")[&o2]["retired_into"],
        o1.as_str()
    );
    let (org_event, _) = merge_event(&json(t(&["--json", "lineage", &o1])), &o2);
    ok(t(&[
        "unmerge",
        &org_event.to_string(),
        "--reason",
        "two companies",
    ]));
    ok(t(&["run"]));
    let orgs_now = goldens(f, store, "organization");
    assert!(orgs_now[&o2]["retired_into"].is_null());
    assert_eq!(member_keys(&orgs_now[&o1]), member_keys(&orgs[&o1]));

    // A reviewer's "same" decision is applied by the next (incremental) run; the merge it
    // caused is undone like any other.

    // Two people with no resident IDs in conflict: one of several records, one of a single
    // record without a resident ID (a reviewer's pair of records joins their golden records
    // only where no verified ID keeps them apart).
    let people = goldens(f, store, "person");
    let (p1, _) = two(&people, 2);
    let p2 = people
        .iter()
        .find(|(_, g)| {
            g["retired_into"].is_null()
                && g["members"].as_array().unwrap().len() == 1
                && g["values"]["resident_id"].is_null()
        })
        .map(|(id, _)| id.clone())
        .expect("a golden person of one record without a resident ID");
    let (x, y) = (
        member_keys(&people[&p1])[0].clone(),
        member_keys(&people[&p2])[0].clone(),
    );
    ok(t(&[
        "decide",
        "match",
        &x.0,
        &x.1,
        &y.0,
        &y.1,
        "--by",
        "reviewer-1",
        "--reason",
        "same",
    ]));
    ok(t(&["run"]));
    let now = goldens(f, store, "person");
    let (survivor, retired) = if now[&p1]["retired_into"].is_null() {
        (&p1, &p2)
    } else {
        (&p2, &p1)
    };
    assert_eq!(
        now[retired]["retired_into"],
        survivor.as_str(),
        "the decision applied"
    );
    let (event, cause) = merge_event(&json(t(&["--json", "lineage", survivor])), retired);
    assert_eq!(cause, "reviewer:reviewer-1");
    ok(t(&[
        "unmerge",
        &event.to_string(),
        "--reason",
        "the reviewer erred",
    ]));
    ok(t(&["run"]));
    let now = goldens(f, store, "person");
    assert!(now[retired]["retired_into"].is_null());
    assert_eq!(member_keys(&now[&p1]), member_keys(&people[&p1]));
    assert_eq!(member_keys(&now[&p2]), member_keys(&people[&p2]));

    // Every step is in the audit trail.
    let audit = json(t(&["--json", "audit", "--kind", "admin", "--limit", "100"]));
    for action in ["merge", "split", "unmerge", "decide"] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action),
            "{action} audited"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_unmerge_split_and_lineage_on_sqlite() {
    let f = Islands::people_and_organisations("steward_sqlite").await;
    stewards_on(&f, &f.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_unmerge_split_and_lineage_on_postgres() {
    let f = Islands::people_and_organisations("steward_pg").await;
    stewards_on(&f, &fresh_postgres("e2e_steward_store"));
}

/// Houses and incidents merged, unmerged and split by hand like people; places merged and
/// unmerged (two addresses of one place), never split.
fn houses_and_incidents_on(f: &Islands, store: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    ok(t(&["run", "--no-publish"]));
    let crosswalk = |kind: &str| ok(t(&["export", "crosswalk", "--entity", kind]));
    let (houses_before, events_before) = (crosswalk("house"), crosswalk("event"));
    let houses = goldens(f, store, "house");
    let events = goldens(f, store, "event");
    let (h1, h2) = two(&houses, 1);
    let (e1, e2) = two(&events, 1);
    ok(t(&[
        "merge",
        &h1,
        &h2,
        "--reason",
        "one flat registered twice",
    ]));
    ok(t(&["merge", &e1, &e2, "--reason", "one leak, two tickets"]));
    ok(t(&["run", "--no-publish"]));
    let (houses_now, events_now) = (goldens(f, store, "house"), goldens(f, store, "event"));
    assert_eq!(houses_now[&h2]["retired_into"], h1.as_str());
    assert_eq!(events_now[&e2]["retired_into"], e1.as_str());
    assert_eq!(
        member_keys(&events_now[&e1]).len(),
        member_keys(&events[&e1]).len() + member_keys(&events[&e2]).len()
    );
    assert_eq!(
        events_now[&e1]["values"]["reports"],
        member_keys(&events_now[&e1]).len().to_string(),
        "the merged incident counts its reports"
    );
    for (kind, id, retired) in [("house", &h1, &h2), ("event", &e1, &e2)] {
        let (event, cause) = merge_event(&json(t(&["--json", "lineage", id])), retired);
        assert!(cause.starts_with("steward:"), "{kind}: {cause}");
        ok(t(&[
            "unmerge",
            &event.to_string(),
            "--reason",
            "two after all",
        ]));
    }
    ok(t(&["run", "--no-publish"]));
    assert_eq!(
        crosswalk("house"),
        houses_before,
        "houses as before the merge"
    );
    assert_eq!(
        crosswalk("event"),
        events_before,
        "incidents as before the merge"
    );
    let (houses_now, events_now) = (goldens(f, store, "house"), goldens(f, store, "event"));
    for (now, before, id) in [(&houses_now, &houses, &h2), (&events_now, &events, &e2)] {
        assert_eq!(
            content(now[id].clone()),
            content(before[id].clone()),
            "{id} restored"
        );
    }

    // An incident of several reports split in two.
    let (big, _) = two(&events_now, 2);
    let members = member_keys(&events_now[&big]);
    let out = &members[0];
    ok(t(&[
        "split",
        &big,
        "--records",
        &format!("{}:{}", out.0, out.1),
        "--reason",
        "another problem",
    ]));
    ok(t(&["run", "--no-publish"]));
    let after = goldens(f, store, "event");
    assert_eq!(member_keys(&after[&big]), members[1..].to_vec());
    assert!(after
        .values()
        .any(|g| g["retired_into"].is_null() && member_keys(g) == vec![out.clone()]));

    // Two addresses of one place: the houses at the second are at the first, until undone.
    let place_links = || ok(t(&["export", "links", "--from", "house", "--to", "place"]));
    let (links_before, places_before) = (place_links(), crosswalk("place"));
    let mut at: Vec<&str> = links_before
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2).filter(|g| g.starts_with("L-")))
        .collect();
    at.sort_unstable();
    at.dedup();
    let (l1, l2) = (at[1].to_owned(), at[at.len() - 2].to_owned());
    let at_l2 = links_before.lines().filter(|l| l.contains(&l2)).count();
    ok(t(&[
        "merge",
        &l1,
        &l2,
        "--reason",
        "the building's second street number",
    ]));
    ok(t(&["run", "--no-publish"]));
    let merged = place_links();
    assert_eq!(merged.lines().filter(|l| l.contains(&l2)).count(), 0);
    assert_eq!(
        merged.lines().filter(|l| l.contains(&l1)).count(),
        links_before.lines().filter(|l| l.contains(&l1)).count() + at_l2
    );
    assert_eq!(goldens(f, store, "place")[&l2]["retired_into"], l1.as_str());
    let (event, _) = merge_event(&json(t(&["--json", "lineage", &l1])), &l2);
    ok(t(&[
        "unmerge",
        &event.to_string(),
        "--reason",
        "two buildings",
    ]));
    ok(t(&["run", "--no-publish"]));
    assert_eq!(place_links(), links_before, "houses where they were");
    assert_eq!(crosswalk("place"), places_before);
    assert!(goldens(f, store, "place")[&l2]["retired_into"].is_null());
    // A place is one address: it does not split.
    let refused = t(&["split", &l1, "--records", "std_address:1", "--reason", "x"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("places do not split"));
}

#[tokio::test(flavor = "multi_thread")]
async fn houses_and_incidents_merged_unmerged_and_split_on_sqlite() {
    let f = Islands::new("steward_city_sqlite").await;
    houses_and_incidents_on(&f, &f.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn houses_and_incidents_merged_unmerged_and_split_on_postgres() {
    let f = Islands::new("steward_city_pg").await;
    houses_and_incidents_on(&f, &fresh_postgres("e2e_steward_city"));
}
