//! Hostile workbooks and CSV files through the file connector: each is read within its caps or
//! quarantined whole with a reason, and every row is accounted for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;

use tombolo_connector_file::{CsvConfig, Encoding, ExcelConfig, FileSource};
use tombolo_core::{Pulled, Source};

const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
const R: &str = r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
const P: &str = "http://schemas.openxmlformats.org/package/2006/";
const O: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";

/// Writes a one-sheet workbook; `sheet_data` is the `<sheetData>` body, `shared` the shared
/// strings (none when empty); `sheet_writer` may stream a large sheet part instead.
fn xlsx(path: &Path, sheet_data: &str, shared: &[&str], big_sheet: Option<(u64, &str)>) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opt = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(big_sheet.is_some());
    let put = |z: &mut zip::ZipWriter<std::fs::File>, name: &str, body: &str| {
        z.start_file(name, opt).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    };
    put(
        &mut z,
        "[Content_Types].xml",
        &format!(
            r#"<Types xmlns="{P}content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#
        ),
    );
    put(
        &mut z,
        "_rels/.rels",
        &format!(
            r#"<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    put(
        &mut z,
        "xl/workbook.xml",
        &format!(
            r#"<workbook {NS} {R}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        ),
    );
    put(
        &mut z,
        "xl/_rels/workbook.xml.rels",
        &format!(
            r#"<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
        ),
    );
    if !shared.is_empty() {
        let items: String = shared
            .iter()
            .map(|s| format!("<si><t>{s}</t></si>"))
            .collect();
        put(
            &mut z,
            "xl/sharedStrings.xml",
            &format!(
                r#"<sst {NS} count="{n}" uniqueCount="{n}">{items}</sst>"#,
                n = shared.len()
            ),
        );
    }
    z.start_file("xl/worksheets/sheet1.xml", opt).unwrap();
    write!(z, "<worksheet {NS}><sheetData>{sheet_data}").unwrap();
    if let Some((repeat, cell)) = big_sheet {
        let chunk = cell.repeat(10_000);
        for _ in 0..repeat / 10_000 {
            z.write_all(chunk.as_bytes()).unwrap();
        }
        write!(z, "</row>").unwrap();
    }
    write!(z, "</sheetData></worksheet>").unwrap();
    z.finish().unwrap();
}

fn excel(path: &Path) -> ExcelConfig {
    toml::from_str(&format!(
        "path = {:?}\nkey = \"id\"",
        path.display().to_string()
    ))
    .unwrap()
}

async fn drain(src: &mut FileSource) -> Vec<Pulled> {
    let mut all = Vec::new();
    while let Some(b) = src.next_batch().await.unwrap() {
        all.extend(b.items);
    }
    all
}

fn split(items: &[Pulled]) -> (Vec<String>, Vec<(String, String)>) {
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    for i in items {
        match i {
            Pulled::Record(r) => keys.push(r.key.clone()),
            Pulled::Malformed(m) => bad.push((m.key.clone(), m.reason.clone())),
        }
    }
    (keys, bad)
}

const HEADER: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>"#;

#[tokio::test]
async fn h1_cells_at_opposite_corners_are_two_rows_not_a_dense_range() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("corners.xlsx");
    let data = format!(
        r#"{HEADER}<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>张三</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>"#
    );
    xlsx(&f, &data, &[], None);
    assert!(std::fs::metadata(&f).unwrap().len() < 4096);
    let mut s = FileSource::excel(&excel(&f), vec!["name".into()], None).unwrap();
    let items = drain(&mut s).await;
    let (keys, bad) = split(&items);
    assert_eq!(keys, vec!["1"]);
    assert_eq!(bad.len(), 1, "the far corner row has no key: {bad:?}");
    assert_eq!(bad[0].0, "corners.xlsx:1048576");
    assert!(bad[0].1.contains("empty key"));
    let report = s.input_report().unwrap();
    let file = &report["files"][0];
    assert_eq!(file["lines"], 3);
    assert_eq!(file["header_lines"], 1);
    assert_eq!(file["items"], 2);
}

#[tokio::test]
async fn h1_a_shared_string_bomb_is_a_quarantined_row_per_cell_not_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sst.xlsx");
    let big = "名".repeat(2_000_000); // 6 MB, over the 4 MiB default cap
    let mut data = HEADER.to_owned();
    for r in 2..302 {
        data.push_str(&format!(
            r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="s"><v>0</v></c></row>"#
        ));
    }
    data.push_str(r#"<row r="400"><c r="A400"><v>400</v></c><c r="B400" t="inlineStr"><is><t>ok</t></is></c></row>"#);
    xlsx(&f, &data, &[&big], None);
    let mut s = FileSource::excel(&excel(&f), vec!["name".into()], None).unwrap();
    let (keys, bad) = split(&drain(&mut s).await);
    assert_eq!(keys, vec!["400"]);
    assert_eq!(bad.len(), 300);
    assert!(bad[0].1.contains("over max_record_bytes"), "{:?}", bad[0]);
}

#[tokio::test]
async fn h1_an_inflation_bomb_is_quarantined_whole_before_it_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.xlsx");
    // 3 million cells of 21 bytes: 63 MB of sheet XML, compressed to well under 1 MB.
    xlsx(
        &f,
        &format!(r#"{HEADER}<row r="3">"#),
        &[],
        Some((3_000_000, r#"<c r="C3"><v>1</v></c>"#)),
    );
    assert!(std::fs::metadata(&f).unwrap().len() < 2 << 20);
    let mut cfg = excel(&f);
    cfg.max_inflated_bytes = 16 << 20;
    let mut s = FileSource::excel(&cfg, vec!["name".into()], None).unwrap();
    let (keys, bad) = split(&drain(&mut s).await);
    assert!(keys.is_empty());
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, f.display().to_string());
    assert!(bad[0].1.contains("max_inflated_bytes"), "{:?}", bad[0]);
    // Under the inflation cap, the cell cap rejects it whole as well.
    let mut cfg = excel(&f);
    cfg.max_cells = 1_000_000;
    let mut s = FileSource::excel(&cfg, vec!["name".into()], None).unwrap();
    let (keys, bad) = split(&drain(&mut s).await);
    assert!(keys.is_empty());
    assert!(bad[0].1.contains("max_cells"), "{:?}", bad[0]);
}

#[tokio::test]
async fn a_file_that_is_not_a_workbook_is_quarantined_and_the_next_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xlsx"), b"PK\x03\x04 not really a zip").unwrap();
    xlsx(
        &dir.path().join("b.xlsx"),
        &format!(
            r#"{HEADER}<row r="2"><c r="A2"><v>7</v></c><c r="B2" t="inlineStr"><is><t>王五</t></is></c></row>"#
        ),
        &[],
        None,
    );
    let mut s = FileSource::excel(&excel(dir.path()), vec!["name".into()], None).unwrap();
    let (keys, bad) = split(&drain(&mut s).await);
    assert_eq!(keys, vec!["7"]);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].1.contains("not a readable workbook"));
}

fn csv(path: &Path) -> CsvConfig {
    toml::from_str(&format!(
        "path = {:?}\nkey = \"id\"",
        path.display().to_string()
    ))
    .unwrap()
}

#[tokio::test]
async fn h7_a_utf8_file_cut_inside_its_last_character_is_read_as_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    let mut b = "id,name,phone,birth\n1,张三,13800138001,1990-01-02\n2,李"
        .as_bytes()
        .to_vec();
    b.pop();
    std::fs::write(&f, b).unwrap();
    let mut cfg = csv(&f);
    cfg.encoding = Encoding::Auto;
    let mut s = FileSource::csv(&cfg, vec!["name".into()], None).unwrap();
    let items = drain(&mut s).await;
    let Pulled::Record(r) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(r.get("name"), Some("张三"));
    assert!(matches!(items[1], Pulled::Malformed(_)));
    assert_eq!(s.input_report().unwrap()["files"][0]["encoding"], "utf-8");
}

#[tokio::test]
async fn every_physical_line_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("q.csv");
    let text = "id,name,phone,birth\n1,A,1,1990-01-01\n\n2,B,2,\"1990-01-02\n3,C,3,1990-01-03\n4,D\n5,E,5,1990-01-05";
    std::fs::write(&f, text).unwrap();
    let mut cfg = csv(&f);
    cfg.batch_size = 2;
    let mut s = FileSource::csv(&cfg, vec!["name".into()], None).unwrap();
    let items = drain(&mut s).await;
    let (keys, bad) = split(&items);
    assert_eq!(keys, vec!["1", "3", "5"]);
    assert_eq!(bad.len(), 2);
    let report = s.input_report().unwrap();
    let st = &report["files"][0];
    let physical = text.lines().count() as u64;
    assert_eq!(st["lines"], physical);
    assert_eq!(
        st["lines"].as_u64().unwrap(),
        st["header_lines"].as_u64().unwrap()
            + st["blank_lines"].as_u64().unwrap()
            + st["item_lines"].as_u64().unwrap()
    );
    assert_eq!(st["items"].as_u64().unwrap(), items.len() as u64);
}

#[tokio::test]
async fn a_shared_string_index_out_of_range_quarantines_the_workbook_instead_of_a_panic() {
    // Found by the fuzzer (tests/fuzz.rs): calamine indexes the shared strings unchecked.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sst.xlsx");
    let data =
        format!(r#"{HEADER}<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>5</v></c></row>"#);
    xlsx(&f, &data, &["only one"], None);
    let mut s = FileSource::excel(&excel(&f), vec!["name".into()], None).unwrap();
    let (keys, bad) = split(&drain(&mut s).await);
    assert!(keys.is_empty());
    assert_eq!(bad.len(), 1);
    assert!(bad[0].1.contains("not a readable workbook"), "{bad:?}");
}
