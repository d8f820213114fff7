//! Every statement the hub runs on PostgreSQL, checked against the store's indexes.
//!
//! The whole city is run on a PostgreSQL store (pulled, resolved, published, then worked on by
//! a steward: review, decisions, merge, unmerge, split, lineage, reconciliation, report, the
//! exports, a second run), every command logging the statements it runs (sqlx's `sqlx::query`
//! events). Then, on that store with its statistics up to date, each distinct statement is
//! prepared and its generic plan (the plan for any values) explained: a sequential scan of a
//! large table whose filter keeps a small part of it is a statement that meant an index and
//! did not get one, and fails the test, unless it is listed below as a scan by design.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;
use sqlx::{Connection, Row};

use crate::support::*;

/// A table this large is worth an index.
const LARGE: f64 = 5_000.0;
/// A scan whose filter the planner expects to keep less than this share of the table meant an
/// index.
const SELECTIVE: f64 = 0.25;

/// Statements that read a large part of a table by design, by the start of their text (after
/// placeholders are normalised): each with why a scan is right.
const SCANS_BY_DESIGN: &[(&str, &str)] = &[
    (
        "SELECT source, record_key, golden_id, rule FROM crosswalk WHERE entity = $",
        "a resolution reads every link of its kind once (Store::previous_links)",
    ),
    (
        "SELECT source, record_key, entity, golden_id, rule FROM record_link WHERE role = $ AND ($ = '' OR entity = $)",
        "`export links` writes every link of a role",
    ),
    (
        "SELECT source, record_key, old_golden_id, rule, at FROM crosswalk_history WHERE new_golden_id = $",
        "lineage's history of a golden record: an index on the history's golden ids would slow \
         every resolution's writes (7 s at a million records) for an occasional look \
         (Store::linked_to)",
    ),
];

/// Whether a statement names a table of the store (the connectors' statements run on the
/// sources' databases, planned by their owners' indexes).
fn on_the_store(sql: &str, tables: &BTreeMap<String, f64>) -> bool {
    let word = Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").unwrap();
    let named = word.find_iter(sql).any(|w| tables.contains_key(w.as_str()));
    named
}

/// The statements a command ran, from its JSON log.
fn statements(stderr: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(stderr).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["target"] != "sqlx::query" {
            continue;
        }
        let full = v["fields"]["db.statement"].as_str().unwrap_or("").trim();
        let summary = v["fields"]["summary"].as_str().unwrap_or("");
        let sql = if full.is_empty() { summary } else { full };
        assert!(
            !sql.ends_with('…'),
            "a statement logged only in part: {line}"
        );
        out.push(sql.to_owned());
    }
    out
}

/// One form of a statement whatever its number of rows or list items: placeholders as `$`,
/// repeated value rows and list items as one.
fn shape(sql: &str) -> String {
    let ws = Regex::new(r"\s+").unwrap();
    let param = Regex::new(r"\$\d+").unwrap();
    let rows = Regex::new(r"\((\$, )*\$\)(, \((\$, )*\$\))+").unwrap();
    let list = Regex::new(r"\$(, \$)+").unwrap();
    let s = ws.replace_all(sql.trim(), " ");
    let s = param.replace_all(&s, "$");
    let s = rows.replace_all(&s, "(…rows…)");
    list.replace_all(&s, "$…").into_owned()
}

/// The statements worth a plan: reads and writes (not DDL, transactions, settings, locks or
/// maintenance).
fn planned(sql: &str) -> bool {
    let head = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        head.as_str(),
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH"
    ) && !sql.contains("pg_advisory")
        && !sql.contains("pg_stat_user_tables")
        && !sql.contains("pg_attribute")
}

/// Sequential scans in a plan: (table, rows the planner expects, has a filter).
fn scans(plan: &Value, out: &mut Vec<(String, f64, bool)>) {
    if let Some(node) = plan["Node Type"].as_str() {
        if node.contains("Seq Scan") {
            out.push((
                plan["Relation Name"].as_str().unwrap_or("?").to_owned(),
                plan["Plan Rows"].as_f64().unwrap_or(0.0),
                plan.get("Filter").is_some(),
            ));
        }
    }
    if let Some(children) = plan["Plans"].as_array() {
        for c in children {
            scans(c, out);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_statement_on_postgres_uses_the_indexes_meant_for_it() {
    let _turn = HEAVY.lock().await;
    let mut f = Islands::new("plans").await;
    f.store = fresh_postgres("e2e_plans_store");
    // A namesake taxpayer: an item for the review queue.
    f.add_namesake_taxpayer();
    let logged = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let mut cmd = f.tombolo(&all);
        cmd.env("TOMBOLO_LOG", "warn,sqlx::query=debug");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.contains("sqlx::query"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            statements(&out.stderr),
        )
    };
    let mut seen: Vec<String> = Vec::new();
    let mut run = |args: &[&str]| {
        let (stdout, sql) = logged(args);
        seen.extend(sql);
        stdout
    };

    run(&["run"]);
    run(&["status"]);
    run(&["quarantine", "list"]);
    let crosswalk = run(&["export", "crosswalk", "--entity", "person"]);
    let mut members: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in crosswalk.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        members
            .entry(c[2].to_owned())
            .or_default()
            .push((c[0].to_owned(), c[1].to_owned()));
    }
    // A golden record of several records (one of them is split off below), and another.
    let (first, records) = members.iter().find(|(_, r)| r.len() > 1).unwrap();
    let (first, (source, key)) = (first.clone(), records[0].clone());
    let second = members.keys().find(|g| **g != first).unwrap().clone();
    let goldens = json_lines(&run(&["export", "golden", "--entity", "person"]));
    let resident = goldens
        .iter()
        .find_map(|g| g["values"]["resident_id"].as_str())
        .unwrap()
        .to_owned();
    run(&["export", "places"]);
    run(&["export", "links", "--from", "house", "--to", "person"]);
    run(&["export", "links", "--from", "event", "--to", "place"]);
    run(&["export", "relations"]);
    run(&["explain", &source, &key]);
    run(&["lineage", &first]);
    run(&["audit", "--person", &first]);
    run(&["audit", "--kind", "admin", "--limit", "10"]);
    run(&["keys", "status"]);
    run(&["find", "--resident-id", &resident]);
    let review: Vec<Value> = json_lines(&run(&["review", "list", "--limit", "5"]));
    let item = review[0]["id"].to_string();
    run(&["review", "show", &item]);
    let decisions = f._tmp.path().join("decisions.csv");
    std::fs::write(
        &decisions,
        format!(
            "review_id,a_source,a_key,b_source,b_key,verdict,reason\n{item},,,,,distinct,checked\n"
        ),
    )
    .unwrap();
    run(&[
        "decide",
        "--file",
        decisions.to_str().unwrap(),
        "--by",
        "e2e",
    ]);
    run(&["merge", &first, &second, "--reason", "plans"]);
    run(&["run"]);
    let lineage: Value = serde_json::from_str(&run(&["lineage", &first])).unwrap();
    let event = lineage["history"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["event"] == "merge"))
        .and_then(|h| h["id"].as_i64())
        .unwrap_or_else(|| panic!("no merge in {lineage}"));
    run(&["unmerge", &event.to_string(), "--reason", "plans"]);
    run(&[
        "split",
        &first,
        "--records",
        &format!("{source}:{key}"),
        "--reason",
        "plans",
    ]);
    run(&["run"]);
    run(&["reconcile", "health"]);
    run(&["corrections", "list"]);
    run(&["scorecard"]);
    let report = f._tmp.path().join("report");
    run(&["report", "--out", report.to_str().unwrap()]);
    run(&["resolve"]);

    // One statement of each shape, the one with the most parameters (the largest lists).
    let mut shapes: BTreeMap<String, String> = BTreeMap::new();
    for sql in seen.into_iter().filter(|s| planned(s)) {
        let e = shapes.entry(shape(&sql)).or_default();
        if sql.len() > e.len() {
            *e = sql;
        }
    }
    assert!(
        shapes
            .keys()
            .any(|s| s.contains("FROM source_record WHERE source = $ AND record_key = k.key")),
        "the pull's lookup is among them"
    );

    let mut db = sqlx::PgConnection::connect(&f.store).await.unwrap();
    sqlx::query("ANALYZE").execute(&mut db).await.unwrap();
    let sizes: BTreeMap<String, f64> = sqlx::query(
        "SELECT CAST(relname AS TEXT), CAST(reltuples AS DOUBLE PRECISION) FROM pg_class \
         WHERE relkind = 'r' AND relnamespace = CAST(current_schema() AS regnamespace)",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert!(sizes["source_record"] > 40_000.0, "{sizes:?}");
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut db)
        .await
        .unwrap();

    let mut failures = Vec::new();
    let mut explained = 0;
    let sources = shapes.values().filter(|s| !on_the_store(s, &sizes)).count();
    for (shape, sql) in shapes.iter().filter(|(_, s)| on_the_store(s, &sizes)) {
        match misplanned(&mut db, shape, sql, &sizes).await {
            Ok(found) => failures.extend(found),
            Err(e) => failures.push(format!("{shape}\n  could not be explained: {e}")),
        }
        explained += 1;
    }
    // The control: a lookup by a column no index serves is caught.
    let control = "SELECT golden_id FROM crosswalk WHERE rule = $1";
    let caught = misplanned(&mut db, control, control, &sizes).await.unwrap();
    assert_eq!(
        caught.len(),
        1,
        "the check sees a scan where an index was meant"
    );
    eprintln!(
        "{explained} statements explained on a store of {} source records ({sources} others ran on \
         the sources' databases)",
        sizes["source_record"]
    );
    assert!(explained > 100, "{explained} statements explained");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What is wrong with the generic plan of `sql` (one string per scan where an index was meant).
async fn misplanned(
    db: &mut sqlx::PgConnection,
    shape: &str,
    sql: &str,
    sizes: &BTreeMap<String, f64>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query(&format!("PREPARE checked AS {sql}"))
        .execute(&mut *db)
        .await?;
    let params: i32 = sqlx::query_scalar(
        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'checked'",
    )
    .fetch_one(&mut *db)
    .await?;
    // The generic plan (plan_cache_mode is force_generic_plan): the values do not matter.
    let args = if params > 0 {
        format!("({})", vec!["NULL"; params as usize].join(", "))
    } else {
        String::new()
    };
    let explained = sqlx::query(&format!("EXPLAIN (FORMAT JSON) EXECUTE checked{args}"))
        .fetch_one(&mut *db)
        .await;
    sqlx::query("DEALLOCATE checked").execute(&mut *db).await?;
    // A `json` value travels as its text.
    let plan: String = explained?.try_get_unchecked(0)?;
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let mut found = Vec::new();
    scans(&plan[0]["Plan"], &mut found);
    let by_design = SCANS_BY_DESIGN.iter().any(|(p, _)| shape.starts_with(p));
    Ok(found
        .into_iter()
        .filter_map(|(table, rows, filtered)| {
            let size = sizes.get(&table).copied().unwrap_or(0.0);
            (size >= LARGE && filtered && rows < SELECTIVE * size && !by_design).then(|| {
                format!("{shape}\n  scans {table} ({size} rows) for about {rows}:\n  {plan}")
            })
        })
        .collect())
}
