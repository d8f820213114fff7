//! Hot paths of matching: comparing two records field by field, the comparison vector and score
//! of a pair of prepared records, building the blocking index, and scoring and clustering a set
//! of records.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tombolo_core::EntityKind;
use tombolo_normalize::NormalizedRecord;
use tombolo_resolve::fellegi_sunter::{Engine, Index, Model, Schema, Thresholds};
use tombolo_resolve::person::{PersonRec, PersonSchema};
use tombolo_resolve::{blocking, compare};

fn person(i: usize) -> NormalizedRecord {
    const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"];
    const GIVEN: [&str; 8] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军"];
    let values = [
        ("name", format!("{}{}", SURNAMES[i % 8], GIVEN[(i / 8) % 8])),
        (
            "birth_date",
            format!("{}-{:02}-{:02}", 1940 + i % 70, 1 + i % 12, 1 + i % 28),
        ),
        ("phone", format!("138{:08}", i % 5000)),
        ("address.community", "安居社区".to_owned()),
        ("address.building", format!("{}", i % 40)),
    ];
    NormalizedRecord {
        entity: EntityKind::Person,
        key: i.to_string(),
        observed_at: None,
        values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        issues: vec![],
        derived: vec![],
        deleted: false,
    }
}

fn bench(c: &mut Criterion) {
    c.bench_function("compare/name_homophone", |b| {
        b.iter(|| compare::name(black_box(Some("张伟")), black_box(Some("张玮"))))
    });
    c.bench_function("compare/name_different", |b| {
        b.iter(|| compare::name(black_box(Some("张伟")), black_box(Some("李娜"))))
    });
    c.bench_function("compare/birth_date", |b| {
        b.iter(|| compare::birth_date(black_box(Some("1990-01-02")), black_box(Some("1990-02-01"))))
    });
    c.bench_function("compare/phone", |b| {
        b.iter(|| {
            compare::phone(
                black_box(Some("13800138000")),
                black_box(Some("13800183000")),
            )
        })
    });
    let (a, b) = (
        PersonRec::prepare(&(&person(0)).into()),
        PersonRec::prepare(&(&person(64)).into()),
    );
    let model = Model::initial(PersonSchema.comparisons(), 1e-4);
    c.bench_function("score/prepared_pair", |bench| {
        bench.iter(|| {
            let g = PersonSchema.gamma(black_box(&a), black_box(&b));
            model.weight(&g, a.simplified())
        })
    });
    let recs: Vec<NormalizedRecord> = (0..10_000).map(person).collect();
    let prepared: Vec<PersonRec> = recs.iter().map(|r| PersonRec::prepare(&r.into())).collect();
    c.bench_function("index/10k_persons", |b| {
        b.iter(|| Index::build(&PersonSchema, black_box(&prepared), 50))
    });
    let index = Index::build(&PersonSchema, &prepared, 50);
    c.bench_function("engine/score_and_cluster_10k_persons", |b| {
        b.iter(|| {
            Engine::new(
                &PersonSchema,
                &prepared,
                &model,
                &index,
                &[],
                Thresholds::default(),
            )
            .full()
        })
    });
    c.bench_function("blocking/keys_of_10k_persons", |b| {
        b.iter(|| recs.iter().map(blocking::person_keys).count())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
