//! Reconciliation through the binary on the islands people, on the sealed SQLite store and on
//! PostgreSQL: a wrong birth date planted in a health archive row is in health's worklist
//! (`reconcile health --export`), with the winning value hidden since health's grant only has
//! birth dates as age bands; an edit not pulled yet shows as a changed row; the pull that brings
//! the fix closes the correction; a disputed correction sends the pair to review, and it stays
//! there through later runs.

use std::process::Command;

use crate::support::*;

/// Runs a Python snippet over the health archive (GB18030) of the fixture; prints what it
/// prints.
fn health(f: &Islands, script: &str, args: &[&str]) -> String {
    ok(Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import csv, sys\n\
             path = sys.argv[1]\n\
             rows = list(csv.reader(open(path, encoding='gb18030', newline='')))\n\
             head = rows[0]\n\
             col = {{n: i for i, n in enumerate(head)}}\n\
             {script}\n\
             w = csv.writer(open(path, 'w', encoding='gb18030', newline=''), lineterminator='\\r\\n')\n\
             w.writerows(rows)\n"
        ))
        .arg(f.data.join("health_archive.gbk.csv"))
        .args(args))
}

fn reconcile_on(f: &Islands, store: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    // A health row of a resident the household registry also holds: its birth date moved
    // seven years on.
    let truth = f.data.join("truth_person.csv");
    let planted = health(
        f,
        "import collections\n\
         by = collections.defaultdict(set)\n\
         for r in csv.DictReader(open(sys.argv[2], encoding='utf-8')):\n    by[r[list(r)[2]]].add((r['source'], r['record_key']))\n\
         hukou = {e for e, m in by.items() if any(s == 'hukou' for s, _ in m)}\n\
         keyed = {k: e for e, m in by.items() for s, k in m if s == 'health'}\n\
         row = next(r for r in rows[1:] if keyed.get(r[col['档案编号']]) in hukou and r[col['出生日期']].count('/') == 2)\n\
         y, m, d = row[col['出生日期']].split('/')\n\
         print(row[col['档案编号']], row[col['出生日期']], f'{int(y) + 7}-{int(m):02}-{int(d):02}')\n\
         row[col['出生日期']] = f'{int(y) + 7}/{m}/{d}'",
        &[truth.to_str().unwrap()],
    );
    let mut words = planted.split_whitespace();
    let (key, original, wrong) = (
        words.next().unwrap().to_owned(),
        words.next().unwrap().to_owned(),
        words.next().unwrap().to_owned(),
    );
    ok(t(&["run", "--no-publish"]));

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("corrections.csv");
    let report = json(t(&[
        "--json",
        "reconcile",
        "health",
        "--export",
        csv.to_str().unwrap(),
    ]));
    let side = &report["source_side"];
    assert_eq!(
        side["read"], side["same"],
        "nothing changed since the pull: {side}"
    );
    assert_eq!(report["department"], "health");
    let worklist = std::fs::read_to_string(&csv).unwrap();
    let line = worklist
        .lines()
        .find(|l| l.contains(&format!(",{key},")) && l.contains(",birth_date,"))
        .unwrap_or_else(|| panic!("no birth date line for {key} in:\n{worklist}"));
    let cells: Vec<&str> = line.split(',').collect();
    assert_eq!(cells[4], wrong, "health's own value: {line}");
    assert!(
        cells[5].starts_with("(not shown: ") && !line.contains(&original),
        "health sees birth dates only as age bands: the winning value is hidden: {line}"
    );
    assert_eq!(cells[6], "hukou", "{line}");
    let correction: i64 = cells[0].parse().unwrap();
    let listed = json_lines(&ok(t(&[
        "--json",
        "corrections",
        "list",
        "--source",
        "health",
        "--status",
        "open",
        "--limit",
        "100000",
    ])));
    assert!(listed
        .iter()
        .any(|c| c["id"] == correction && c["field"] == "birth_date"));

    // Health fixes the row; before the hub pulls it, reconcile shows it changed.
    health(
        f,
        &format!(
            "row = next(r for r in rows[1:] if r[col['档案编号']] == '{key}')\n\
             row[col['出生日期']] = '{original}'"
        ),
        &[],
    );
    let report = json(t(&["--json", "reconcile", "health"]));
    assert_eq!(
        report["source_side"]["changed"], 1,
        "{}",
        report["source_side"]
    );
    assert_eq!(
        report["source_side"]["examples"]["changed"][0],
        key.as_str()
    );
    // The edit carries the archive's update date, so the next pull takes it: the correction
    // closes.
    health(
        f,
        &format!(
            "row = next(r for r in rows[1:] if r[col['档案编号']] == '{key}')\n\
             row[col['建档日期']] = '2026-12-07'"
        ),
        &[],
    );
    ok(t(&["run", "--no-publish"]));
    let fixed = json_lines(&ok(t(&[
        "--json",
        "corrections",
        "list",
        "--status",
        "fixed",
        "--limit",
        "100000",
    ])));
    assert!(
        fixed.iter().any(|c| c["id"] == correction),
        "correction {correction} closed"
    );

    // A dispute: the pair goes to review and stays there through later runs.
    let other = listed
        .iter()
        .find(|c| c["id"] != correction && c["status"] == "open")
        .unwrap();
    let id = other["id"].to_string();
    let disputed = json(t(&[
        "--json",
        "corrections",
        "dispute",
        &id,
        "--reason",
        "the resident showed us her card",
    ]));
    assert_eq!(disputed["status"], "disputed");
    ok(t(&["run", "--no-publish"]));
    let review = json_lines(&ok(t(&["--json", "review", "list", "--limit", "100000"])));
    let item = review
        .iter()
        .find(|r| r["reason"] == "disputed")
        .unwrap_or_else(|| panic!("no disputed pair in review: {review:?}"));
    let names = [
        item["a"][1].as_str().unwrap(),
        item["b"][1].as_str().unwrap(),
    ];
    assert!(names.contains(&other["record_key"].as_str().unwrap()));
    assert!(names.contains(&other["winner_key"].as_str().unwrap()));
    let again = t(&["corrections", "dispute", &id, "--reason", "again"])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "only an open correction is disputed"
    );
    let audit = json(t(&["--json", "audit", "--kind", "admin"]));
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "corrections dispute"));
}

#[tokio::test(flavor = "multi_thread")]
async fn corrections_found_exported_fixed_and_disputed_on_sqlite() {
    let f = Islands::people_and_organisations("reconcile_sqlite").await;
    reconcile_on(&f, &f.store);
}

#[tokio::test(flavor = "multi_thread")]
async fn corrections_found_exported_fixed_and_disputed_on_postgres() {
    let f = Islands::people_and_organisations("reconcile_pg").await;
    reconcile_on(&f, &fresh_postgres("e2e_reconcile_store"));
}
