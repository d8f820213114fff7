//! Places, houses and incidents from bad input: an incident page that is not JSON, a ticket
//! without a key, an address in no known form, a house with an invalid owner ID. Each is
//! quarantined or kept with an issue and a clear reason; the rest of the run is unaffected.

use std::collections::BTreeMap;

use crate::support::*;

fn rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_places_houses_and_tickets_are_quarantined_or_kept_with_issues() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("std_address.csv"),
        "地址编码,区县,社区,道路,门牌号,楼栋,单元,户室\n\
         A1,蜀山区,青年社区,长江西路,12号,3栋,2单元,301室\n\
         A2,蜀山区,青年社区,长江西路,12号,3栋,2单元,302室\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("houses.csv"),
        "不动产单元号,房屋坐落,权利人,权利人证件号,建筑面积\n\
         H1,合肥市蜀山区长江西路12号3栋2单元301室,张三,11010519491231002X,89.50\n\
         H2,蜀山区长江西路十二号三栋二单元三〇二室,李四,110105194912310021,约90\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("people.csv"),
        "id,name,rid,addr\n1,张三,11010519491231002X,蜀山区长江西路12号3栋2单元301室\n",
    )
    .unwrap();
    let api = dir.join("api");
    std::fs::create_dir_all(&api).unwrap();
    let page = |records: &str| {
        format!(
            r#"{{"success":true,"result":{{"records":[{records}],"current":1,"pages":3,"total":6}}}}"#
        )
    };
    std::fs::write(
        api.join("page-1.json"),
        page(
            r#"{"ticketNo":"T1","acceptTime":"2025-07-01 08:00:00","callerName":"张三","callerPhone":"13800138000","location":"长江西路12号3栋","category":"垃圾清运"},
               {"acceptTime":"2025-07-01 09:00:00","callerName":"匿名","location":"长江西路12号3栋","category":"垃圾清运"}"#,
        ),
    )
    .unwrap();
    std::fs::write(api.join("page-2.json"), "<html>502 Bad Gateway</html>").unwrap();
    std::fs::write(
        api.join("page-3.json"),
        page(
            r#"{"ticketNo":"T5","acceptTime":"2025-07-01 10:00:00","callerName":"王女士","location":"就在那边","category":"噪音扰民"},
               {"ticketNo":"T6","acceptTime":"2025/07/01 11:30","callerName":"李四","location":"蜀山区长江西路12号3栋2单元302室","category":"垃圾清运"}"#,
        ),
    )
    .unwrap();
    let http = serve_dir(api).await;
    let config = dir.join("tombolo.toml");
    let mut text = csv_source(
        "std_address",
        "std_address.csv",
        "地址编码",
        "place",
        r#"[sources.mapping.fields]
"address.district" = { from = "区县" }
"address.community" = { from = "社区" }
"address.road" = { from = "道路" }
"address.number" = { from = "门牌号" }
"address.building" = { from = "楼栋" }
"address.unit" = { from = "单元" }
"address.room" = { from = "户室" }"#,
    );
    text += &csv_source(
        "housing",
        "houses.csv",
        "不动产单元号",
        "house",
        r#"[sources.mapping.fields]
address = { from = "房屋坐落" }
owner_name = { from = "权利人" }
owner_id = { from = "权利人证件号" }
floor_area = { from = "建筑面积" }"#,
    );
    text += &csv_source(
        "people",
        "people.csv",
        "id",
        "person",
        r#"[sources.mapping.fields]
name = { from = "name", required = true }
resident_id = { from = "rid" }
address = { from = "addr" }"#,
    );
    text += &format!(
        r#"
[[sources]]
name = "hotline"
[sources.connector]
kind = "http"
url = "{http}/page-{{page}}.json"
pagination = {{ kind = "page", size = 2 }}
records_pointer = "/result/records"
total_pointer = "/result/total"
key = "ticketNo"
[sources.mapping]
entity = "event"
[sources.mapping.fields]
reported_at = {{ from = "acceptTime" }}
reporter_name = {{ from = "callerName" }}
reporter_phone = {{ from = "callerPhone" }}
address = {{ from = "location" }}
category = {{ from = "category" }}

[events]
window_hours = 24
"#
    );
    std::fs::write(&config, text).unwrap();
    let store = format!("sqlite:{}", dir.join("t.db").display());
    let env = BTreeMap::new();
    let t = |args: &[&str]| tombolo(&config, &store, &env, args);
    ok(&mut t(&["run", "--no-publish"]));

    // Counts add up against the source: the unreadable page and the keyless ticket are
    // quarantined with their reasons, every other record is stored.
    let status = json(&mut t(&["--json", "status"]));
    for (name, pulled, accepted) in [("std_address", 2, 2), ("housing", 2, 2), ("hotline", 5, 3)] {
        let s = &by_source(&status, name)["last"];
        assert_eq!(
            (s["pulled"].as_u64(), s["accepted"].as_u64()),
            (Some(pulled), Some(accepted)),
            "{name}: {s}"
        );
    }
    let q = json(&mut t(&["--json", "quarantine", "list"]));
    let reasons: Vec<String> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}|{}", r["source"], r["reason"]))
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("not JSON")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("hotline") && r.contains("key")),
        "{reasons:#?}"
    );
    assert_eq!(reasons.len(), 2, "{reasons:#?}");

    // The house with an invalid owner ID is kept with the issue, and owned by nobody (its
    // owner's name alone is no evidence); its Chinese-numeral address is at the right room.
    let houses = t(&["export", "golden", "--entity", "house"])
        .output()
        .unwrap();
    let houses = String::from_utf8(houses.stdout).unwrap();
    assert_eq!(houses.lines().count(), 2, "{houses}");
    let owners = rows(
        &String::from_utf8(
            t(&["export", "links", "--from", "house", "--to", "person"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    );
    assert!(
        owners[0][2].starts_with("P-") && owners[0][3] == "resident ID",
        "{owners:?}"
    );
    assert_eq!(
        (owners[1][2].as_str(), owners[1][3].as_str()),
        ("", "no person fits")
    );
    let places = rows(
        &String::from_utf8(
            t(&["export", "crosswalk", "--entity", "place"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    );
    let at = |source: &str, key: &str| {
        places
            .iter()
            .find(|r| r[0] == source && r[1] == key)
            .map(|r| r[2].clone())
    };
    assert_eq!(at("housing", "H2"), at("std_address", "A2"), "{places:?}");
    assert_eq!(at("housing", "H1"), at("std_address", "A1"));
    assert_eq!(at("people", "1"), at("std_address", "A1"));
    let explain = json(&mut t(&["--json", "explain", "housing", "H2"]));
    let record = explain.to_string();
    assert!(record.contains("invalid resident ID"), "{record}");
    assert!(
        record.contains("floor_area") && record.contains("not a number"),
        "{record}"
    );

    // The address in no known form: the ticket is kept with the issue and placed nowhere.
    let event_places = rows(
        &String::from_utf8(
            t(&["export", "links", "--from", "event", "--to", "place"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    );
    let t5 = event_places.iter().find(|r| r[1] == "T5").unwrap();
    assert_eq!(t5[2], "");
    assert!(t5[3].starts_with("vague"), "{t5:?}");
    let explain = json(&mut t(&["--json", "explain", "hotline", "T5"])).to_string();
    assert!(explain.contains("address in no known form"), "{explain}");
    // T1 and T6 are one incident (same kind, same building, the same day); T5 another.
    let incidents = rows(
        &String::from_utf8(
            t(&["export", "crosswalk", "--entity", "event"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    );
    let of = |k: &str| incidents.iter().find(|r| r[1] == k).unwrap()[2].clone();
    assert_eq!(of("T1"), of("T6"));
    assert_ne!(of("T1"), of("T5"));
    // T1's caller is the person of that phone? No phone is known: the full name with the
    // place is the evidence. 王女士 is never linked.
    let reporters = rows(
        &String::from_utf8(
            t(&["export", "links", "--from", "event", "--to", "person"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    );
    let by = |k: &str| reporters.iter().find(|r| r[1] == k).unwrap().clone();
    assert!(by("T1")[2].starts_with("P-"), "{:?}", by("T1"));
    assert_eq!(by("T5")[2], "");

    // Relationships between the golden records, each with the record asserting it.
    let relations =
        rows(&String::from_utf8(t(&["export", "relations"]).output().unwrap().stdout).unwrap());
    let person = by("T1")[2].clone();
    let has = |kind: &str, from: &str, to: &str, source: &str| {
        relations
            .iter()
            .any(|r| r[0] == kind && r[1] == from && r[2] == to && r[3] == source)
    };
    let home = at("people", "1").unwrap();
    assert!(has("lives_at", &person, &home, "people"), "{relations:?}");
    let h1 = rows(
        &String::from_utf8(
            t(&["export", "crosswalk", "--entity", "house"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    )
    .into_iter()
    .find(|r| r[1] == "H1")
    .unwrap()[2]
        .clone();
    assert!(has("owns", &person, &h1, "housing"), "{relations:?}");
    assert!(
        has("reported_by", &of("T1"), &person, "hotline"),
        "{relations:?}"
    );
    assert!(relations
        .iter()
        .any(|r| r[0] == "happened_at" && r[1] == of("T1")));
    assert!(!relations
        .iter()
        .any(|r| r[1] == of("T5") || r[2] == of("T5")));
}
