//! Grants and the audit trail through the binary: a department's grant is versioned when the
//! configuration changes (one audit entry per change, none when it stays the same), state-changing
//! commands are audited, and `tombolo catalog` shows what the department may receive.

use std::collections::BTreeMap;

use crate::support::*;

fn config(dir: &std::path::Path, phone: &str) -> std::path::PathBuf {
    let path = dir.join("tombolo.toml");
    std::fs::write(
        &path,
        format!(
            r#"{source}
[[departments]]
name = "health"
purpose = "vaccination follow-up"
key_env = "TOMBOLO_E2E_HEALTH_KEY"
[departments.grants.person]
resident_id = {{ treatment = "mask" }}
phone = {{ treatment = "{phone}" }}
"#,
            source = csv_source(
                "grid",
                "people.csv",
                "id",
                "person",
                r#"[sources.mapping.fields]
name = { from = "name" }
phone = { from = "phone" }
resident_id = { from = "id_no" }"#
            )
        ),
    )
    .unwrap();
    path
}

#[test]
fn grant_changes_are_versioned_and_audited_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("people.csv"),
        "id,name,phone,id_no\n1,张三,13800138000,11010519491231002X\n",
    )
    .unwrap();
    let store = format!("sqlite:{}", dir.join("tombolo.db").display());
    let env = BTreeMap::from([
        ("TOMBOLO_E2E_HEALTH_KEY".to_owned(), "k".repeat(32)),
        ("TOMBOLO_ACTOR".to_owned(), "e2e-operator".to_owned()),
    ]);
    let grants = |cfg: &std::path::Path| {
        json(tombolo(
            cfg,
            &store,
            &env,
            &["--json", "audit", "--kind", "grant"],
        ))
    };

    let cfg = config(dir, "pseudonym");
    ok(tombolo(&cfg, &store, &env, &["run", "--no-publish"]));
    let g = grants(&cfg);
    assert_eq!(g.as_array().unwrap().len(), 1, "{g}");
    assert_eq!(g[0]["action"], "grant created");
    assert_eq!(g[0]["department"], "health");
    assert_eq!(g[0]["actor"], "e2e-operator");

    // The same configuration again: no new version.
    ok(tombolo(&cfg, &store, &env, &["run", "--no-publish"]));
    assert_eq!(grants(&cfg).as_array().unwrap().len(), 1);

    // A changed grant: exactly one new entry, naming the versions. Commands that only read
    // record no grant (audit M9).
    let cfg = config(dir, "mask");
    ok(tombolo(&cfg, &store, &env, &["status"]));
    assert_eq!(grants(&cfg).as_array().unwrap().len(), 1);
    ok(tombolo(&cfg, &store, &env, &["run", "--no-publish"]));
    ok(tombolo(&cfg, &store, &env, &["run", "--no-publish"]));
    let g = grants(&cfg);
    assert_eq!(g.as_array().unwrap().len(), 2, "{g}");
    assert_eq!(g[0]["action"], "grant changed");
    let detail: serde_json::Value = serde_json::from_str(g[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            detail["version"].as_i64(),
            detail["previous_version"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        detail["grants"]["grants"]["person"]["phone"]["treatment"],
        "mask"
    );

    // State-changing commands are audited; reading ones are not.
    let admin = json(tombolo(
        &cfg,
        &store,
        &env,
        &["--json", "audit", "--kind", "admin"],
    ));
    let actions: Vec<&str> = admin
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["run", "run", "run", "run"], "{admin}");
    ok(tombolo(&cfg, &store, &env, &["resolve", "--full"]));
    let admin = json(tombolo(
        &cfg,
        &store,
        &env,
        &["--json", "audit", "--kind", "admin"],
    ));
    assert_eq!(admin[0]["action"], "resolve");

    // The catalogue shows what was read and what the department may receive.
    let md = ok(tombolo(&cfg, &store, &env, &["catalog"]));
    assert!(md.contains("| `phone` | `phone` | personal |"), "{md}");
    assert!(md.contains("| `resident_id` | sensitive | mask |"), "{md}");
    let catalog = json(tombolo(&cfg, &store, &env, &["--json", "catalog"]));
    assert_eq!(
        catalog["departments"][0]["purpose"],
        "vaccination follow-up"
    );
}
