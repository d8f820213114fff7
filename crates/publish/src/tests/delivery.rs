use std::collections::BTreeMap;

use tombolo_core::{Classify, EntityKind, ErrorClass, GoldenRecord};
use tombolo_privacy::{DepartmentConfig, PseudonymKeys};
use tombolo_store::feeds::FeedState;

use super::memory::{MemoryBroker, MemoryStore};
use crate::avro::decode;
use crate::feeds::Feeds;
use crate::publisher::drain;

fn golden(id: &str, entity: EntityKind, version: i64, phone: &str) -> GoldenRecord {
    GoldenRecord::of(id, entity, version, [("name", "张三"), ("phone", phone)])
}

fn person(id: &str, version: i64) -> GoldenRecord {
    golden(id, EntityKind::Person, version, "13800138000")
}

fn department(grants: &str) -> DepartmentConfig {
    let text = format!("name = \"health\"\npurpose = \"follow-up\"\nkey_env = \"K\"\n{grants}");
    toml::from_str(&text).unwrap()
}

const PERSON_GRANT: &str =
    "[grants.person]\nname = { treatment = \"mask\" }\nphone = { treatment = \"pseudonym\" }";

fn feeds(broker: &MemoryBroker, dept: &DepartmentConfig, grant_version: i64) -> Feeds {
    let keys = PseudonymKeys::new(BTreeMap::from([("health".to_owned(), vec![7; 32])]), None);
    let departments = [(dept.clone(), grant_version)];
    Feeds::new(&broker.config, &departments, keys, "2026-12-06").unwrap()
}

#[tokio::test]
async fn every_pending_version_is_published_once_and_marked() {
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    store.write(person("P-1", 1));
    store.write(person("P-2", 1));
    store.write(person("P-1", 2));
    let stats = drain(&store, &broker, &Feeds::none(), 2).await.unwrap();
    assert_eq!(stats.published, 3);
    assert_eq!(
        stats.by_topic,
        BTreeMap::from([("t.person.v1".to_owned(), 3)])
    );
    assert_eq!(store.pending(), 0);
    let topic = broker.topic("t.person.v1");
    let keys: Vec<&str> = topic.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        ["P-1", "P-2", "P-1"],
        "in outbox order, keyed by golden id"
    );
    let version = |i: usize| {
        let h = &topic[i].headers;
        h.iter()
            .find(|(k, _)| k == "tombolo.version")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(version(2).as_deref(), Some("2"));
    let payload = topic[0].payload.as_deref().unwrap();
    let decoded = decode(EntityKind::Person, payload).unwrap();
    assert!(format!("{decoded:?}").contains("P-1"), "{decoded:?}");
    let again = drain(&store, &broker, &Feeds::none(), 2).await.unwrap();
    assert_eq!(again.published, 0, "nothing is sent twice");
}

#[tokio::test]
async fn a_failed_send_marks_nothing_and_the_next_drain_sends_it() {
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    store.write(person("P-1", 1));
    *broker.fail.lock().unwrap() = vec![1];
    let err = drain(&store, &broker, &Feeds::none(), 10)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(store.pending(), 1, "unacknowledged entries stay pending");
    assert!(broker.topic("t.person.v1").is_empty());
    let stats = drain(&store, &broker, &Feeds::none(), 10).await.unwrap();
    assert_eq!((stats.published, store.pending()), (1, 0));
}

#[tokio::test]
async fn a_new_department_is_backfilled_then_receives_new_versions_only_once() {
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    store.write(person("P-1", 1));
    store.write(person("P-2", 1));
    store.write(golden("O-1", EntityKind::Organization, 1, "0551-1234567"));
    let dept = department(PERSON_GRANT);
    let feeds = feeds(&broker, &dept, 1);
    let stats = drain(&store, &broker, &feeds, 10).await.unwrap();
    let dept_topic = "t.person.v1.dept.health";
    let delivered = broker.topic(dept_topic);
    assert_eq!(
        delivered.len(),
        2,
        "the backfill, and no second copy from the outbox"
    );
    assert!(
        delivered.iter().all(|m| m.key.len() == 64),
        "keyed by the department's ids"
    );
    assert!(broker.topic("t.organization.v1.dept.health").is_empty());
    for m in &delivered {
        let raw = String::from_utf8_lossy(m.payload.as_deref().unwrap()).into_owned();
        assert!(
            !raw.contains("13800138000") && !raw.contains("张三"),
            "{raw}"
        );
    }
    assert_eq!(stats.published, 3);
    let state = store.feeds.lock().unwrap()["health"].clone();
    let complete = FeedState {
        grant_version: 1,
        cursor: None,
        skip_through: 3,
    };
    assert_eq!(state, complete);
    // Each delivered batch is audited with what it carried.
    let audited: Vec<(String, i64)> = store
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .flat_map(|d| d.records.clone())
        .collect();
    assert_eq!(audited, [("P-1".to_owned(), 1), ("P-2".to_owned(), 1)]);
    let fields = store.deliveries.lock().unwrap()[0].fields.clone();
    assert_eq!(
        fields,
        [
            ("name".into(), "mask".into()),
            ("phone".into(), "pseudonym".into())
        ]
    );

    store.write(person("P-1", 2));
    drain(&store, &broker, &feeds, 10).await.unwrap();
    let delivered = broker.topic(dept_topic);
    assert_eq!(delivered.len(), 3, "a new version reaches the department");
    assert_eq!(store.deliveries.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_after_its_last_acknowledged_page() {
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    for id in ["P-1", "P-2", "P-3"] {
        store.write(person(id, 1));
    }
    let feeds = feeds(&broker, &department(PERSON_GRANT), 1);
    // Pages of two: P-1 and P-2 are acknowledged, the page with P-3 is not.
    *broker.fail.lock().unwrap() = vec![2];
    drain(&store, &broker, &feeds, 2).await.unwrap_err();
    let state = store.feeds.lock().unwrap()["health"].clone();
    assert_eq!(state.cursor.as_deref(), Some("P-2"));
    assert_eq!(store.pending(), 3, "the outbox waits for the backfill");
    drain(&store, &broker, &feeds, 2).await.unwrap();
    let keys: Vec<String> = broker
        .topic("t.person.v1.dept.health")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys.len(), 3, "P-3 once, nothing twice: {keys:?}");
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3);
    assert_eq!(store.pending(), 0);
    assert_eq!(broker.topic("t.person.v1").len(), 3);
}

#[tokio::test]
async fn a_withdrawn_kind_is_tombstoned_on_the_departments_topic() {
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    store.write(person("P-1", 1));
    store.write(golden("O-1", EntityKind::Organization, 1, "0551-1234567"));
    let both = department(&format!(
        "{PERSON_GRANT}\n[grants.organization]\nname = {{ treatment = \"clear\" }}"
    ));
    drain(&store, &broker, &feeds(&broker, &both, 1), 10)
        .await
        .unwrap();
    assert_eq!(broker.topic("t.organization.v1.dept.health").len(), 1);
    let stored = serde_json::to_string(&both).unwrap();
    store
        .grants
        .lock()
        .unwrap()
        .insert(("health".into(), 1), stored);
    // Version 2 of the grant no longer covers organisations.
    let persons_only = department(PERSON_GRANT);
    drain(&store, &broker, &feeds(&broker, &persons_only, 2), 10)
        .await
        .unwrap();
    let org = broker.topic("t.organization.v1.dept.health");
    assert_eq!(org.len(), 2);
    assert!(org[1].payload.is_none(), "a tombstone");
    assert_eq!(org[1].key, org[0].key, "for the record the department held");
    assert_eq!(
        broker.topic("t.person.v1.dept.health").len(),
        2,
        "persons backfilled again under the new grant"
    );
}

#[tokio::test]
async fn relationships_go_to_the_relation_topic_and_an_ended_one_is_a_tombstone() {
    use tombolo_core::{Relation, RelationKind};
    let dept = department(PERSON_GRANT);
    let (store, broker) = (MemoryStore::default(), MemoryBroker::new());
    let home = Relation {
        kind: RelationKind::LivesAt,
        from: "P-1".into(),
        to: "L-1".into(),
        source: "hukou".into(),
        record_key: "RK1".into(),
        observed_at: Some("2024-01-01".into()),
    };
    store.write(person("P-1", 1));
    store.relate(home.clone(), "upsert");
    store.relate(home.moved("P-1", "P-9"), "upsert");
    store.relate(home.clone(), "end");
    let stats = drain(&store, &broker, &feeds(&broker, &dept, 1), 10)
        .await
        .unwrap();
    assert_eq!(store.pending(), 0);
    assert_eq!(stats.by_topic.get("t.relation.v1"), Some(&3));
    let topic = broker.topic("t.relation.v1");
    let keys: Vec<&str> = topic.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        ["lives_at:P-1:L-1", "lives_at:P-9:L-1", "lives_at:P-1:L-1"]
    );
    let first = crate::avro::decode_relation(topic[0].payload.as_ref().unwrap()).unwrap();
    assert_eq!(first, home);
    assert!(
        topic[2].payload.is_none(),
        "an ended relationship is a tombstone"
    );
    // No department receives relationships: only the person went to the health feed.
    let health = broker.topic("t.person.v1.dept.health");
    assert_eq!(health.len(), 1);
    assert!(broker.topic("t.relation.v1.dept.health").is_empty());
}
