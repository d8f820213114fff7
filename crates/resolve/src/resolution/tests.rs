use super::*;
use crate::compare::{ADDRESS, BIRTH_DATE, NAME, PHONE, RESIDENT_ID, SEX};
use crate::fellegi_sunter::Thresholds;
use crate::linking::tests::person;

type Partition = BTreeSet<BTreeSet<RecordRef>>;

fn partition(r: &Resolution) -> Partition {
    let mut by: BTreeMap<&str, BTreeSet<RecordRef>> = BTreeMap::new();
    for l in &r.links {
        by.entry(&l.golden_id)
            .or_default()
            .insert((l.source.clone(), l.record_key.clone()));
    }
    by.into_values().collect()
}

/// People seen by three sources, each with its own gaps, plus records that bridge.
fn population() -> Vec<Input> {
    let names = [
        "张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄婷",
    ];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let birth = format!("19{:02}-0{}-1{}", 60 + i, 1 + i % 9, i % 10);
        let phone = format!("1380013{:04}", 1000 + i);
        let building = format!("{}", 1 + i);
        out.push(person(
            "a",
            &format!("a{i}"),
            &[("name", name), ("birth_date", &birth), ("phone", &phone)],
        ));
        out.push(person(
            "b",
            &format!("b{i}"),
            &[
                ("name", name),
                ("address.community", "安居社区"),
                ("address.building", &building),
                ("address.room", "301"),
            ],
        ));
        if i % 2 == 0 {
            // Knows both the phone and the dwelling: bridges a and b.
            out.push(person(
                "c",
                &format!("c{i}"),
                &[
                    ("name", name),
                    ("phone", &phone),
                    ("address.community", "安居社区"),
                    ("address.building", &building),
                    ("address.room", "301"),
                ],
            ));
        }
    }
    out
}

fn model() -> Model {
    let mut m = Model::initial(&[NAME, BIRTH_DATE, RESIDENT_ID, PHONE, ADDRESS, SEX], 1e-3);
    for c in &mut m.comparisons {
        c.levels[0].m = 0.95;
        c.levels[0].u = 0.001;
    }
    m
}

fn run(
    records: &[Input],
    previous: &BTreeMap<RecordRef, String>,
    model: &Model,
    changed: Option<&BTreeSet<RecordRef>>,
) -> Resolution {
    let config = ResolveConfig {
        thresholds: Thresholds {
            link: 0.9,
            review: 0.5,
        },
        ..Default::default()
    };
    resolve(&Request {
        entity: EntityKind::Person,
        records,
        previous,
        config: &config,
        now: "now",
        model: Some(model),
        decisions: &[],
        changed,
    })
    .unwrap()
    .into_resolution()
    .unwrap()
}

fn crosswalk(r: &Resolution, into: &mut BTreeMap<RecordRef, String>) {
    if let Some(p) = &r.partial {
        for k in &p.records {
            into.remove(k);
        }
    } else {
        into.clear();
    }
    for l in &r.links {
        into.insert(
            (l.source.clone(), l.record_key.clone()),
            l.golden_id.clone(),
        );
    }
}

#[test]
fn incremental_loads_in_any_order_match_a_full_resolution() {
    let all = population();
    let m = model();
    let full = partition(&run(&all, &BTreeMap::new(), &m, None));
    assert!(full.iter().any(|g| g.len() == 3), "bridges link: {full:?}");
    for order in [["a", "b", "c"], ["c", "b", "a"], ["b", "a", "c"]] {
        let mut loaded: Vec<Input> = Vec::new();
        let mut xw = BTreeMap::new();
        for source in order {
            let batch: Vec<Input> = all.iter().filter(|r| r.source == source).cloned().collect();
            let changed: BTreeSet<RecordRef> = batch
                .iter()
                .map(|r| (r.source.clone(), r.record.key.clone()))
                .collect();
            loaded.extend(batch);
            let r = run(&loaded, &xw, &m, Some(&changed));
            crosswalk(&r, &mut xw);
        }
        let mut by: BTreeMap<String, BTreeSet<RecordRef>> = BTreeMap::new();
        for (k, g) in &xw {
            by.entry(g.clone()).or_default().insert(k.clone());
        }
        let incremental: Partition = by.into_values().collect();
        assert_eq!(incremental, full, "order {order:?}");
    }
}

#[test]
fn removing_the_bridge_splits_and_keeps_the_larger_id() {
    let mut all = population();
    let m = model();
    let first = run(&all, &BTreeMap::new(), &m, None);
    let mut xw = BTreeMap::new();
    crosswalk(&first, &mut xw);
    let bridged = xw[&("c".to_owned(), "c0".to_owned())].clone();
    assert_eq!(xw[&("a".to_owned(), "a0".to_owned())], bridged);
    assert_eq!(xw[&("b".to_owned(), "b0".to_owned())], bridged);
    all.retain(|r| r.record.key != "c0");
    let changed = BTreeSet::from([("c".to_owned(), "c0".to_owned())]);
    let second = run(&all, &xw, &m, Some(&changed));
    let p = second.partial.clone().unwrap();
    assert!(
        p.records.len() < all.len(),
        "only the affected records: {p:?}"
    );
    crosswalk(&second, &mut xw);
    let (a, b) = (
        &xw[&("a".to_owned(), "a0".to_owned())],
        &xw[&("b".to_owned(), "b0".to_owned())],
    );
    assert_ne!(a, b, "split");
    assert!(*a == bridged || *b == bridged, "one part keeps the id");
    assert_eq!(partition(&run(&all, &BTreeMap::new(), &m, None)), {
        let mut by: BTreeMap<String, BTreeSet<RecordRef>> = BTreeMap::new();
        for (k, g) in &xw {
            by.entry(g.clone()).or_default().insert(k.clone());
        }
        by.into_values().collect::<Partition>()
    });
}

#[test]
fn reviewers_decisions_override_the_engine() {
    let all = population();
    let m = model();
    let config = ResolveConfig::default();
    let a = ("a".to_owned(), "a1".to_owned());
    let b = ("b".to_owned(), "b1".to_owned());
    let c = ("a".to_owned(), "a2".to_owned());
    let decisions = vec![
        ManualDecision {
            a: a.clone(),
            b: b.clone(),
            verdict: Verdict::Match,
        },
        ManualDecision {
            a: a.clone(),
            b: c.clone(),
            verdict: Verdict::Match,
        },
        ManualDecision {
            a: b.clone(),
            b: c.clone(),
            verdict: Verdict::Distinct,
        },
    ];
    let r = resolve(&Request {
        entity: EntityKind::Person,
        records: &all,
        previous: &BTreeMap::new(),
        config: &config,
        now: "now",
        model: Some(&m),
        decisions: &decisions,
        changed: None,
    })
    .unwrap()
    .into_resolution()
    .unwrap();
    let id = |k: &RecordRef| {
        r.links
            .iter()
            .find(|l| l.source == k.0 && l.record_key == k.1)
            .unwrap()
            .clone()
    };
    assert_eq!(id(&a).golden_id, id(&b).golden_id, "manual match");
    assert_eq!(id(&a).rule, "manual");
    assert_ne!(
        id(&b).golden_id,
        id(&c).golden_id,
        "a distinct decision is never overridden"
    );
}
