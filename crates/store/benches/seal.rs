//! Encryption at rest on the hot path: sealing a stored source record (every write) and opening
//! it (every read by the resolver), against reading a plaintext value.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tombolo_store::seal::column;
use tombolo_store::Keyring;

/// A stored person record as the store writes it (about 400 bytes of JSON).
const RECORD: &str = r#"{"entity":"person","key":"HK-0001234","values":{"name":"张三丰","resident_id":"340104199001021234","phone":"13800138000","birth_date":"1990-01-02","sex":"male","address":"安徽省合肥市蜀山区稻香村街道青年社区长江西路788号3栋","address.district":"蜀山区","address.community":"青年社区","address.road":"长江西路"},"issues":[],"derived":["birth_date","sex"],"observed_at":"2026-11-27T10:00:00Z","deleted":false}"#;

fn seal(c: &mut Criterion) {
    let ring = Keyring::parse(&Keyring::new_key_line("k1")).expect("keyring");
    let row = tombolo_store::seal::row(&["hukou", "HK-0001234"]);
    let sealed = ring
        .seal(column::SOURCE_RECORD, &row, RECORD)
        .expect("seal");
    c.bench_function("seal a source record", |b| {
        b.iter(|| ring.seal(column::SOURCE_RECORD, &row, black_box(RECORD)))
    });
    c.bench_function("open a sealed source record", |b| {
        b.iter(|| ring.open(column::SOURCE_RECORD, &row, black_box(&sealed)))
    });
}

criterion_group!(benches, seal);
criterion_main!(benches);
