//! Scorecards and the islands report through the binary, on the sealed SQLite store and on
//! PostgreSQL: a snapshot per run that changed something; the report's figures equal those an
//! independent script (`report_figures.py`) computes from the exported crosswalks and the
//! source files; the page renders in headless Chromium, whose DOM holds every section and a
//! heatmap per kind, and whose screenshot shows the heatmap and every section's heading rule.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Renders the page in headless Chromium: its DOM, and a screenshot at `png`.
fn chromium(page: &Path, png: &Path) -> String {
    let url = format!("file://{}", page.display());
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1280,6000",
    ];
    // Debian's chromium, installed by deploy/install-deps.sh.
    let dom = ok(Command::new("chromium")
        .args(base)
        .arg("--dump-dom")
        .arg(&url));
    ok(Command::new("chromium")
        .args(base)
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url));
    dom
}

/// What the screenshot shows: its size, the pixels of the heatmaps' deep blue, and the heading
/// rules (rows of the report's blue across the page; no chart is that wide).
fn look(png: &Path) -> Value {
    json(Command::new("python3")
        .args([
            "-c",
            "import sys, json\n\
             from PIL import Image\n\
             im = Image.open(sys.argv[1]).convert('RGB')\n\
             w, h = im.size\n\
             px = im.load()\n\
             near = lambda p, c: all(abs(a - b) <= 24 for a, b in zip(p, c))\n\
             deep = sum(1 for y in range(0, h, 2) for x in range(0, w, 2) if near(px[x, y], (8, 81, 156)))\n\
             rules, last = 0, -10\n\
             for y in range(h):\n\
             \x20   if all(near(px[x, y], (8, 81, 156)) for x in range(60, 1220, 20)):\n\
             \x20       if y - last > 3: rules += 1\n\
             \x20       last = y\n\
             print(json.dumps({'width': w, 'height': h, 'deep': deep, 'rules': rules}))\n",
        ])
        .arg(png))
}

fn report_on(f: &Islands, store: &str, tag: &str) {
    let t = |args: &[&str]| tombolo(&f.config(), store, &f.env, args);
    ok(t(&["run", "--no-publish"]));
    // A second run with nothing new keeps no snapshot; one with a change does.
    ok(t(&["run", "--no-publish"]));
    let health = f.data.join("health_archive.gbk.csv");
    ok(Command::new("python3")
        .args([
            "-c",
            "import csv, sys\n\
             p = sys.argv[1]\n\
             rows = list(csv.reader(open(p, encoding='gb18030', newline='')))\n\
             rows[1][rows[0].index('手机号码')] = '13912345678'\n\
             rows[1][rows[0].index('建档日期')] = '2026-12-07'\n\
             csv.writer(open(p, 'w', encoding='gb18030', newline=''), lineterminator='\\r\\n').writerows(rows)\n",
        ])
        .arg(&health));
    ok(t(&["run", "--no-publish"]));

    let cards = json(t(&["--json", "scorecard"]));
    let hukou = cards["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "hukou")
        .unwrap();
    let name = hukou["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["field"] == "name")
        .unwrap();
    assert_eq!(name["completeness"], 1.0, "{name}");
    assert!(
        name["agreement"].as_f64().unwrap() > 0.99,
        "the most trusted source agrees"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    ok(t(&["report", "--out", out.to_str().unwrap()]));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["trend"].as_array().unwrap().len(),
        2,
        "two runs changed something: two snapshots"
    );

    // The figures against an independent count from the crosswalks and the source files.
    let mut args: Vec<String> = Vec::new();
    for kind in ["person", "organization"] {
        let path = dir.path().join(format!("{kind}.csv"));
        ok(t(&[
            "export",
            "crosswalk",
            "--entity",
            kind,
            "-o",
            path.to_str().unwrap(),
        ]));
        args.push("--crosswalk".into());
        args.push(format!("{kind}={}", path.display()));
    }
    for (source, file, encoding) in [
        ("health", "health_archive.gbk.csv", "gb18030"),
        ("market", "market_entities.csv", "utf-8-sig"),
        ("tax", "tax_registry.csv", "utf-8"),
    ] {
        args.push("--csv".into());
        args.push(format!(
            "{source}={}:{encoding}",
            f.data.join(file).display()
        ));
    }
    let independent = ok(Command::new("python3")
        .arg(root().join("tests/e2e/report_figures.py"))
        .args(&args));
    let independent: Value = serde_json::from_str(independent.trim()).unwrap();
    for kind in report["kinds"].as_array().unwrap() {
        let name = kind["entity"].as_str().unwrap();
        let theirs = &independent["kinds"][name];
        let sources = kind["sources"].as_array().unwrap();
        assert!(sources.len() >= 2, "{name}: several sources");
        for (i, s) in sources.iter().enumerate() {
            let source = s["source"].as_str().unwrap();
            for figure in ["records", "golden_records", "duplicates"] {
                assert_eq!(
                    s[figure], theirs["sources"][source][figure],
                    "{name} {source} {figure}"
                );
            }
            for (j, other) in sources.iter().enumerate().skip(i + 1) {
                let pair = format!("{source}|{}", other["source"].as_str().unwrap());
                assert_eq!(
                    kind["overlap"][i][j],
                    theirs["overlap"][&pair].as_u64().unwrap_or(0),
                    "{name} overlap {pair}"
                );
            }
        }
    }
    let quarantined = &report["scorecards"]["quarantine_open"];
    for source in ["health", "market", "tax"] {
        let records = report["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|k| k["sources"].as_array().unwrap())
            .find(|s| s["source"] == source)
            .unwrap()["records"]
            .as_u64()
            .unwrap();
        let q = quarantined[source].as_u64().unwrap_or(0);
        assert_eq!(
            records + q,
            independent["rows"][source].as_u64().unwrap(),
            "{source}: every data row of the file is a record or in quarantine"
        );
    }

    // The page in headless Chromium: every section, a heatmap per kind, drawn.
    let png = dir.path().join("report.png");
    let dom = chromium(&out.join("index.html"), &png);
    for section in [
        "departments",
        "overlap",
        "scorecards",
        "conflicts",
        "backlogs",
        "trend",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "section {section}"
        );
    }
    for (kind, n) in [("person", 5), ("organization", 2)] {
        let start = dom.find(&format!("id=\"heatmap-{kind}\"")).unwrap();
        let end = start + dom[start..].find("</svg>").unwrap();
        assert_eq!(
            dom[start..end].matches("class=\"cell\"").count(),
            n * n,
            "{kind}: one cell per pair of sources"
        );
    }
    assert!(dom.contains("信息孤岛报告") && dom.contains("The islands report"));
    assert!(!dom.contains("<script"), "no script");
    let seen = look(&png);
    assert_eq!(seen["width"], 1280);
    assert!(
        seen["deep"].as_u64().unwrap() > 2_000,
        "the heatmaps' deep blue is on the screenshot: {seen}"
    );
    assert_eq!(
        seen["rules"], 6,
        "every section's heading rule is on the screenshot: {seen}"
    );
    // The screenshot of the islands report in the docs comes from this test.
    if let Ok(to) = std::env::var("TOMBOLO_REPORT_SCREENSHOT") {
        if tag == "sqlite" {
            std::fs::copy(&png, to).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scorecards_and_the_islands_report_on_sqlite() {
    let f = Islands::people_and_organisations("report_sqlite").await;
    report_on(&f, &f.store, "sqlite");
}

#[tokio::test(flavor = "multi_thread")]
async fn scorecards_and_the_islands_report_on_postgres() {
    let f = Islands::people_and_organisations("report_pg").await;
    report_on(&f, &fresh_postgres("e2e_report_store"), "postgres");
}
