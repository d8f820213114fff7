//! Regression tests for the findings of the reliability audit of 2026-12-01
//! (`../shared/audits/reliability-2026-12-01.md`), each named after its finding, through the
//! real binary and, where the finding lives there, the real PostgreSQL store.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::scratch::*;
use crate::support::*;

/// The corner workbook of R1: `id,name`, one good row, one cell at `XFD1048576`.
fn corners_xlsx(path: &Path) {
    let script = r#"
import sys, zipfile
NS='xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'; R='xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
P='http://schemas.openxmlformats.org/package/2006/'; O='http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)
z.writestr('[Content_Types].xml',f'<Types xmlns="{P}content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
z.writestr('_rels/.rels',f'<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}officeDocument" Target="xl/workbook.xml"/></Relationships>')
z.writestr('xl/workbook.xml',f'<workbook {NS} {R}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
z.writestr('xl/_rels/workbook.xml.rels',f'<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
z.writestr('xl/worksheets/sheet1.xml',f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>张三</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>')
z.close()
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn h1_a_two_cell_xlsx_at_opposite_corners_is_read_and_the_run_goes_on() {
    let s = Scratch::sqlite();
    corners_xlsx(&s.path("corners.xlsx"));
    s.write(
        "after.csv",
        "id,name,phone,birth\n9,王五,13800138009,1990-01-09\n",
    );
    s.config(&format!(
        "[[sources]]\nname = \"grid\"\n[sources.connector]\nkind = \"excel\"\npath = \"corners.xlsx\"\nkey = \"id\"\n\
         [sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = {{ from = \"name\", required = true }}\n{}",
        person_csv("after", "after.csv")
    ));
    let out = s.bounded(&["--json", "run", "--no-publish"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let grid = &report["sources"][0];
    assert_eq!(
        (grid["pulled"].as_u64(), grid["accepted"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(grid["input"]["files"][0]["lines"], 3, "{grid}");
    assert_eq!(
        report["sources"][1]["accepted"], 1,
        "the source after it ran"
    );
    let q = s.quarantine("grid");
    assert_eq!(q.len(), 1);
    assert!(q[0]["reason"].as_str().unwrap().contains("empty key"));
    assert_eq!(s.goldens().len(), 2);
}

#[test]
fn h3_a_stray_quote_quarantines_its_line_and_the_lines_after_it_are_read() {
    let s = Scratch::sqlite();
    s.write(
        "q.csv",
        "id,name,phone,birth\n1,A,13800138001,1990-01-01\n2,B,13800138002,\"1990-01-02\n3,C,13800138003,1990-01-03\n4,D,13800138004,1990-01-04\n",
    );
    s.config(&person_csv("q", "q.csv"));
    let report: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
    let src = &report["sources"][0];
    assert_eq!(
        (
            src["pulled"].as_u64(),
            src["accepted"].as_u64(),
            src["quarantined"].as_u64()
        ),
        (Some(4), Some(3), Some(1)),
        "{src}"
    );
    let file = &src["input"]["files"][0];
    assert_eq!(file["lines"], 5);
    assert_eq!(file["header_lines"], 1);
    assert_eq!(file["item_lines"], 4);
    let q = s.quarantine("q");
    assert_eq!(q[0]["record_key"], "q.csv:3");
    assert!(q[0]["reason"]
        .as_str()
        .unwrap()
        .contains("unterminated quote"));
    assert_eq!(s.goldens().len(), 3);
}

#[test]
fn h6_a_nul_byte_in_a_key_is_quarantined_on_a_postgres_store_and_the_batch_stored() {
    let s = Scratch::postgres("e2e_h6");
    s.write(
        "n.csv",
        b"id,name,phone,birth\n1,Good,13800138001,1990-01-01\nk\x002,Key,13800138002,1990-01-02\n3,Zh\x00ou,13800138003,1990-01-03\n",
    );
    s.config(&person_csv("n", "n.csv"));
    for _ in 0..2 {
        let report: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
        assert!(report["sources"][0]["error"].is_null(), "{report}");
    }
    let st = s.source_status("n");
    assert_eq!(st["total_pulled"], 3);
    assert_eq!(st["total_accepted"], 1);
    assert_eq!(st["total_quarantined"], 2);
    let q = s.quarantine("n");
    assert_eq!(q.len(), 2);
    assert!(q.iter().any(|e| e["record_key"] == "k\\02"), "{q:?}");
    assert!(q
        .iter()
        .all(|e| e["reason"].as_str().unwrap().contains("NUL byte")));
}

#[test]
fn h6_a_store_error_is_recorded_in_the_source_status() {
    let s = Scratch::postgres("e2e_h6s");
    s.write("a.csv", "id,name,phone,birth\n1,A,13800138001,1990-01-01\n");
    s.config(&person_csv("a", "a.csv"));
    ok(s.cmd(&["run", "--no-publish"]));
    // The store refuses the next batch: a trigger stands in for any store-side failure.
    psql_at(
        &s.store,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON source_record FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    s.write(
        "a.csv",
        "id,name,phone,birth\n1,A,13800138001,1990-01-01\n2,B,13800138002,1990-01-02\n",
    );
    let out = s.cmd(&["run", "--no-publish"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let st = s.source_status("a");
    assert!(
        st["last_error"]
            .as_str()
            .unwrap()
            .contains("refused by test"),
        "{st}"
    );
    assert_eq!(st["total_pulled"], 1, "the refused batch is not counted");
}

#[test]
fn h7_a_utf8_file_cut_inside_a_character_is_read_as_utf8() {
    let s = Scratch::sqlite();
    let mut b = "id,name,phone,birth\n1,张三,13800138001,1990-01-02\n2,李"
        .as_bytes()
        .to_vec();
    b.pop();
    s.write("t.csv", b);
    s.config(&person_csv("t", "t.csv"));
    let report: Value = json(s.cmd(&["--json", "run", "--no-publish"]));
    let src = &report["sources"][0];
    assert_eq!(src["input"]["files"][0]["encoding"], "utf-8", "{src}");
    assert_eq!(
        (src["accepted"].as_u64(), src["quarantined"].as_u64()),
        (Some(1), Some(1))
    );
    let g = s.goldens();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["values"]["name"], "张三", "{}", g[0]);
}

#[test]
fn h5_a_lost_key_file_is_never_replaced_by_a_new_key() {
    let s = Scratch::sqlite();
    s.write(
        "p.csv",
        "id,name,phone,birth\n1,张三,13800138001,1990-01-01\n",
    );
    s.write(
        "q.csv",
        "id,name,phone,birth\n3,王五,13800138003,1992-03-03\n",
    );
    let sealed = "[store]\nencryption = { key_file = \"keys/hub.keyring\" }\n";
    s.config(&format!("{sealed}{}", person_csv("people", "p.csv")));
    ok(s.cmd(&["run", "--no-publish"]));
    let keyfile = s.path("keys/hub.keyring");
    let original = std::fs::read_to_string(&keyfile).unwrap();
    std::fs::rename(&keyfile, s.path("hub.keyring.orig")).unwrap();

    // The key file is gone: nothing is written, no key is made, the message says why.
    s.config(&format!(
        "{sealed}{}{}",
        person_csv("people", "p.csv"),
        person_csv("more", "q.csv")
    ));
    let out = s.cmd(&["run", "--no-publish"]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not exist") && err.contains("sealed values"),
        "{err}"
    );
    assert!(!keyfile.exists(), "no impostor key");
    let out = s.cmd(&["keys", "init"]).output().unwrap();
    assert!(!out.status.success(), "keys init refuses a sealed store");
    assert!(!keyfile.exists());

    // Another key in its place (the same file name, a key of another store): refused before
    // anything is written.
    let other = Scratch::sqlite();
    other.write("p.csv", "id,name\n");
    other.config(&format!("{sealed}{}", person_csv("people", "p.csv")));
    ok(other.cmd(&["keys", "init"]));
    std::fs::copy(other.path("keys/hub.keyring"), &keyfile).unwrap();
    let out = s.cmd(&["run", "--no-publish"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not open the store's sealed values"),
        "{}",
        stderr(&out)
    );

    // The right key back: the run goes on as if nothing happened.
    std::fs::write(&keyfile, &original).unwrap();
    ok(s.cmd(&["run", "--no-publish"]));
    assert_eq!(s.goldens().len(), 2);
    let keys = json(s.cmd(&["--json", "keys", "status"]));
    let usage = keys["usage"]["source_record.data"].as_object().unwrap();
    assert_eq!(usage.len(), 1, "one key sealed everything: {usage:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn m9_the_audit_trail_refuses_edits_and_verify_finds_what_got_past() {
    for postgres in [false, true] {
        let s = if postgres {
            Scratch::postgres("e2e_m9")
        } else {
            Scratch::sqlite()
        };
        s.write(
            "p.csv",
            "id,name,phone,birth\n1,张三,13800138001,1990-01-01\n",
        );
        s.config(&person_csv("people", "p.csv"));
        for _ in 0..3 {
            ok(s.cmd(&["run", "--no-publish"]));
        }
        let v = json(s.cmd(&["--json", "audit", "verify"]));
        assert_eq!(v["entries"], 3, "{v}");
        assert!(v["problem"].is_null());
        let refused = exec(&s.store, "UPDATE audit SET actor = 'mallory' WHERE id = 2").await;
        assert!(refused.unwrap_err().contains("append-only"));
        let refused = exec(
            &s.store,
            "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)",
        )
        .await;
        assert!(refused.unwrap_err().contains("append-only"));
        // Past the guard (its owner dropped it), an edit is found.
        let drop = if postgres {
            "DROP TRIGGER audit_append_only ON audit"
        } else {
            "DROP TRIGGER audit_no_update"
        };
        exec(&s.store, drop).await.unwrap();
        exec(&s.store, "UPDATE audit SET actor = 'mallory' WHERE id = 2")
            .await
            .unwrap();
        let out = s.cmd(&["audit", "verify"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("entry 2 was altered"),
            "{}",
            stderr(&out)
        );
        if !postgres {
            // The newest entry cut from a SQLite trail is found too.
            let t = Scratch::sqlite();
            t.write(
                "p.csv",
                "id,name,phone,birth\n1,张三,13800138001,1990-01-01\n",
            );
            t.config(&person_csv("people", "p.csv"));
            ok(t.cmd(&["run", "--no-publish"]));
            ok(t.cmd(&["run", "--no-publish"]));
            exec(&t.store, "DROP TRIGGER audit_no_delete")
                .await
                .unwrap();
            exec(
                &t.store,
                "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)",
            )
            .await
            .unwrap();
            let out = t.cmd(&["audit", "verify"]).output().unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert!(
                stderr(&out).contains("cut from the end"),
                "{}",
                stderr(&out)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn m11_totals_equal_the_stored_records_after_a_sigkill() {
    let s = Scratch::sqlite();
    s.write("p.csv", rows("k", 20_000));
    s.config(
        &person_csv("people", "p.csv").replace("key = \"id\"\n", "key = \"id\"\nbatch_size = 50\n"),
    );
    let mut child = s.started(&["run", "--no-publish"], 500).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = scalar(&s.store, "SELECT COUNT(*) FROM source_record")
        .await
        .unwrap();
    let st = s.source_status("people");
    assert_eq!(st["total_accepted"].as_i64().unwrap(), stored, "{st}");
    ok(s.cmd(&["run", "--no-publish"]));
    let st = s.source_status("people");
    assert_eq!(st["total_accepted"], 20_000, "{st}");
    assert_eq!(st["total_pulled"], 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn m8_key_rotation_waits_for_no_run_and_a_run_waits_for_it() {
    let s = Scratch::sqlite();
    s.write("p.csv", rows("r", 20_000));
    s.config(&format!(
        "[store]\nencryption = {{ key_file = \"keys/hub.keyring\" }}\n{}",
        person_csv("people", "p.csv").replace("key = \"id\"\n", "key = \"id\"\nbatch_size = 100\n")
    ));
    let mut child = s.started(&["run", "--no-publish"], 0).await;
    let out = s.cmd(&["keys", "rotate", "--drop-old"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("being written by `tombolo run`"));
    assert!(child.wait().unwrap().success());
    let rotated = json(s.cmd(&["--json", "keys", "rotate", "--drop-old"]));
    let current = rotated["current"].as_str().unwrap();
    for (column, counts) in rotated["usage"].as_object().unwrap() {
        let ids: Vec<&String> = counts.as_object().unwrap().keys().collect();
        assert!(ids.iter().all(|id| *id == current), "{column}: {counts}");
    }
    ok(s.cmd(&["run", "--no-publish"]));
    assert_eq!(s.goldens().len(), 20_000);
}

#[test]
fn m6_shared_personal_values_never_reach_the_default_log_or_the_report() {
    // R12: 60 records sharing one phone and one resident ID, a sealed store.
    let s = Scratch::sqlite();
    let mut csv = String::from("id,name,phone,birth,sfz\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "{i},张{i},13912345678,1949-12-31,11010519491231002X\n"
        ));
    }
    s.write("b.csv", csv);
    s.config(&format!(
        "[store]\nencryption = {{ key_file = \"keys/hub.keyring\" }}\n{}",
        person_csv("b", "b.csv").replace(
            "birth_date = { from = \"birth\" }",
            "birth_date = { from = \"birth\" }\nresident_id = { from = \"sfz\" }"
        )
    ));
    let out = s.cmd(&["--json", "run", "--no-publish"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !report["entities"][0]["oversized_keys"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the shared values make oversized blocking keys: {report}"
    );
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains("13912345678"), "{text}");
        assert!(!text.contains("11010519491231002X"), "{text}");
    }
}
