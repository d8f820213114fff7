//! The resolution engine end to end: load order does not change the clusters; a bridging
//! record merges two golden records and its deletion splits them again, both announced on the
//! topic; twins with different resident IDs are never linked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::*;

type Partition = BTreeSet<BTreeSet<(String, String)>>;

/// The person clusters of a store, as sets of `(source, key)`.
fn partition(config: &Path, store: &str, env: &BTreeMap<String, String>) -> Partition {
    clusters(&ok(tombolo(
        config,
        store,
        env,
        &["export", "crosswalk", "--entity", "person"],
    )))
}

#[tokio::test(flavor = "multi_thread")]
async fn load_order_does_not_change_the_clusters() {
    let _turn = HEAVY.lock().await;
    let f = Islands::new("order").await;
    let tmp = tempfile::tempdir().unwrap();
    // All at once: trains the parameters, which the other loads then share.
    let report = json(f.tombolo(&["--json", "run", "--no-publish"]));
    assert_eq!(report["entities"][0]["mode"], "full", "{report}");
    let model = tmp.path().join("model.json");
    ok(f.tombolo(&["model", "export", "--output", model.to_str().unwrap()]));
    let all = partition(&f.config(), &f.store, &f.env);
    assert!(all.len() > 7000, "{} clusters", all.len());

    let people = ["hukou", "minzheng", "health", "hrss", "grid"];
    let mut reversed = people;
    reversed.reverse();
    let interleaved = ["health", "hukou", "grid", "minzheng", "hrss"];
    for (n, order) in [people, reversed, interleaved].iter().enumerate() {
        let store = test_store(tmp.path(), &format!("s{n}"));
        ok(tombolo(
            &f.config(),
            &store,
            &f.env,
            &["model", "import", model.to_str().unwrap()],
        ));
        for (i, source) in order.iter().enumerate() {
            let report = json(tombolo(
                &f.config(),
                &store,
                &f.env,
                &["--json", "pull", source, "--no-publish"],
            ));
            let person = report["entities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["entity"] == "person")
                .unwrap()
                .clone();
            let expected = if i == 0 { "full" } else { "incremental" };
            assert_eq!(person["mode"], expected, "{order:?} step {i}: {person}");
        }
        let step_by_step = partition(&f.config(), &store, &f.env);
        assert_eq!(
            step_by_step.len(),
            all.len(),
            "order {order:?}: cluster counts differ"
        );
        assert!(step_by_step == all, "order {order:?}: clusters differ");
        // A full re-resolution of the same store agrees too.
        ok(tombolo(&f.config(), &store, &f.env, &["resolve", "--full"]));
        assert!(partition(&f.config(), &store, &f.env) == all);
    }
}

const HEADER: &str = "id,name,birth,phone,id_no,community,building,room,deleted\n";
// A: name, birth date and phone. B: name and dwelling. Alone they share only the name.
const A: &str = "1,张三丰,1980-05-06,13800001111,,,,,0\n";
const B: &str = "2,张三丰,,,,安居社区,3,301,0\n";
// C knows both the phone of A and the dwelling of B: it bridges them.
const C: &str = "3,张三丰,1980-05-06,13800001111,,安居社区,3,301,";
// Twins: same surname, birth date and dwelling, resident IDs differing in the sequence digits.
const TWINS: &str = "4,王芳,1990-03-15,13900002222,340104199003150013,幸福社区,7,702,0\n\
                     5,王芬,1990-03-15,13900002222,34010419900315003X,幸福社区,7,702,0\n\
                     6,王芳,1990-03-15,13900002222,,幸福社区,7,702,0\n";

fn config(dir: &Path, prefix: &str) -> std::path::PathBuf {
    let path = dir.join("tombolo.toml");
    std::fs::write(
        &path,
        format!(
            r#"{source}
[kafka]
brokers = "{brokers}"
topic_prefix = "{prefix}"
partitions = 1
"#,
            brokers = brokers(),
            source = csv_source(
                "grid",
                "people.csv",
                "id",
                "person",
                r#"deleted = { column = "deleted", values = ["1"] }
[sources.mapping.fields]
name = { from = "name", required = true }
birth_date = { from = "birth" }
phone = { from = "phone" }
resident_id = { from = "id_no" }
"address.community" = { from = "community" }
"address.building" = { from = "building" }
"address.room" = { from = "room" }"#
            )
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn bridging_record_merges_and_its_deletion_splits() {
    let _turn = HEAVY.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let prefix = unique("e2e.bridge");
    let config = config(dir, &prefix);
    let store = test_store(dir, "t");
    let env = BTreeMap::new();
    let model = root().join("tests/e2e/fixtures/person_model.json");
    ok(tombolo(
        &config,
        &store,
        &env,
        &["model", "import", model.to_str().unwrap()],
    ));
    let csv = dir.join("people.csv");
    let run = || json(tombolo(&config, &store, &env, &["--json", "run"]));
    let golden_of = |key: &str| -> String {
        let cw = ok(tombolo(
            &config,
            &store,
            &env,
            &["export", "crosswalk", "--entity", "person"],
        ));
        cw.lines()
            .find(|l| l.starts_with(&format!("grid,{key},")))
            .unwrap()
            .split(',')
            .nth(2)
            .unwrap()
            .to_owned()
    };

    std::fs::write(&csv, format!("{HEADER}{A}{B}{TWINS}")).unwrap();
    run();
    let (a, b) = (golden_of("1"), golden_of("2"));
    assert_ne!(a, b, "the name alone does not link A and B");
    // Twins never share a golden record; the record without an ID joins at most one of them.
    let (t1, t2, t3) = (golden_of("4"), golden_of("5"), golden_of("6"));
    assert_ne!(t1, t2, "different valid resident IDs are never linked");
    assert!(t3 != t1 || t3 != t2);

    // The bridge arrives: one golden record survives, the other redirects to it.
    std::fs::write(&csv, format!("{HEADER}{A}{B}{C}0\n{TWINS}")).unwrap();
    let report = run();
    assert_eq!(report["entities"][0]["mode"], "incremental", "{report}");
    let merged = golden_of("1");
    assert_eq!(merged, golden_of("2"));
    assert_eq!(merged, golden_of("3"));
    let retired = if merged == a { b.clone() } else { a.clone() };
    let topic = format!("{prefix}.person.v1");
    let messages = consume(&topic, "person");
    let last = latest(&messages);
    assert_eq!(
        last[&retired]["value"]["retired_into"].as_str(),
        Some(merged.as_str()),
        "the merge is on the topic: {}",
        last[&retired]
    );
    assert_eq!(
        last[&merged]["value"]["members"].as_array().unwrap().len(),
        3
    );
    let why = json(tombolo(
        &config,
        &store,
        &env,
        &["--json", "explain", "grid", "3"],
    ));
    assert!(
        why["evidence"]["explanation"]["probability"]
            .as_f64()
            .unwrap()
            >= 0.95,
        "{why}"
    );
    assert!(!why["evidence"]["explanation"]["terms"]
        .as_array()
        .unwrap()
        .is_empty());

    // The bridge is deleted at the source: the two records part again.
    std::fs::write(&csv, format!("{HEADER}{A}{B}{C}1\n{TWINS}")).unwrap();
    let report = run();
    assert_eq!(report["sources"][0]["deleted"], 1, "{report}");
    let (a2, b2) = (golden_of("1"), golden_of("2"));
    assert_ne!(a2, b2, "split again");
    assert!(
        a2 == merged || b2 == merged,
        "one part keeps the surviving id"
    );
    let last = latest(&consume(&topic, "person"));
    for id in [&a2, &b2] {
        assert!(last[id]["value"]["retired_into"].is_null(), "{}", last[id]);
        assert_eq!(last[id]["value"]["members"].as_array().unwrap().len(), 1);
    }
    let cw = ok(tombolo(
        &config,
        &store,
        &env,
        &["export", "crosswalk", "--entity", "person"],
    ));
    assert!(!cw.lines().any(|l| l.starts_with("grid,3,")), "{cw}");
}
