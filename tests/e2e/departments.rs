//! Department feeds through the real broker, read back by the independent consumer with the
//! schemas `tombolo schema --department` prints: each department receives exactly its grant
//! (masked ID, keyed pseudonyms, district-level address), nothing of a kind it has no grant
//! for, pseudonyms that differ between department keys and agree under the shared key; no raw
//! ID, phone or name in any department topic without a `clear` grant; every batch audited;
//! a grant change republishes the department's view under the new version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const HEALTH_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const CIVIL_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const STATS_KEY: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const SHARED_KEY: &str = "4444444444444444444444444444444444444444444444444444444444444444";

/// (name, phone, resident id, birth date, address).
const PEOPLE: [(&str, &str, &str, &str, &str); 3] = [
    (
        "张三丰",
        "13800138000",
        "340104199001021234",
        "1990-01-02",
        "安徽省合肥市蜀山区稻香村街道青年社区长江西路788号3栋",
    ),
    (
        "李四",
        "13912345678",
        "320502198506150040",
        "1985-06-15",
        "江苏省苏州市姑苏区平江街道平江路12号",
    ),
    (
        "王五",
        "13700001111",
        "440306197803025673",
        "1978-03-02",
        "广东省深圳市宝安区新安街道宝城社区建安一路5号",
    ),
];

fn config(dir: &Path, prefix: &str, health_phone: &str, civil_orgs: bool) -> PathBuf {
    let civil_orgs = if civil_orgs {
        "[departments.grants.organization]\nname = { treatment = \"clear\" }\ncredit_code = { treatment = \"clear\" }"
    } else {
        ""
    };
    let path = dir.join("tombolo.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[kafka]
brokers = "{brokers}"
topic_prefix = "{prefix}"

[pseudonyms]
shared_key_env = "E2E_SHARED_KEY"
{people}{orgs}
[[departments]]
name = "health"
purpose = "vaccination follow-up"
key_env = "E2E_HEALTH_KEY"
principal = "User:health"
[departments.grants.person]
resident_id = {{ treatment = "mask" }}
phone = {{ treatment = "{health_phone}" }}
address = {{ treatment = "generalize", to = "district" }}

[[departments]]
name = "civil"
purpose = "social assistance eligibility"
key_env = "E2E_CIVIL_KEY"
[departments.grants.person]
phone = {{ treatment = "pseudonym" }}
resident_id = {{ treatment = "pseudonym", joinable = true }}
{civil_orgs}

[[departments]]
name = "stats"
purpose = "population statistics"
key_env = "E2E_STATS_KEY"
[departments.grants.person]
resident_id = {{ treatment = "pseudonym", joinable = true }}
birth_date = {{ treatment = "generalize", to = "year" }}
"#,
            brokers = brokers(),
            people = csv_source(
                "grid",
                "people.csv",
                "id",
                "person",
                r#"[sources.mapping.fields]
name = { from = "name" }
phone = { from = "phone" }
resident_id = { from = "id_no" }
birth_date = { from = "birth" }
address = { from = "address" }"#
            ),
            orgs = csv_source(
                "market",
                "orgs.csv",
                "code",
                "organization",
                r#"[sources.mapping.fields]
credit_code = { from = "code" }
name = { from = "name" }
legal_rep = { from = "rep" }"#
            ),
        ),
    )
    .unwrap();
    path
}

/// HMAC-SHA-256 computed by Python's standard library, not by the hub.
fn hmac(key_hex: &str, field: &str, value: &str) -> String {
    let out = ok(Command::new("python3").args([
        "-c",
        "import hmac,hashlib,sys; k=bytes.fromhex(sys.argv[1]); \
         print(hmac.new(k, sys.argv[2].encode()+b'\\x1f'+sys.argv[3].encode(), hashlib.sha256).hexdigest())",
        key_hex,
        field,
        value,
    ]));
    out.trim().to_owned()
}

/// The bytes of a consumed message (key and value) as text, for scanning.
fn bytes_of(m: &Value) -> String {
    let hex = m["raw"].as_str().unwrap_or_default();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    format!(
        "{}{}",
        m["key"].as_str().unwrap_or_default(),
        String::from_utf8_lossy(&bytes)
    )
}

fn value_fields(m: &Value) -> BTreeSet<String> {
    m["value"].as_object().unwrap().keys().cloned().collect()
}

fn detail(row: &Value) -> Value {
    serde_json::from_str(row["detail"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn departments_receive_exactly_their_grants() {
    let _turn = HEAVY.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut csv = String::from("id,name,phone,id_no,birth,address\n");
    for (i, (name, phone, id, birth, address)) in PEOPLE.iter().enumerate() {
        csv.push_str(&format!("{i},{name},{phone},{id},{birth},{address}\n"));
    }
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    std::fs::write(
        dir.join("orgs.csv"),
        "code,name,rep\n91340100MA2N1B2C3X,合肥青年科技有限公司,张三丰\n91340104MA2RK0XY11,蜀山商贸有限公司,李四\n",
    )
    .unwrap();
    let prefix = unique("e2e.dept");
    let store = format!("sqlite:{}", dir.join("tombolo.db").display());
    let env = BTreeMap::from([
        ("E2E_HEALTH_KEY".to_owned(), HEALTH_KEY.to_owned()),
        ("E2E_CIVIL_KEY".to_owned(), CIVIL_KEY.to_owned()),
        ("E2E_STATS_KEY".to_owned(), STATS_KEY.to_owned()),
        ("E2E_SHARED_KEY".to_owned(), SHARED_KEY.to_owned()),
        ("TOMBOLO_ACTOR".to_owned(), "e2e-operator".to_owned()),
    ]);
    let cfg = config(dir, &prefix, "pseudonym", true);
    ok(tombolo(&cfg, &store, &env, &["run"]));

    // The schemas a department engineer would be handed, written to files.
    let schema_file = |dept: &str, entity: &str, tag: &str| {
        let cfg = config(
            dir,
            &prefix,
            if tag == "v2" { "mask" } else { "pseudonym" },
            true,
        );
        let text = ok(tombolo(
            &cfg,
            &store,
            &env,
            &["schema", entity, "--department", dept],
        ));
        let path = dir.join(format!("{dept}_{entity}_{tag}.avsc"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let topic = |entity: &str, dept: &str| format!("{prefix}.{entity}.v1.dept.{dept}");
    let read = |entity: &str, dept: &str, schemas: &[&Path]| {
        consume_raw(&topic(entity, dept), schemas)
            .unwrap_or_else(|| panic!("no topic {}", topic(entity, dept)))
    };
    let goldens: Vec<Value> = ok(tombolo(
        &cfg,
        &store,
        &env,
        &["export", "golden", "--entity", "person"],
    ))
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(goldens.len(), 3);
    let hub_ids: BTreeSet<&str> = goldens
        .iter()
        .map(|g| g["golden_id"].as_str().unwrap())
        .collect();

    // health: masked ID, pseudonymised phone (its own key), district-level address; nothing else.
    let health_v1 = schema_file("health", "person", "v1");
    let health = read("person", "health", &[&health_v1]);
    assert_eq!(health.len(), 3, "{health:?}");
    let header: BTreeSet<String> = ["golden_id", "version", "updated_at", "retired_into"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut expected = BTreeMap::new();
    for (_, phone, id, _, _) in PEOPLE {
        let masked = format!("{}********{}", &id[..6], &id[14..]);
        expected.insert(masked, hmac(HEALTH_KEY, "phone", phone));
    }
    for m in &health {
        let mut want = header.clone();
        want.extend(["resident_id", "phone", "address"].map(str::to_owned));
        assert_eq!(value_fields(m), want, "{m}");
        let v = &m["value"];
        let id = v["resident_id"].as_str().unwrap();
        assert_eq!(
            v["phone"].as_str(),
            expected.get(id).map(String::as_str),
            "{m}"
        );
        let district = v["address"].as_str().unwrap();
        assert!(
            [
                "安徽省合肥市蜀山区",
                "江苏省苏州市姑苏区",
                "广东省深圳市宝安区"
            ]
            .contains(&district),
            "{district}"
        );
        // Keyed by the department's own pseudonym of the golden id, never the hub's id.
        assert_eq!(m["key"], v["golden_id"]);
        assert!(!hub_ids.contains(m["key"].as_str().unwrap()));
        assert_eq!(m["headers"]["tombolo.grant_version"], "1");
    }
    // A department with no grant for a kind gets no topic of it, hence nothing of it.
    assert!(consume_raw(&topic("organization", "health"), &[&health_v1]).is_none());
    assert!(consume_raw(&topic("organization", "stats"), &[&health_v1]).is_none());

    // civil: the phone pseudonym differs from health's (separate keys); the resident ID
    // pseudonym is joinable and matches stats'.
    let civil = read("person", "civil", &[&schema_file("civil", "person", "v1")]);
    let stats = read("person", "stats", &[&schema_file("stats", "person", "v1")]);
    assert_eq!((civil.len(), stats.len()), (3, 3));
    let joinable: BTreeSet<String> = PEOPLE
        .iter()
        .map(|p| hmac(SHARED_KEY, "resident_id", p.2))
        .collect();
    let ids = |ms: &[Value]| -> BTreeSet<String> {
        ms.iter()
            .map(|m| m["value"]["resident_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&civil), joinable);
    assert_eq!(ids(&stats), joinable);
    let civil_phones: BTreeSet<&str> = civil
        .iter()
        .map(|m| m["value"]["phone"].as_str().unwrap())
        .collect();
    for (_, phone, ..) in PEOPLE {
        assert!(civil_phones.contains(hmac(CIVIL_KEY, "phone", phone).as_str()));
        assert!(!civil_phones.contains(hmac(HEALTH_KEY, "phone", phone).as_str()));
    }
    let keys = |ms: &[Value]| -> BTreeSet<String> {
        ms.iter()
            .map(|m| m["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(keys(&civil).is_disjoint(&keys(&health)));
    let years: BTreeSet<&str> = stats
        .iter()
        .map(|m| m["value"]["birth_date"].as_str().unwrap())
        .collect();
    assert_eq!(years, BTreeSet::from(["1978", "1985", "1990"]));
    let civil_orgs = read(
        "organization",
        "civil",
        &[&schema_file("civil", "organization", "v1")],
    );
    let names: BTreeSet<&str> = civil_orgs
        .iter()
        .map(|m| m["value"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["合肥青年科技有限公司", "蜀山商贸有限公司"])
    );

    // No raw resident ID, phone or name in any department topic (none is granted in clear).
    for m in health.iter().chain(&civil).chain(&stats) {
        let text = bytes_of(m);
        for (name, phone, id, ..) in PEOPLE {
            for raw in [name, phone, id] {
                assert!(!text.contains(raw), "{raw} in {m}");
            }
        }
    }

    // Every delivery is audited; the resident's question is answered per golden record.
    let deliveries = json(tombolo(
        &cfg,
        &store,
        &env,
        &["--json", "audit", "--kind", "delivery", "--limit", "1000"],
    ));
    let rows = deliveries.as_array().unwrap();
    let records: i64 = rows
        .iter()
        .filter(|r| r["department"] == "health")
        .map(|r| detail(r)["records"].as_i64().unwrap())
        .sum();
    assert_eq!(records, 3, "each health message is in one delivery entry");
    let d = detail(rows.iter().find(|r| r["department"] == "health").unwrap());
    assert_eq!(d["purpose"], "vaccination follow-up");
    assert_eq!(d["topic"], topic("person", "health"));
    assert_eq!(d["grant_version"], 1);
    assert_eq!(
        d["fields"],
        serde_json::json!([
            ["address", "generalize"],
            ["phone", "pseudonym"],
            ["resident_id", "mask"]
        ])
    );
    let zhang = goldens
        .iter()
        .find(|g| g["values"]["resident_id"] == PEOPLE[0].2)
        .unwrap()["golden_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = json(tombolo(
        &cfg,
        &store,
        &env,
        &["--json", "audit", "--person", &zhang],
    ));
    let depts: BTreeSet<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["department"].as_str().unwrap())
        .collect();
    assert_eq!(depts, BTreeSet::from(["civil", "health", "stats"]));

    // The ACLs: health's principal reads its own topic and nothing else; the departments
    // without a principal get none.
    let acls = json(tombolo(&cfg, &store, &env, &["--json", "acls"]));
    let topics: BTreeSet<&str> = acls
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["resource_type"] == "topic")
        .map(|b| b["resource_name"].as_str().unwrap())
        .collect();
    let health_topic = topic("person", "health");
    assert_eq!(topics, BTreeSet::from([health_topic.as_str()]));
    assert!(acls
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["principal"] == "User:health" && b["permission"] == "allow"));

    // A grant change (health's phone masked instead of pseudonymised): one audit entry, and the
    // department's whole view republished under version 2.
    let cfg = config(dir, &prefix, "mask", true);
    ok(tombolo(&cfg, &store, &env, &["publish"]));
    ok(tombolo(&cfg, &store, &env, &["publish"]));
    let grants = json(tombolo(
        &cfg,
        &store,
        &env,
        &[
            "--json",
            "audit",
            "--kind",
            "grant",
            "--department",
            "health",
        ],
    ));
    let actions: Vec<&str> = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["grant changed", "grant created"]);
    let health_v2 = schema_file("health", "person", "v2");
    let health = read("person", "health", &[&health_v1, &health_v2]);
    assert_eq!(
        health.len(),
        6,
        "three records republished once: {health:?}"
    );
    let latest = latest(&health);
    assert_eq!(latest.len(), 3, "the same keys");
    let phones: BTreeSet<&str> = latest
        .values()
        .filter(|m| m["headers"]["tombolo.grant_version"] == "2")
        .map(|m| m["value"]["phone"].as_str().unwrap())
        .collect();
    assert_eq!(
        phones,
        BTreeSet::from(["137****1111", "138****8000", "139****5678"])
    );
    // Other departments' grants did not change: nothing republished to them.
    assert_eq!(
        read("person", "civil", &[&schema_file("civil", "person", "v1")]).len(),
        3
    );

    // Withdrawing civil's organisation grant: every organisation it held is tombstoned, so the
    // compacted topic drops them.
    let civil_org_schema = schema_file("civil", "organization", "v1");
    let cfg = config(dir, &prefix, "mask", false);
    ok(tombolo(&cfg, &store, &env, &["publish"]));
    let orgs = read("organization", "civil", &[&civil_org_schema]);
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for m in &orgs {
        last.insert(m["key"].as_str().unwrap().to_owned(), m["value"].clone());
    }
    assert_eq!(last.len(), 2, "{orgs:?}");
    assert!(last.values().all(Value::is_null), "{last:?}");
}
