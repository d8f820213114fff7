//! Property-based fuzzing of the file readers (stable Rust, proptest): CSV bytes and sheet
//! cells. Whatever the input, the reader never panics, yields one item per data line or row,
//! and accounts for every physical line; well-formed CSV written by another writer reads back
//! field for field. Short run in the suite; longer:
//! `PROPTEST_CASES=20000 cargo test -p tombolo-connector-file --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use tombolo_connector_file::{CsvConfig, ExcelConfig, FileSource};
use tombolo_core::{Pulled, Source};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn drain(mut src: FileSource) -> (Vec<Pulled>, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut all = Vec::new();
        while let Some(b) = src.next_batch().await.unwrap() {
            all.extend(b.items);
        }
        (all, src.input_report().unwrap())
    })
}

fn csv_config(path: &Path, encoding: &str, multiline: bool) -> CsvConfig {
    toml::from_str(&format!(
        "path = {:?}\nkey = \"id\"\nencoding = \"{encoding}\"\nmultiline = {multiline}\nbatch_size = 7\nmax_record_bytes = 4096",
        path.display().to_string()
    ))
    .unwrap()
}

/// Bytes biased towards what CSV parsers trip on.
fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just("张三".as_bytes().to_vec()),
        Just(b"\xD5\xC5\xC8\xFD".to_vec()), // 张三 in GB18030
        Just(b"\x00".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..6),
        "[a-z0-9]{1,6}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_csv_bytes_are_read_and_every_line_accounted_for(
        body in csv_bytes(),
        encoding in prop_oneof![Just("auto"), Just("utf-8"), Just("gb18030")],
        multiline in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.csv");
        let mut bytes = b"id,name,phone\n".to_vec();
        bytes.extend_from_slice(&body);
        std::fs::write(&f, &bytes).unwrap();
        let src = FileSource::csv(&csv_config(&f, encoding, multiline), vec!["name".into()], None).unwrap();
        let (items, report) = drain(src);
        let st = &report["files"][0];
        let n = |k: &str| st[k].as_u64().unwrap();
        let physical = bytes.iter().filter(|b| **b == b'\n').count() as u64
            + u64::from(!bytes.ends_with(b"\n"));
        prop_assert_eq!(n("lines"), physical, "{}", st);
        prop_assert_eq!(n("lines"), n("header_lines") + n("blank_lines") + n("item_lines"));
        prop_assert_eq!(n("items"), items.len() as u64);
        if !multiline {
            prop_assert_eq!(n("item_lines"), n("items"));
        }
    }

    #[test]
    fn csv_written_by_another_writer_reads_back_field_for_field(
        rows in proptest::collection::vec(
            (
                "[a-zA-Z0-9]{1,8}",
                "[^\\x00\\r\\n]{0,12}",
                "[ ,\"'a-z0-9张王]{0,10}",
            ),
            1..20,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.csv");
        let mut w = csv::Writer::from_path(&f).unwrap();
        w.write_record(["id", "name", "phone"]).unwrap();
        let mut keys = std::collections::BTreeSet::new();
        for (k, n, p) in &rows {
            w.write_record([k, n, p]).unwrap();
            keys.insert(k.clone());
        }
        w.flush().unwrap();
        drop(w);
        let src = FileSource::csv(&csv_config(&f, "utf-8", false), vec!["name".into(), "phone".into()], None).unwrap();
        let (items, _) = drain(src);
        prop_assert_eq!(items.len(), rows.len());
        for (item, (k, n, p)) in items.iter().zip(&rows) {
            match item {
                Pulled::Record(r) => {
                    prop_assert_eq!(&r.key, k.trim());
                    prop_assert_eq!(r.fields["name"].clone().unwrap_or_default(), n.clone());
                    prop_assert_eq!(r.fields["phone"].clone().unwrap_or_default(), p.clone());
                }
                Pulled::Malformed(m) => prop_assert!(false, "{m:?}"),
            }
        }
    }
}

const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
const RNS: &str =
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
const P: &str = "http://schemas.openxmlformats.org/package/2006/";
const O: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";

fn workbook(path: &Path, sheet: &str, shared: &[String]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opt = zip::write::SimpleFileOptions::default();
    let mut put = |name: &str, body: String| {
        z.start_file(name, opt).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    };
    put(
        "[Content_Types].xml",
        format!(
            r#"<Types xmlns="{P}content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#
        ),
    );
    put(
        "_rels/.rels",
        format!(
            r#"<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    put(
        "xl/workbook.xml",
        format!(
            r#"<workbook {NS} {RNS}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        ),
    );
    put(
        "xl/_rels/workbook.xml.rels",
        format!(
            r#"<Relationships xmlns="{P}relationships"><Relationship Id="rId1" Type="{O}worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
        ),
    );
    let items: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    put(
        "xl/sharedStrings.xml",
        format!(r#"<sst {NS}>{items}</sst>"#),
    );
    put(
        "xl/worksheets/sheet1.xml",
        format!("<worksheet {NS}><sheetData>{sheet}</sheetData></worksheet>"),
    );
    z.finish().unwrap();
}

fn column(mut c: u32) -> String {
    let mut s = String::new();
    c += 1;
    while c > 0 {
        let r = (c - 1) % 26;
        s.insert(0, char::from(b'A' + r as u8));
        c = (c - 1) / 26;
    }
    s
}

/// A cell: a reference anywhere in the sheet's legal range, of any type, well formed or not.
fn cell() -> impl Strategy<Value = (u32, String)> {
    let value = prop_oneof![
        "[a-z张王0-9 ]{0,8}".prop_map(|t| format!(r#" t="inlineStr"><is><t>{t}</t></is>"#)),
        (0u32..4).prop_map(|i| format!(r#" t="s"><v>{i}</v>"#)),
        any::<f64>().prop_map(|f| format!("><v>{f}</v>")),
        "[0-9.eE+-]{0,8}".prop_map(|v| format!("><v>{v}</v>")),
        Just(r#" t="e"><v>#N/A</v>"#.to_owned()),
        Just(r#" t="b"><v>1</v>"#.to_owned()),
        Just(r#" s="1">"#.to_owned()),
    ];
    (prop_oneof![0u32..4, 0u32..16_384], value)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases().min(128)))]

    #[test]
    fn any_sheet_is_read_row_by_row_and_every_row_accounted_for(
        rows in proptest::collection::vec(
            (prop_oneof![2u32..20, 2u32..1_048_577], proptest::collection::vec(cell(), 0..5)),
            0..12,
        )
    ) {
        let mut rows = rows;
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        let mut sheet = String::from(r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>"#);
        for (r, cells) in &rows {
            let mut cells = cells.clone();
            cells.sort_by_key(|c| c.0);
            cells.dedup_by_key(|c| c.0);
            sheet.push_str(&format!(r#"<row r="{r}">"#));
            for (c, v) in cells {
                sheet.push_str(&format!(r#"<c r="{}{r}"{v}</c>"#, column(c)));
            }
            sheet.push_str("</row>");
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.xlsx");
        workbook(&f, &sheet, &["甲".into(), "乙".into()]);
        let cfg: ExcelConfig = toml::from_str(&format!("path = {:?}\nkey = \"id\"", f.display().to_string())).unwrap();
        let (items, report) = drain(FileSource::excel(&cfg, vec!["name".into()], None).unwrap());
        let st = &report["files"][0];
        let n = |k: &str| st[k].as_u64().unwrap();
        if st["rejected"].is_string() {
            // Unreadable as a whole (a shared string that does not exist…): one item.
            prop_assert_eq!(items.len(), 1);
            prop_assert!(matches!(items[0], Pulled::Malformed(_)));
            return Ok(());
        }
        // Rows holding at least one cell (an empty <row/> holds nothing to account for).
        let with_cells = rows.iter().filter(|(_, c)| !c.is_empty()).count() as u64;
        prop_assert_eq!(n("lines"), 1 + with_cells, "{}", st);
        prop_assert_eq!(n("lines"), n("header_lines") + n("blank_lines") + n("item_lines"));
        prop_assert_eq!(n("items"), items.len() as u64);
    }
}
