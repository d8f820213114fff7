//! How well addresses are placed, on the islands data: the standard address registry
//! (`std_address.csv`) indexed, then every address in the housing registry, the health archive,
//! the organisation registries and the grid offices' incident reports parsed and located, and
//! the result compared with `truth_place.csv` / `truth_event.csv` through `truth_place_tree.csv`.
//!
//!     cargo run --release -p tombolo-resolve --example places -- ../shared/data/islands
//!
//! Then the incident reports (the hotline's tickets and the grid workers' reports) are grouped
//! into incidents ([`tombolo_resolve::event::incidents`], categories mapped as a config would)
//! and scored pairwise against `truth_event.csv`.
//!
//! A located place is right when it is the true place or one of its ancestors (a record placed
//! at its building when the truth is a room in it is right, and counted as coarser). An
//! ambiguous grid address is settled by the same person's other records (`place::settle`),
//! who that person is taken from `truth_person.csv` in place of the hub's person resolution.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tombolo_normalize::validate::Place;
use tombolo_normalize::validate::{address::normalize_part, parse_address};
use tombolo_resolve::event::{incidents, Report};
use tombolo_resolve::place::{settle, Level, Located, PlaceIndex, PlaceKey};

fn read(path: &Path, gb: bool) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).expect("readable");
    let text = if gb {
        encoding_rs::GB18030.decode(&bytes).0.into_owned()
    } else {
        String::from_utf8(bytes).expect("utf-8")
    };
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = r.headers().expect("header").clone();
    r.records()
        .map(|row| {
            let row = row.expect("row");
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("the islands directory"));
    // Truth: record → true place; place → parent.
    let mut truth: HashMap<(String, String), String> = HashMap::new();
    for r in read(&dir.join("truth_place.csv"), false) {
        truth.insert(
            (r["source"].clone(), r["record_key"].clone()),
            r["entity_id"].clone(),
        );
    }
    for r in read(&dir.join("truth_event.csv"), false) {
        truth.insert(
            (r["source"].clone(), r["record_key"].clone()),
            r["place_id"].clone(),
        );
    }
    let parent: HashMap<String, String> = read(&dir.join("truth_place_tree.csv"), false)
        .into_iter()
        .map(|r| (r["place_id"].clone(), r["parent_id"].clone()))
        .collect();
    // The registry: our key of each level → the true id at that level.
    let mut index = PlaceIndex::default();
    let mut known: HashMap<PlaceKey, String> = HashMap::new();
    for r in read(&dir.join("std_address.csv"), false) {
        let part = |n: &str, c: &str| {
            Some(normalize_part(n, &r[c]))
                .filter(|v| !v.is_empty())
                .map(Into::into)
        };
        let key = PlaceKey {
            district: r["区县"].as_str().into(),
            road: r["道路"].as_str().into(),
            number: normalize_part("number", &r["门牌号"]).into(),
            building: part("building", "楼栋"),
            unit: part("unit", "单元"),
            room: part("room", "户室"),
        };
        index.register(&key, Some(&r["社区"]));
        let mut id = truth
            .get(&("std_address".to_owned(), r["地址编码"].clone()))
            .cloned();
        for k in key.lineage() {
            if let Some(i) = &id {
                known.insert(k, i.clone());
                id = parent.get(i).cloned();
            }
        }
    }
    println!("registry: {} places", index.len());
    score_incidents(&dir, &index);
    let sources: [(&str, &str, bool, &str, &str); 6] = [
        (
            "housing",
            "house_registry.csv",
            false,
            "不动产单元号",
            "房屋坐落",
        ),
        (
            "health",
            "health_archive.gbk.csv",
            true,
            "档案编号",
            "现住址",
        ),
        (
            "market",
            "market_entities.csv",
            false,
            "统一社会信用代码",
            "住所",
        ),
        ("tax", "tax_registry.csv", false, "登记序号", "生产经营地址"),
        (
            "grid_event",
            "grid_events.gbk.csv",
            true,
            "事件编号",
            "发生地点",
        ),
        ("grid", "grid_residents.csv", false, "序号", ""),
    ];
    // Whether a place placed as `id` is the true place `t` or above it.
    let right = |t: &String, id: &String| {
        let mut at = Some(t.clone());
        while let Some(a) = at.clone().filter(|a| a != id) {
            at = parent.get(&a).cloned();
        }
        at.is_some()
    };
    // Who each person record is, standing in for the hub's person resolution (F1 0.999 on this
    // data), and where each person's records placed them so far.
    let people: HashMap<(String, String), String> = read(&dir.join("truth_person.csv"), false)
        .into_iter()
        .map(|r| {
            (
                (r["source"].clone(), r["record_key"].clone()),
                r["entity_id"].clone(),
            )
        })
        .collect();
    let mut homes: HashMap<String, Vec<PlaceKey>> = HashMap::new();
    for (source, file, gb, key, column) in sources {
        let path = dir.join(file);
        if !path.exists() {
            println!("{source:<10} ({file} not there)");
            continue;
        }
        let mut n: BTreeMap<&str, u64> = BTreeMap::new();
        for r in read(&path, gb) {
            let w = if column.is_empty() {
                // The grid offices' residents: the address in columns.
                let part =
                    |n: &str, c: &str| Some(normalize_part(n, &r[c])).filter(|v| !v.is_empty());
                Place {
                    community: Some(r["所属社区"].clone()),
                    building: part("building", "楼栋号"),
                    unit: part("unit", "单元"),
                    room: part("room", "房间号"),
                    ..Place::default()
                }
            } else {
                parse_address(&r[column])
            };
            let Some(t) = truth.get(&(source.to_owned(), r[key].clone())) else {
                *n.entry("no truth").or_default() += 1;
                continue;
            };
            let person = people.get(&(source.to_owned(), r[key].clone())).cloned();
            let (located, settled) = match index.locate(&w) {
                Located::Ambiguous(fits) => {
                    let known = person.as_ref().and_then(|p| homes.get(p));
                    match known.and_then(|k| settle(&fits, k)) {
                        Some(k) => (Located::Place(k), true),
                        None => (Located::Ambiguous(fits), false),
                    }
                }
                other => (other, false),
            };
            if let (Located::Place(k), Some(p), false) = (&located, &person, settled) {
                homes.entry(p.clone()).or_default().push(k.clone());
            }
            let outcome = match located {
                Located::Place(k) => match (known.get(&k), settled) {
                    (None, _) => "unregistered",
                    (Some(id), _) if !right(t, id) => "wrong",
                    (Some(_), true) => "right, settled by the person's other records",
                    (Some(_), false) if k.level() == Level::Room || known.get(&k) == Some(t) => {
                        "right"
                    }
                    (Some(_), false) => "right, coarser",
                },
                Located::Ambiguous(_) => "ambiguous: no link",
                Located::Vague(_) => "vague: no link",
            };
            *n.entry(outcome).or_default() += 1;
        }
        println!("{source:<10} {n:?}");
    }
}

/// Minutes since 1970 of `2025-07-01 17:39:00` or `2025/05/24 10:38`.
fn minutes(text: &str) -> i64 {
    let n: Vec<i64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().expect("a number"))
        .collect();
    let (y, m, d) = (n[0], n[1], n[2]);
    // Days from 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 1440 + n[3] * 60 + n[4]
}

fn score_incidents(dir: &Path, index: &PlaceIndex) {
    // The two vocabularies meet in the grid offices' (what `[events] categories` would say).
    let common: HashMap<&str, &str> = [
        ("路灯故障", "市政设施"),
        ("垃圾清运", "环境卫生"),
        ("房屋漏水", "房屋安全"),
        ("违章搭建", "违法建设"),
        ("占道经营", "市容秩序"),
        ("噪音扰民", "矛盾纠纷"),
        ("车辆乱停", "交通秩序"),
    ]
    .into_iter()
    .collect();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut reports: Vec<Report> = Vec::new();
    let place = |text: &str| match index.locate(&parse_address(text)) {
        Located::Place(k) => (Some(k), Vec::new()),
        Located::Ambiguous(fits) => (None, fits),
        Located::Vague(_) => (None, Vec::new()),
    };
    let mut pages: Vec<_> = std::fs::read_dir(dir.join("events_api"))
        .expect("events_api")
        .map(|e| e.expect("entry").path())
        .collect();
    pages.sort();
    for page in pages {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(page).expect("page")).expect("json");
        for t in v["result"]["records"].as_array().expect("records") {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            let category = common
                .get(s("category").as_str())
                .map_or(s("category"), |c| (*c).to_owned());
            keys.push(("hotline".into(), s("ticketNo")));
            let (place, candidates) = place(&s("location"));
            reports.push(Report {
                category,
                at_minutes: minutes(&s("acceptTime")),
                place,
                candidates,
            });
        }
    }
    for r in read(&dir.join("grid_events.gbk.csv"), true) {
        keys.push(("grid_event".into(), r["事件编号"].clone()));
        let (place, candidates) = place(&r["发生地点"]);
        reports.push(Report {
            category: r["事件类别"].clone(),
            at_minutes: minutes(&r["上报时间"]),
            place,
            candidates,
        });
    }
    let truth: HashMap<(String, String), String> = read(&dir.join("truth_event.csv"), false)
        .into_iter()
        .map(|r| {
            (
                (r["source"].clone(), r["record_key"].clone()),
                r["entity_id"].clone(),
            )
        })
        .collect();
    let mut ours = vec![0usize; reports.len()];
    for (g, members) in incidents(&reports, 72 * 60).iter().enumerate() {
        for &i in members {
            ours[i] = g;
        }
    }
    let (mut both, mut t, mut o) = (0u64, 0u64, 0u64);
    for i in 0..reports.len() {
        for j in i + 1..reports.len() {
            let same_t = truth.get(&keys[i]) == truth.get(&keys[j]);
            let same_o = ours[i] == ours[j];
            both += u64::from(same_t && same_o);
            t += u64::from(same_t);
            o += u64::from(same_o);
        }
    }
    let placed = reports.iter().filter(|r| r.place.is_some()).count();
    let (p, r) = (both as f64 / o as f64, both as f64 / t as f64);
    println!(
        "incidents: {} reports ({placed} placed), pairwise precision {p:.4} recall {r:.4} f1 {:.4}",
        reports.len(),
        2.0 * p * r / (p + r)
    );
}
