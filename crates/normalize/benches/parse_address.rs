//! Parsing one address, in each style the sources write: the registry's full form, the housing
//! registry's `#`/`-` form, the hotline's free text with Chinese numbers and `附近`, the grid
//! offices' community + building form, and Traditional full-width text.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tombolo_normalize::validate::parse_address;

fn bench(c: &mut Criterion) {
    let styles = [
        (
            "registry",
            "安徽省合肥市庐阳区杏花村街道黄山社区长江西路932号33栋2单元301室",
        ),
        ("housing", "合肥市包河区马鞍山路279号25#5-3201"),
        ("hotline", "蜀山区长江西路十二号三栋二单元二〇一室附近"),
        ("grid", "梅园社区29栋2单元1803室"),
        (
            "traditional",
            "合肥市蜀山區長江西路１２號３棟２單元３０１室",
        ),
    ];
    let mut group = c.benchmark_group("parse_address");
    for (style, text) in styles {
        group.bench_function(style, |b| b.iter(|| parse_address(black_box(text))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
