//! The review queue at scale through the binary, on the sealed SQLite store and on PostgreSQL:
//! filters (kind, source, score band, age), one pair side by side, decisions in bulk from a
//! CSV (checked whole first), for people and organisations alike.

use serde_json::Value;

use crate::support::*;

fn review_on(f: &Islands, store: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    // A namesake taxpayer: an organisation pair a reviewer must look at.
    let (credit, name) = f.add_namesake_taxpayer();
    let (credit, name) = (credit.as_str(), name.as_str());
    ok(t(&["run", "--no-publish"]));

    let all = json_lines(&ok(t(&["--json", "review", "list", "--limit", "100000"])));
    let org = all
        .iter()
        .find(|r| {
            r["entity"] == "organization" && (r["a"][1] == "SW9999999" || r["b"][1] == "SW9999999")
        })
        .unwrap_or_else(|| panic!("the namesake taxpayer is for review: {all:?}"));
    assert_eq!(org["reason"], "uncertain");
    // Filters: kind, source, score band, age.
    let people = json_lines(&ok(t(&["--json", "review", "list", "--entity", "person"])));
    assert!(people.iter().all(|r| r["entity"] == "person"));
    let orgs = json_lines(&ok(t(&[
        "--json",
        "review",
        "list",
        "--entity",
        "organization",
    ])));
    assert!(orgs.iter().all(|r| r["entity"] == "organization") && !orgs.is_empty());
    let taxes = json_lines(&ok(t(&["--json", "review", "list", "--source", "tax"])));
    assert!(taxes
        .iter()
        .all(|r| r["a"][0] == "tax" || r["b"][0] == "tax"));
    assert!(taxes.iter().any(|r| r["id"] == org["id"]));
    let p = org["probability"].as_f64().unwrap();
    let band = json_lines(&ok(t(&[
        "--json",
        "review",
        "list",
        "--min",
        &format!("{}", p - 0.01),
        "--max",
        &format!("{}", p + 0.01),
    ])));
    assert!(band.iter().any(|r| r["id"] == org["id"]));
    assert!(band
        .iter()
        .all(|r| (r["probability"].as_f64().unwrap() - p).abs() <= 0.01));
    let old = ok(t(&["--json", "review", "list", "--older-than-days", "1"]));
    assert!(old.trim().is_empty(), "nothing was filed a day ago: {old}");
    let text = ok(t(&["review", "list", "--limit", "1"]));
    assert!(
        text.contains(&format!("1 of {} shown", all.len())),
        "{text}"
    );

    // One pair side by side.
    let id = org["id"].as_i64().unwrap().to_string();
    let shown = json(t(&["--json", "review", "show", &id]));
    let name_row = shown["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["field"] == "name")
        .unwrap();
    assert_eq!(name_row["same"], true, "{shown}");
    assert!(shown["a_golden"].as_str().unwrap().starts_with("O-"));
    assert_ne!(shown["a_golden"], shown["b_golden"]);
    assert!(shown["explanation"]["terms"].is_array());
    let text = ok(t(&["review", "show", &id]));
    assert!(text.contains(name), "{text}");

    // Decisions in bulk: a bad line records nothing; a good file records every line.
    // People are named by their records: two records of one golden person, told apart.
    let dir = tempfile::tempdir().unwrap();
    let goldens = ok(t(&["export", "golden", "--entity", "person"]));
    let pair = goldens
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|g| g["members"].as_array().unwrap().len() == 2)
        .unwrap();
    let m = pair["members"].as_array().unwrap();
    let (a, b) = (&m[0], &m[1]);
    let person_line = format!(
        ",{},{},{},{}",
        a["source"].as_str().unwrap(),
        a["record_key"].as_str().unwrap(),
        b["source"].as_str().unwrap(),
        b["record_key"].as_str().unwrap()
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "review_id,a_source,a_key,b_source,b_key,verdict,reason\n{id},,,,,match,same company\n99999999,,,,,distinct,no such item\n{person_line},perhaps,unsure\n"
        ),
    )
    .unwrap();
    let out = t(&["decide", "--file", bad.to_str().unwrap(), "--by", "clerk"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("line 4"), "{err}");
    let open = json_lines(&ok(t(&["--json", "review", "list", "--limit", "100000"])));
    assert_eq!(open.len(), all.len(), "nothing recorded");

    let good = dir.path().join("decisions.csv");
    std::fs::write(
        &good,
        format!(
            "review_id,a_source,a_key,b_source,b_key,verdict,reason\n{id},,,,,match,same company after a change of legal representative\n{person_line},distinct,two residents\n"
        ),
    )
    .unwrap();
    let done = json(t(&[
        "--json",
        "decide",
        "--file",
        good.to_str().unwrap(),
        "--by",
        "clerk",
    ]));
    assert_eq!(done["recorded"], 2);
    ok(t(&["run", "--no-publish"]));
    let crosswalk = ok(t(&["export", "crosswalk", "--entity", "organization"]));
    let golden_of = |key: &str| {
        crosswalk
            .lines()
            .find(|l| l.contains(&format!(",{key},")))
            .unwrap()
            .split(',')
            .nth(2)
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        golden_of("SW9999999"),
        golden_of(credit),
        "the reviewer's match joined them"
    );
    let decided = json_lines(&ok(t(&["--json", "review", "list", "--status", "match"])));
    assert!(decided
        .iter()
        .any(|r| r["id"] == org["id"] && r["decided_by"] == "clerk"));
    let open = json_lines(&ok(t(&["--json", "review", "list", "--limit", "100000"])));
    assert!(open.iter().all(|r| r["id"] != org["id"]));
    let people_now = ok(t(&["export", "crosswalk", "--entity", "person"]));
    let person_golden = |r: &Value| {
        let prefix = format!(
            "{},{},",
            r["source"].as_str().unwrap(),
            r["record_key"].as_str().unwrap()
        );
        people_now
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap()
            .split(',')
            .nth(2)
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        person_golden(a),
        person_golden(b),
        "the reviewer's distinct parted them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn review_filters_show_and_bulk_decisions_on_sqlite() {
    let f = Islands::people_and_organisations("review_sqlite").await;
    review_on(&f, &f.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn review_filters_show_and_bulk_decisions_on_postgres() {
    let f = Islands::people_and_organisations("review_pg").await;
    review_on(&f, &fresh_postgres("e2e_review_store"));
}
