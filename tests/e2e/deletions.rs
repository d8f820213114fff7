//! Deletions at source (audit L8, issue 10 point 4): a row deleted in PostgreSQL
//! (`delete_scan`), a row removed from a snapshot CSV (`snapshot = true`) and a record no longer
//! listed by an HTTP API (`full_listing = true`) each retire their golden record on the hub's
//! topic and on a department's topic, with an audit entry; an empty listing withdraws nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json as j, Value};

use crate::scratch::Scratch;
use crate::support::*;

const HEALTH_KEY: &str = "5555555555555555555555555555555555555555555555555555555555555555";

fn people_csv(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("id,name,phone,birth\n");
    for (k, n, p) in rows {
        s.push_str(&format!("{k},{n},{p},1990-01-01\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn l8_rows_deleted_at_the_source_retire_their_golden_records_everywhere() {
    let _turn = HEAVY.lock().await;
    // PostgreSQL: three people, one to be deleted.
    let pg = fresh_postgres("e2e_del_src");
    psql_at(
        &pg,
        "CREATE TABLE p (id INT PRIMARY KEY, name TEXT, phone TEXT, upd TIMESTAMP NOT NULL); \
         INSERT INTO p VALUES (1,'赵一','13500000001','2024-01-01'),(2,'钱二','13500000002','2024-01-02'),(3,'孙三','13500000003','2024-01-03')",
    );
    // HTTP: a listing the test changes.
    let listed: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(vec![
        j!({"k": "h1", "n": "周七", "p": "13600000007"}),
        j!({"k": "h2", "n": "吴八", "p": "13600000008"}),
    ]));
    let l = listed.clone();
    let app = axum::Router::new().route(
        "/api",
        axum::routing::get(move || {
            let l = l.clone();
            async move { axum::Json(j!({"data": l.lock().unwrap().clone()})) }
        }),
    );
    let http = serve(app).await;

    let mut s = Scratch::sqlite();
    s.env.insert("E2E_DEL_HEALTH_KEY".into(), HEALTH_KEY.into());
    s.write(
        "people.csv",
        people_csv(&[
            ("c1", "郑四", "13700000004"),
            ("c2", "王五", "13700000005"),
            ("c3", "冯六", "13700000006"),
        ]),
    );
    let prefix = unique("e2e.del");
    let fields = "[sources.mapping.fields]\nname = { from = \"name\", required = true }\nphone = { from = \"phone\" }";
    s.config(&format!(
        r#"
[kafka]
brokers = "{brokers}"
topic_prefix = "{prefix}"

[[departments]]
name = "health"
purpose = "follow-up"
key_env = "E2E_DEL_HEALTH_KEY"
[departments.grants.person]
phone = {{ treatment = "mask" }}

[[sources]]
name = "pg"
[sources.connector]
kind = "sql"
url = "{pg}"
table = "p"
key = "id"
watermark = "upd"
delete_scan = true
[sources.mapping]
entity = "person"
{fields}

[[sources]]
name = "csv"
[sources.connector]
kind = "csv"
path = "people.csv"
key = "id"
snapshot = true
[sources.mapping]
entity = "person"
{fields}

[[sources]]
name = "api"
[sources.connector]
kind = "http"
url = "{http}/api?page={{page}}"
pagination = {{ kind = "page", size = 100 }}
key = "k"
full_listing = true
[sources.mapping]
entity = "person"
[sources.mapping.fields]
name = {{ from = "n", required = true }}
phone = {{ from = "p" }}
"#,
        brokers = brokers(),
    ));
    let first: Value = json(s.cmd(&["--json", "run"]));
    assert_eq!(first["entities"][0]["golden_records"], 8, "{first}");
    let golden_of = |s: &Scratch| -> BTreeMap<(String, String), String> {
        ok(s.cmd(&["export", "crosswalk", "--entity", "person"]))
            .lines()
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                ((c[0].to_owned(), c[1].to_owned()), c[2].to_owned())
            })
            .collect()
    };
    let before = golden_of(&s);

    // One row gone from each source; an empty export for nobody.
    psql_at(&pg, "DELETE FROM p WHERE id = 2");
    s.write(
        "people.csv",
        people_csv(&[("c1", "郑四", "13700000004"), ("c3", "冯六", "13700000006")]),
    );
    listed.lock().unwrap().retain(|r| r["k"] != "h2");
    let mut cmd = s.cmd(&["--json", "run"]);
    let second: Value = tokio::task::spawn_blocking(move || json(&mut cmd))
        .await
        .unwrap();
    let deleted: BTreeMap<String, u64> = second["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_owned(),
                r["deleted"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deleted,
        BTreeMap::from([("api".into(), 1), ("csv".into(), 1), ("pg".into(), 1)]),
        "{second}"
    );
    assert_eq!(second["entities"][0]["retired"], 3, "{second}");
    let after = golden_of(&s);
    let gone: Vec<String> = [("pg", "2"), ("csv", "c2"), ("api", "h2")]
        .iter()
        .map(|(src, k)| {
            assert!(!after.contains_key(&((*src).into(), (*k).into())));
            before[&((*src).into(), (*k).into())].clone()
        })
        .collect();
    assert_eq!(after.len(), 5);

    // The hub's topic: the latest version of each is a retirement.
    let hub = latest(&consume(&format!("{prefix}.person.v1"), "person"));
    for g in &gone {
        let v = &hub[g]["value"];
        assert!(v["retired_into"].is_string(), "{g}: {v}");
    }
    // The department's topic: retirements under the department's own record ids.
    let schema = s.path("health.avsc");
    std::fs::write(
        &schema,
        ok(s.cmd(&["schema", "person", "--department", "health"])),
    )
    .unwrap();
    let dept = consume_raw(
        &format!("{prefix}.person.v1.dept.health"),
        &[Path::new(&schema)],
    )
    .expect("department topic");
    let latest_dept = latest(&dept);
    let retired = latest_dept
        .values()
        .filter(|m| m["value"]["retired_into"].is_string())
        .count();
    assert_eq!(retired, 3, "{latest_dept:?}");
    // Audited, one entry per source.
    let audit = json(s.cmd(&["--json", "audit", "--kind", "admin"]));
    let withdrawn: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "withdrawn at source")
        .collect();
    assert_eq!(withdrawn.len(), 3, "{audit}");

    // An export that lost all its rows withdraws nothing: the guard refuses.
    s.write("people.csv", "id,name,phone,birth\n");
    let out = s.cmd(&["--json", "run", "--no-publish"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let third: Value = serde_json::from_slice(&out.stdout).unwrap();
    let csv = third["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "csv")
        .unwrap()
        .clone();
    assert!(
        csv["error"]
            .as_str()
            .unwrap()
            .contains("max_withdraw_share"),
        "{csv}"
    );
    assert_eq!(golden_of(&s).len(), 5);
}
