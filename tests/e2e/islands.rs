//! The eleven islands sources through the real connectors into the real broker.

use std::collections::BTreeSet;

use crate::support::*;

fn counts_add_up(status: &serde_json::Value) {
    let sources = status["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 11, "{status}");
    for s in sources {
        let last = &s["last"];
        assert_eq!(
            last["pulled"].as_u64().unwrap(),
            last["accepted"].as_u64().unwrap() + last["quarantined"].as_u64().unwrap(),
            "pulled = accepted + quarantined for {s}"
        );
        assert!(s["last_error"].is_null(), "{s}");
    }
}

/// The first hukou row of the person crosswalk: (source, key, golden id).
fn crosswalk_first(f: &Islands) -> (String, String, String) {
    let csv = ok(f.tombolo(&["export", "crosswalk", "--entity", "person"]));
    let line = csv
        .lines()
        .find(|l| l.starts_with("hukou,"))
        .unwrap()
        .to_owned();
    let cols: Vec<&str> = line.split(',').collect();
    (cols[0].to_owned(), cols[1].to_owned(), cols[2].to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn islands_load_resolve_publish_and_follow_changes() {
    let _turn = HEAVY.lock().await;
    let f = Islands::new("islands").await;

    // First run: everything through to the topics.
    let report = json(f.tombolo(&["--json", "run"]));
    let pulled: u64 = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pulled"].as_u64().unwrap())
        .sum();
    assert_eq!(
        pulled,
        21867 + 1427 + 11406 + 4788 + 757 + 258,
        "every record of the eleven sources"
    );
    let status = json(f.tombolo(&["--json", "status"]));
    counts_add_up(&status);
    // Everything below runs on a store sealed at rest.
    let keys = json(f.tombolo(&["--json", "keys", "status"]));
    let current = keys["current"].as_str().unwrap();
    for (column, counts) in keys["usage"].as_object().unwrap() {
        let ids: Vec<&String> = counts.as_object().unwrap().keys().collect();
        assert!(ids.iter().all(|id| *id == current), "{column}: {counts}");
    }
    assert!(
        keys["usage"]["source_record.data"][current]
            .as_u64()
            .unwrap()
            > 20_000
    );

    // Resolution quality against the ground truth.
    let out = f._tmp.path();
    ok(f.tombolo(&[
        "export",
        "crosswalk",
        "--entity",
        "person",
        "--output",
        out.join("p.csv").to_str().unwrap(),
    ]));
    ok(f.tombolo(&[
        "export",
        "crosswalk",
        "--entity",
        "organization",
        "--output",
        out.join("o.csv").to_str().unwrap(),
    ]));
    let (p, f1) = score(&f.data.join("truth_person.csv"), &out.join("p.csv"));
    assert!(p >= 0.9995 && f1 >= 0.999, "people: precision {p}, F1 {f1}");
    let (p, f1) = score(&f.data.join("truth_org.csv"), &out.join("o.csv"));
    assert!(
        p >= 1.0 && f1 >= 0.999,
        "organisations: precision {p}, F1 {f1}"
    );

    // Places, houses and incidents, scored as examples/islands/run.sh's files are.
    for (entity, truth, min_p, min_f1) in [
        ("place", "truth_place.csv", 0.999, 0.99),
        ("event", "truth_event.csv", 0.98, 0.95),
    ] {
        let file = out.join(format!("{entity}.csv"));
        ok(f.tombolo(&[
            "export",
            "crosswalk",
            "--entity",
            entity,
            "--output",
            file.to_str().unwrap(),
        ]));
        let (p, f1) = score(&f.data.join(truth), &file);
        assert!(
            p >= min_p && f1 >= min_f1,
            "{entity}: precision {p}, F1 {f1}"
        );
    }
    let owners = ok(f.tombolo(&["export", "links", "--from", "house", "--to", "person"]));
    let linked = owners
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2).is_some_and(|g| g.starts_with("P-")))
        .count();
    assert!(linked > 4_500, "house owners linked: {linked}");
    let hierarchy = ok(f.tombolo(&["export", "places"]));
    assert!(hierarchy.starts_with("golden_id,level,parent_golden_id\n"));
    assert!(hierarchy.contains(",room,L-") && hierarchy.contains(",door,\n"));
    // Links from houses and incidents, scored as the README's worked example scores them.
    let hierarchy_file = out.join("place_hierarchy.csv");
    std::fs::write(&hierarchy_file, &hierarchy).unwrap();
    let tree = f.data.join("truth_place_tree.csv");
    let places = [
        "--tree",
        tree.to_str().unwrap(),
        "--hierarchy",
        hierarchy_file.to_str().unwrap(),
    ];
    let (people, places_cw) = (
        f.data.join("truth_person.csv"),
        f.data.join("truth_place.csv"),
    );
    for (name, from, to, truth, column, min_p, min_r) in [
        (
            "house owners",
            "house",
            "person",
            "truth_thing.csv",
            "owner_id",
            0.999,
            0.97,
        ),
        (
            "reporters",
            "event",
            "person",
            "truth_event.csv",
            "person_id",
            0.995,
            0.75,
        ),
        (
            "incident places",
            "event",
            "place",
            "truth_event.csv",
            "place_id",
            0.99,
            0.95,
        ),
    ] {
        let file = out.join(format!("{from}_{to}_links.csv"));
        let links = ok(f.tombolo(&["export", "links", "--from", from, "--to", to]));
        std::fs::write(&file, links).unwrap();
        let (target_truth, target_crosswalk, extra) = match to {
            "person" => (&people, out.join("p.csv"), &[][..]),
            _ => (&places_cw, out.join("place.csv"), &places[..]),
        };
        let (p, r) = score_links(
            &[&f.data.join(truth), &file, target_truth, &target_crosswalk],
            column,
            extra,
        );
        assert!(
            p >= min_p && r >= min_r,
            "{name}: precision {p}, recall {r}"
        );
    }

    // Every record can say why it sits where it does.
    let first = crosswalk_first(&f);
    let why = json(f.tombolo(&["--json", "explain", &first.0, &first.1]));
    assert_eq!(why["golden_id"].as_str(), Some(first.2.as_str()));
    assert!(why["rule"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(!why["provenance"].as_array().unwrap().is_empty());

    // Blocking for the probabilistic matcher: no runaway block, nearly all true pairs found.
    let truth = f.data.join("truth_person.csv");
    let blocking = json(f.tombolo(&["--json", "blocking", "--truth", truth.to_str().unwrap()]));
    assert!(
        blocking["oversized"].as_array().unwrap().is_empty(),
        "{blocking}"
    );
    assert!(
        blocking["pair_completeness"].as_f64().unwrap() >= 0.99,
        "{blocking}"
    );

    // The topics, read back by an independent client, decode with the schema files and hold
    // one record per golden record.
    let golden_people = status["golden_records"]["person"].as_u64().unwrap();
    let people = consume(&f.topic("person"), "person");
    let latest_people = latest(&people);
    assert_eq!(latest_people.len() as u64, golden_people);
    assert!(people.iter().all(|m| m["framing"] == "single_object"));
    let orgs = latest(&consume(&f.topic("organization"), "organization"));
    assert_eq!(
        orgs.len() as u64,
        status["golden_records"]["organization"].as_u64().unwrap()
    );

    // Places, houses and incidents on their topics, decoded with their schema files.
    for entity in ["place", "house", "event"] {
        let messages = latest(&consume(&f.topic(entity), entity));
        assert_eq!(
            messages.len() as u64,
            status["golden_records"][entity].as_u64().unwrap(),
            "{entity}"
        );
        assert!(messages.len() > 500, "{entity}: {}", messages.len());
    }
    // Relationships: on their topic, read back by the independent client and decoded with
    // `schemas/relation.avsc`, the same as the store's (`export relations`), every kind there.
    let exported = ok(f.tombolo(&["export", "relations"]));
    let stored: BTreeSet<String> = exported
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            format!("{}:{}:{}", cols[0], cols[1], cols[2])
        })
        .collect();
    for kind in [
        "lives_at",
        "owns",
        "works_for",
        "happened_at",
        "reported_by",
        "located_at",
    ] {
        assert!(
            stored.iter().any(|k| k.starts_with(&format!("{kind}:"))),
            "no {kind} relationship"
        );
    }
    let relations = consume(&f.topic("relation"), "relation");
    for m in &relations {
        let key = m["key"].as_str().unwrap();
        let value = &m["value"];
        if !value.is_null() {
            assert_eq!(
                format!(
                    "{}:{}:{}",
                    value["kind"].as_str().unwrap(),
                    value["from"].as_str().unwrap(),
                    value["to"].as_str().unwrap()
                ),
                key
            );
        }
    }
    let live = live_keys(&relations);
    assert_eq!(
        live, stored,
        "the relation topic holds what the store holds"
    );

    // The urban department's incidents: reporters masked and pseudonymised, places down to the
    // building; no raw phone or resident ID anywhere in the feed.
    let urban_schema = out.join("urban_event.avsc");
    std::fs::write(
        &urban_schema,
        ok(f.tombolo(&["schema", "event", "--department", "urban"])),
    )
    .unwrap();
    let urban = consume_raw(
        &format!("{}.dept.urban", f.topic("event")),
        &[&urban_schema],
    )
    .unwrap();
    let golden_events = status["golden_records"]["event"].as_u64().unwrap();
    assert_eq!(latest(&urban).len() as u64, golden_events);
    // The raw phones and resident IDs the two incident sources hold.
    let mut raw: Vec<String> = Vec::new();
    for page in std::fs::read_dir(f.data.join("events_api")).unwrap() {
        let page: serde_json::Value =
            serde_json::from_slice(&std::fs::read(page.unwrap().path()).unwrap()).unwrap();
        for t in page["result"]["records"].as_array().unwrap() {
            raw.extend(t["callerPhone"].as_str().map(str::to_owned));
        }
    }
    let grid = std::fs::read(f.data.join("grid_events.gbk.csv")).unwrap();
    // GB18030 leaves ASCII as it is: IDs are runs of 17 digits and a digit or X.
    let text = String::from_utf8_lossy(&grid);
    raw.extend(
        text.split(|c: char| !(c.is_ascii_digit() || c == 'X' || c == 'x'))
            .filter(|w| w.len() == 18)
            .map(str::to_owned),
    );
    assert!(raw.len() > 500, "{}", raw.len());
    for m in &urban {
        let v = &m["value"];
        assert!(
            v.get("reporter_id").is_none() && v.get("description").is_none(),
            "{v}"
        );
        let text = v.to_string();
        assert!(
            !raw.iter().any(|r| text.contains(r.as_str())),
            "a raw phone or ID in the urban feed: {v}"
        );
        assert!(
            v["reporter_phone"].as_str().is_none_or(|p| p.len() >= 16),
            "a pseudonym, not a phone: {v}"
        );
        if let Some(a) = v["address"].as_str() {
            assert!(!a.contains('室') && !a.contains("单元"), "{a}");
        }
        // The building's id, never the place's (which may be the room).
        assert!(v.get("place_id").is_none(), "{v}");
    }
    assert!(
        urban
            .iter()
            .filter(|m| m["value"]["building_id"]
                .as_str()
                .is_some_and(|b| b.starts_with("L-")))
            .count()
            > urban.len() / 2,
        "incidents in the urban feed carry their building"
    );

    // The health department's feed: one masked, pseudonymised view per golden person, and
    // the resident's question answered from the audit trail.
    let schema = out.join("health_person.avsc");
    std::fs::write(
        &schema,
        ok(f.tombolo(&["schema", "person", "--department", "health"])),
    )
    .unwrap();
    let health = consume_raw(&format!("{}.dept.health", f.topic("person")), &[&schema]).unwrap();
    assert_eq!(latest(&health).len() as u64, golden_people);
    assert!(health.iter().all(|m| m["value"].get("members").is_none()));
    assert!(
        consume_raw(
            &format!("{}.dept.health", f.topic("organization")),
            &[&schema]
        )
        .is_none(),
        "no organisation grant, no organisation topic"
    );
    let someone = latest_people.keys().next().unwrap();
    let mine = json(f.tombolo(&["--json", "audit", "--person", someone]));
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["department"], "health");
    let detail: serde_json::Value =
        serde_json::from_str(mine[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["purpose"],
        "vaccination and chronic-disease follow-up of residents"
    );
    assert!(detail["fields"]
        .to_string()
        .contains("[\"phone\",\"pseudonym\"]"));

    // Second run, nothing changed: nothing new pulled, nothing published.
    let report = json(f.tombolo(&["--json", "run"]));
    for s in report["sources"].as_array().unwrap() {
        assert_eq!(s["new"].as_u64(), Some(0), "{s}");
        assert_eq!(s["changed"].as_u64(), Some(0), "{s}");
    }
    for s in report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["source"] == "hukou" || s["source"] == "minzheng")
    {
        // The SQL sources resume from their watermark: only the trailing re-read window
        // (`reread_window`, for late commits) is read again, and found unchanged.
        assert_eq!(s["pulled"], s["unchanged"], "{s}");
        assert!(s["pulled"].as_u64().unwrap() < 100, "{s}");
    }
    assert_eq!(
        report["published"]["published"].as_u64(),
        Some(0),
        "{report}"
    );

    // A row changed in PostgreSQL becomes a new version on the topic.
    let pool = sqlx::PgPool::connect(&f.pg_url).await.unwrap();
    let (key, id): (String, String) =
        sqlx::query_as("SELECT rkbh, gmsfhm FROM t_rk_jbxx ORDER BY rkbh LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("UPDATE t_rk_jbxx SET xm = '测试改名', gxsj = now() WHERE rkbh = $1")
        .bind(&key)
        .execute(&pool)
        .await
        .unwrap();
    let report = json(f.tombolo(&["--json", "run"]));
    let hukou = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "hukou")
        .unwrap()
        .clone();
    assert_eq!(
        (hukou["changed"].as_u64(), hukou["new"].as_u64()),
        (Some(1), Some(0)),
        "{hukou}"
    );
    let people = latest(&consume(&f.topic("person"), "person"));
    let changed = people
        .values()
        .find(|m| m["value"]["resident_id"] == id.as_str())
        .expect("the person is on the topic");
    assert_eq!(changed["value"]["name"], "测试改名");
    assert_eq!(changed["value"]["version"], 2);

    // A row changed in the Excel sheet likewise: the phone of a resident only the grid office
    // knows, so that its value is the one that survives.
    let crosswalk = ok(f.tombolo(&["export", "crosswalk", "--entity", "person"]));
    let mut members: std::collections::BTreeMap<&str, Vec<(&str, &str)>> = Default::default();
    for line in crosswalk.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        members.entry(cols[2]).or_default().push((cols[0], cols[1]));
    }
    let (golden_id, grid_key) = members
        .iter()
        .find_map(|(g, m)| {
            (m.len() == 1 && m[0].0 == "grid").then(|| (g.to_string(), m[0].1.to_string()))
        })
        .expect("a resident known only to the grid office");
    let xlsx = f.data.join("grid_residents.xlsx");
    let new_phone = "13912345678";
    let script = format!(
        "import openpyxl\nwb = openpyxl.load_workbook({p:?})\nws = wb['居民信息']\nrow = next(r for r in ws.iter_rows(min_row=2) if str(r[0].value) == {grid_key:?})\nrow[3].value = {new_phone:?}\nwb.save({p:?})\n",
        p = xlsx.display().to_string()
    );
    ok(std::process::Command::new("python3").args(["-c", &script]));
    let report = json(f.tombolo(&["--json", "run"]));
    let grid = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "grid")
        .unwrap()
        .clone();
    assert_eq!(
        (grid["changed"].as_u64(), grid["new"].as_u64()),
        (Some(1), Some(0)),
        "{grid}"
    );
    let people = latest(&consume(&f.topic("person"), "person"));
    let record = &people[&golden_id]["value"];
    assert_eq!(record["phone"], new_phone);
    assert_eq!(record["version"], 2);
    let members: BTreeSet<&str> = record["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["record_key"].as_str().unwrap())
        .collect();
    assert!(members.contains(grid_key.as_str()));
}
