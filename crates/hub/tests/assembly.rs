//! The assembly of places, houses and incidents as a run drives it: made on the first run,
//! skipped by a run in which nothing it depends on changed, made again when a record or the
//! rules change. A temporary SQLite store and CSV sources, no services.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tombolo_hub::pipeline::RunReport;
use tombolo_hub::{Config, EntityKind, Hub};

const REGISTRY: &str = "地址编码,区划代码,区县,街道,社区,道路,门牌号,楼栋,单元,户室,标准地址\n\
A1,340104,蜀山区,三里庵街道,青年社区,长江西路,12,3,2,301,蜀山区长江西路12号3栋2单元301室\n\
A2,340104,蜀山区,三里庵街道,青年社区,长江西路,12,3,2,302,蜀山区长江西路12号3栋2单元302室\n";

const PEOPLE: &str = "编号,姓名,身份证号,住址\n\
R1,张伟,340104198001011234,合肥市蜀山区长江西路12号3栋2单元301室\n";

const HOUSES: &str = "不动产单元号,房屋坐落,权利人,权利人证件号\n\
H1,蜀山区长江西路12号3幢2单元301,张伟,340104198001011234\n";

fn config(dir: &Path, window_hours: u32) -> String {
    let csv = |name: &str| dir.join(name).display().to_string();
    format!(
        r#"[store]
url = "sqlite:{store}"
[[sources]]
name = "hukou"
[sources.connector]
kind = "csv"
path = "{people}"
key = "编号"
[sources.mapping]
entity = "person"
[sources.mapping.fields]
name = {{ from = "姓名", required = true }}
resident_id = {{ from = "身份证号" }}
address = {{ from = "住址" }}
[[sources]]
name = "std_address"
[sources.connector]
kind = "csv"
path = "{registry}"
key = "地址编码"
[sources.mapping]
entity = "place"
[sources.mapping.fields]
address = {{ from = "标准地址" }}
district_code = {{ from = "区划代码" }}
"address.district" = {{ from = "区县" }}
"address.community" = {{ from = "社区" }}
"address.road" = {{ from = "道路" }}
"address.number" = {{ from = "门牌号" }}
"address.building" = {{ from = "楼栋" }}
"address.unit" = {{ from = "单元" }}
"address.room" = {{ from = "户室" }}
[[sources]]
name = "housing"
[sources.connector]
kind = "csv"
path = "{houses}"
key = "不动产单元号"
[sources.mapping]
entity = "house"
[sources.mapping.fields]
address = {{ from = "房屋坐落" }}
owner_name = {{ from = "权利人" }}
owner_id = {{ from = "权利人证件号" }}
[events]
window_hours = {window_hours}
"#,
        store = dir.join("hub.db").display(),
        people = csv("people.csv"),
        registry = csv("registry.csv"),
        houses = csv("houses.csv"),
    )
}

async fn run(dir: &Path, window_hours: u32) -> RunReport {
    let config = Config::parse(&config(dir, window_hours)).unwrap_or_else(|e| panic!("{e}"));
    let hub = Hub::open(config, None).await.unwrap();
    hub.run(&[], None, false).await.unwrap()
}

/// The kinds a run resolved or assembled, with their golden records.
fn kinds(report: &RunReport) -> Vec<(EntityKind, u64)> {
    report
        .entities
        .iter()
        .map(|e| (e.entity, e.golden_records))
        .collect()
}

#[tokio::test]
async fn the_assembly_runs_when_something_it_depends_on_changed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("registry.csv"), REGISTRY).unwrap();
    std::fs::write(dir.join("people.csv"), PEOPLE).unwrap();
    std::fs::write(dir.join("houses.csv"), HOUSES).unwrap();

    // Two rooms, their building and door; one house.
    let first = run(dir, 72).await;
    assert_eq!(
        kinds(&first),
        vec![
            (EntityKind::Person, 1),
            (EntityKind::Place, 4),
            (EntityKind::House, 1),
        ]
    );
    let house = first
        .entities
        .iter()
        .find(|e| e.entity == EntityKind::House)
        .unwrap();
    assert_eq!(house.links["owner"]["resident ID"], 1, "{:?}", house.links);

    // Nothing new: people are resolved (incrementally, nothing to do), the assembly skipped.
    let second = run(dir, 72).await;
    assert_eq!(kinds(&second), vec![(EntityKind::Person, 1)]);

    // A new house: assembled again, its room a place of its own (not in the registry).
    std::fs::write(
        dir.join("houses.csv"),
        format!("{HOUSES}H2,蜀山区长江西路12号3栋2单元303室,李娜,\n"),
    )
    .unwrap();
    let third = run(dir, 72).await;
    assert_eq!(
        kinds(&third),
        vec![
            (EntityKind::Person, 1),
            (EntityKind::Place, 5),
            (EntityKind::House, 2),
        ]
    );
    assert_eq!(kinds(&run(dir, 72).await), vec![(EntityKind::Person, 1)]);

    // Other rules (the incident window): assembled again with nothing new.
    let rules = run(dir, 24).await;
    assert!(
        rules.entities.iter().any(|e| e.entity == EntityKind::Place),
        "{:?}",
        kinds(&rules)
    );
    assert_eq!(kinds(&run(dir, 24).await), vec![(EntityKind::Person, 1)]);
}
