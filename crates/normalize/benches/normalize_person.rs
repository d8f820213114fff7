//! Normalising one person record through a full mapping: the per-record hot path.
#![allow(clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tombolo_core::RawRecord;
use tombolo_normalize::{codes::CodeTables, Mapping, MappingConfig};

fn bench(c: &mut Criterion) {
    let cfg: MappingConfig = toml::from_str(
        r#"
        entity = "person"
        [fields]
        name = { from = "xm", required = true }
        sex = { from = "xb" }
        birth_date = { from = "csrq" }
        resident_id = { from = "gmsfhm" }
        phone = { from = "lxdh" }
        address = { from = "hjdz" }
        "#,
    )
    .expect("bench mapping parses");
    let mapping = Mapping::compile(&cfg, &CodeTables::default()).expect("bench mapping compiles");
    let simplified = RawRecord::new("RK340100000001")
        .with("xm", Some("王俊"))
        .with("xb", Some("1"))
        .with("csrq", Some("19840417"))
        .with("gmsfhm", Some("340104198404178397"))
        .with("lxdh", Some("+86 142 3307 9244"))
        .with(
            "hjdz",
            Some("安徽省合肥市蜀山区三里庵街道安居社区长江西路12号3栋2单元301室"),
        );
    let traditional = simplified
        .clone()
        .with("xm", Some("王俊傑"))
        .with("hjdz", Some("合肥市蜀山區長江西路１２號3棟2單元301"));
    c.bench_function("normalize_person/simplified", |b| {
        b.iter(|| mapping.apply(black_box(&simplified)))
    });
    c.bench_function("normalize_person/traditional_fullwidth", |b| {
        b.iter(|| mapping.apply(black_box(&traditional)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
