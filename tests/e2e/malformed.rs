//! Bad input of every kind goes to quarantine with a clear reason, the other records go on,
//! and per source pulled = accepted + quarantined; on the SQLite and the PostgreSQL store.

use std::collections::BTreeMap;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_input_is_quarantined_with_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // CSV: a good row, an invalid date, a truncated line, a byte that is not UTF-8, a good row.
    let mut csv = b"id,name,birth,phone\n1,\xE5\xBC\xA0\xE4\xB8\x89,1990-01-02,13800138000\n2,Li,1990-02-30,\n3,Wang\n".to_vec();
    csv.extend_from_slice(b"4,Zh\xFFao,1991-01-01,\n5,Zhou,1992-03-04,13900139000\n");
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    // JSON API: three pages, the second not JSON.
    let api = dir.join("api");
    std::fs::create_dir_all(&api).unwrap();
    std::fs::write(
        api.join("page-1.json"),
        r#"{"total":6,"data":[{"k":"a1","n":"甲"},{"k":"a2","n":"乙"}]}"#,
    )
    .unwrap();
    std::fs::write(api.join("page-2.json"), "<html>502 Bad Gateway</html>").unwrap();
    std::fs::write(
        api.join("page-3.json"),
        r#"{"total":6,"data":[{"k":"a5","n":"丙"},{"k":"a6","n":"丁"}]}"#,
    )
    .unwrap();
    let http = serve_dir(api).await;
    // SQL: a NULL in a required column.
    let pg = load_postgres(&unique("e2e_bad"), &{
        let f = dir.join("bad.sql");
        std::fs::write(&f, "CREATE TABLE p (id INT PRIMARY KEY, name TEXT, upd TIMESTAMP NOT NULL);\nINSERT INTO p VALUES (1,'甲','2024-01-01'),(2,NULL,'2024-01-02'),(3,'丙','2024-01-03');\n").unwrap();
        f
    });
    let config = dir.join("tombolo.toml");
    std::fs::write(
        &config,
        format!(
            r#"{csv}
[[sources]]
name = "api"
[sources.connector]
kind = "http"
url = "{http}/page-{{page}}.json"
pagination = {{ kind = "page", size = 2 }}
total_pointer = "/total"
key = "k"
[sources.mapping]
entity = "person"
[sources.mapping.fields]
name = {{ from = "n", required = true }}

[[sources]]
name = "sql"
[sources.connector]
kind = "sql"
url = "{pg}"
table = "p"
key = "id"
watermark = "upd"
[sources.mapping]
entity = "person"
[sources.mapping.fields]
name = {{ from = "name", required = true }}
"#,
            csv = csv_source(
                "csv",
                "people.csv",
                "id",
                "person",
                r#"[sources.mapping.fields]
name = { from = "name", required = true }
birth_date = { from = "birth", required = true }
phone = { from = "phone" }"#
            )
        ),
    )
    .unwrap();
    let pg_store = load_postgres(&unique("e2e_store"), &{
        let f = dir.join("empty.sql");
        std::fs::write(&f, "SELECT 1;\n").unwrap();
        f
    });
    for store in [format!("sqlite:{}", dir.join("t.db").display()), pg_store] {
        let env = BTreeMap::new();
        let check = json(&mut tombolo(&config, &store, &env, &["--json", "check"]));
        assert_eq!(check.as_array().unwrap().len(), 3, "{check}");
        ok(&mut tombolo(&config, &store, &env, &["run"]));

        let status = json(&mut tombolo(&config, &store, &env, &["--json", "status"]));
        for (name, pulled, accepted) in [("csv", 5, 2), ("api", 5, 4), ("sql", 3, 2)] {
            let s = &by_source(&status, name)["last"];
            assert_eq!(
                (s["pulled"].as_u64(), s["accepted"].as_u64()),
                (Some(pulled), Some(accepted)),
                "{name}: {s}"
            );
            assert_eq!(
                s["pulled"].as_u64().unwrap(),
                s["accepted"].as_u64().unwrap() + s["quarantined"].as_u64().unwrap()
            );
        }
        let q = json(&mut tombolo(
            &config,
            &store,
            &env,
            &["--json", "quarantine", "list"],
        ));
        let reasons: Vec<String> = q
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{}|{}|{}", r["source"], r["record_key"], r["reason"]))
            .collect();
        let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
        assert!(has("invalid date"), "{reasons:#?}");
        assert!(has("expected 4 fields, found 2"), "{reasons:#?}");
        assert!(has("invalid UTF-8 byte 0xFF"), "{reasons:#?}");
        assert!(has("not JSON"), "{reasons:#?}");
        assert!(has("required field name"), "{reasons:#?}");
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert!(
            json(&mut tombolo(&config, &store, &env, &["--json", "status"]))["golden_records"]
                ["person"]
                .as_u64()
                .unwrap()
                == 8
        );
        // Pulling one source by name again: nothing new (the re-read window reads the last
        // row again, unchanged), and still nothing lost.
        let pulled = json(&mut tombolo(
            &config,
            &store,
            &env,
            &["--json", "pull", "sql"],
        ));
        let sql = &pulled["sources"][0];
        assert_eq!(
            (
                sql["source"].as_str(),
                sql["new"].as_u64(),
                sql["changed"].as_u64(),
                sql["pulled"].as_u64(),
                sql["unchanged"].as_u64()
            ),
            (Some("sql"), Some(0), Some(0), Some(1), Some(1)),
            "{pulled}"
        );
        let unknown = tombolo(&config, &store, &env, &["pull", "nope"])
            .output()
            .unwrap();
        assert!(!unknown.status.success(), "an unknown source is an error");
    }
}
