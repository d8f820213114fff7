//! `tombolo find` on the islands people through the binary, on the sealed SQLite store and on
//! PostgreSQL: by resident ID (as a clerk types it), phone, and name with birth date; nothing
//! found exits 1; the store holds no unkeyed hash of an ID.

use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

/// A golden person of several records with a resident ID, a phone and a birth date.
fn someone(goldens: &str) -> Value {
    goldens
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|g| {
            let v = &g["values"];
            g["members"].as_array().unwrap().len() >= 3
                && ["resident_id", "phone", "birth_date", "name"]
                    .iter()
                    .all(|f| v[*f].is_string())
        })
        .expect("a person with an ID, a phone, a birth date and three records")
}

fn found_ids(v: &Value) -> Vec<String> {
    v["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["golden_id"].as_str().unwrap().to_owned())
        .collect()
}

fn finds_on(f: &Islands, store: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    ok(t(&["run", "--no-publish"]));
    let goldens = ok(t(&["export", "golden", "--entity", "person"]));
    let person = someone(&goldens);
    let golden_id = person["golden_id"].as_str().unwrap();
    let v = &person["values"];
    let id = v["resident_id"].as_str().unwrap();

    // As a clerk might type it: lower-case check letter, full-width digits, spaces.
    let typed: String = id
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
            'X' => 'x',
            c => c,
        })
        .collect();
    let by_id = json(t(&[
        "--json",
        "find",
        "--resident-id",
        &format!(" {typed} "),
    ]));
    assert_eq!(by_id["by"], "resident_id");
    assert_eq!(by_id["complete"], true, "{by_id}");
    assert!(found_ids(&by_id).contains(&golden_id.to_owned()), "{by_id}");
    let hit = by_id["found"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["golden_id"] == golden_id)
        .unwrap();
    assert_eq!(hit["members"], person["members"], "its sources");
    assert!(!hit["matched"].as_array().unwrap().is_empty());
    assert!(by_id["lookup_ms"].as_f64().unwrap() >= 0.0);

    let by_phone = json(t(&[
        "--json",
        "find",
        "--phone",
        v["phone"].as_str().unwrap(),
    ]));
    assert!(
        found_ids(&by_phone).contains(&golden_id.to_owned()),
        "{by_phone}"
    );

    let name = v["name"].as_str().unwrap();
    let birth = v["birth_date"].as_str().unwrap();
    let by_name = json(t(&[
        "--json",
        "find",
        "--name",
        name,
        "--birth-date",
        birth,
    ]));
    assert!(
        found_ids(&by_name).contains(&golden_id.to_owned()),
        "{by_name}"
    );
    for g in by_name["found"].as_array().unwrap() {
        let id = g["golden_id"].as_str().unwrap();
        let other = goldens
            .lines()
            .find(|l| l.contains(&format!("\"golden_id\":\"{id}\"")))
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .unwrap();
        assert_eq!(
            other["values"]["birth_date"], birth,
            "only people born that day"
        );
    }
    // Text output names the golden record and its sources.
    let text = ok(t(&["find", "--resident-id", id]));
    assert!(text.contains(golden_id), "{text}");

    // Nothing found: exit 1, an empty answer.
    let none = t(&["--json", "find", "--resident-id", "110101190001010000"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
    let none: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert!(none["found"].as_array().unwrap().is_empty());
    // Exactly one way to look.
    let both = t(&["find", "--resident-id", id, "--phone", "1"])
        .output()
        .unwrap();
    assert!(!both.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn find_by_id_phone_and_name_on_sqlite_without_an_unkeyed_hash() {
    let f = Islands::people_and_organisations("find_sqlite").await;
    finds_on(&f, &f.store);

    // The sealed store holds no plain hash of any resident ID: neither of the ID nor of what
    // an unkeyed index would hash.
    let goldens = ok(f.tombolo(&["export", "golden", "--entity", "person"]));
    let ids: Vec<String> = goldens
        .lines()
        .filter_map(|l| {
            let g: Value = serde_json::from_str(l).ok()?;
            g["values"]["resident_id"].as_str().map(str::to_owned)
        })
        .take(200)
        .collect();
    assert_eq!(ids.len(), 200);
    let db = f.store.trim_start_matches("sqlite:");
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{db}-wal")) {
        bytes.extend(wal);
    }
    let text = String::from_utf8_lossy(&bytes);
    for id in &ids {
        for digest in [
            hex::encode(Sha256::digest(id.as_bytes())),
            hex::encode(Sha256::digest(format!("resident_id\u{0}{id}").as_bytes())),
        ] {
            // Neither whole nor as the 16 digits an unkeyed index would keep.
            assert!(
                !text.contains(&digest[48..]),
                "a plain hash of {id} in the store"
            );
        }
    }
    // The index is built under the keyring's lookup key, and holds every stored person.
    let state = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys;c=sqlite3.connect(sys.argv[1]);\
             print(c.execute('SELECT lookup_id FROM identifier_state').fetchone()[0], \
             c.execute(\"SELECT COUNT(*) FROM identifier_index WHERE field = 'i'\").fetchone()[0])",
            db,
        ])
        .output()
        .unwrap();
    let state = String::from_utf8(state.stdout).unwrap();
    let (key, n) = state.trim().split_once(' ').unwrap();
    assert!(key.starts_with("l-"), "{state}");
    assert!(n.parse::<u64>().unwrap() > 10_000, "{state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn find_by_id_phone_and_name_on_postgres() {
    let f = Islands::people_and_organisations("find_pg").await;
    finds_on(&f, &fresh_postgres("e2e_find_store"));
}
