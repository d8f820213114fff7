//! `.ods` and `.xls` workbooks, which calamine reads whole: a sheet is read, and a workbook that
//! would expand to more cells than the caps allow (cells at opposite corners, a value repeated a
//! billion times, an `.xls` DIMENSIONS record claiming four billion rows, which calamine
//! reserves up front) is quarantined whole with the reason, before calamine opens it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;

use tombolo_connector_file::{ExcelConfig, FileSource};
use tombolo_core::{Pulled, Source};

fn excel(path: &Path) -> ExcelConfig {
    toml::from_str(&format!(
        "path = {:?}\nkey = \"id\"",
        path.display().to_string()
    ))
    .unwrap()
}

/// Keys read and `(key, reason)` quarantined, from a whole source.
async fn read(path: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let mut src = FileSource::excel(&excel(path), vec!["name".into()], None).unwrap();
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    while let Some(b) = src.next_batch().await.unwrap() {
        for i in b.items {
            match i {
                Pulled::Record(r) => keys.push(r.key),
                Pulled::Malformed(m) => bad.push((m.key, m.reason)),
            }
        }
    }
    (keys, bad)
}

/// A one-table `.ods`; `rows` is the table's body.
fn ods(path: &Path, rows: &str) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    z.start_file("META-INF/manifest.xml", deflated).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#).unwrap();
    z.start_file("content.xml", deflated).unwrap();
    write!(
        z,
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    )
    .unwrap();
    z.finish().unwrap();
}

fn text(v: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#
    )
}

fn row(cells: &[&str]) -> String {
    let cells: String = cells.iter().map(|c| text(c)).collect();
    format!("<table:table-row>{cells}</table:table-row>")
}

#[tokio::test]
async fn an_ods_sheet_is_read_and_trailing_empty_repeats_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("people.ods");
    ods(
        &f,
        &format!(
            "{}{}{}<table:table-row table:number-rows-repeated=\"1048573\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>",
            row(&["id", "name"]),
            row(&["1", "张三"]),
            row(&["2", "李四"])
        ),
    );
    let (keys, bad) = read(&f).await;
    assert_eq!(keys, ["1", "2"]);
    assert!(bad.is_empty(), "{bad:?}");
}

#[tokio::test]
async fn h1_an_ods_with_cells_at_opposite_corners_is_quarantined_whole() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("corners.ods");
    ods(
        &f,
        &format!(
            "{}<table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell/></table:table-row>\
             <table:table-row><table:table-cell table:number-columns-repeated=\"16383\"/>{}</table:table-row>",
            row(&["id", "name"]),
            text("x")
        ),
    );
    assert!(std::fs::metadata(&f).unwrap().len() < 4096);
    let (keys, bad) = read(&f).await;
    assert!(keys.is_empty());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].1.contains("max_cells"), "{bad:?}");
}

#[tokio::test]
async fn h1_an_ods_value_repeated_a_billion_times_is_quarantined_whole() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("repeat.ods");
    ods(
        &f,
        &format!(
            r#"{}<table:table-row><table:table-cell table:number-columns-repeated="1000000000" office:value-type="float" office:value="1"/></table:table-row>"#,
            row(&["id", "name"])
        ),
    );
    let (keys, bad) = read(&f).await;
    assert!(keys.is_empty());
    assert!(bad[0].1.contains("max_cells"), "{bad:?}");
}

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
    r.extend_from_slice(data);
    r
}

fn bof(dt: u16) -> Vec<u8> {
    let mut d = 0x0600u16.to_le_bytes().to_vec();
    d.extend_from_slice(&dt.to_le_bytes());
    d.extend_from_slice(&[0; 12]);
    record(0x0809, &d)
}

/// A BIFF8 LABEL record (UTF-16 text).
fn label(row: u16, col: u16, v: &str) -> Vec<u8> {
    let units: Vec<u16> = v.encode_utf16().collect();
    let mut d = row.to_le_bytes().to_vec();
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&u16::try_from(units.len()).unwrap().to_le_bytes());
    d.push(1);
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    record(0x0204, &d)
}

fn number(row: u16, col: u16, v: f64) -> Vec<u8> {
    let mut d = row.to_le_bytes().to_vec();
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&v.to_le_bytes());
    record(0x0203, &d)
}

/// A one-sheet BIFF8 `.xls`: a globals substream naming the sheet, then the sheet's records.
fn xls(path: &Path, sheet: &[Vec<u8>]) {
    let eof = record(0x000A, &[]);
    let name = b"S";
    // Record header, stream position, state and type, length and flags, the name.
    let boundsheet_len = 4 + 4 + 2 + 2 + name.len();
    let globals_len = bof(5).len() + boundsheet_len + eof.len();
    let mut bs = u32::try_from(globals_len).unwrap().to_le_bytes().to_vec();
    bs.extend_from_slice(&[0, 0, 1, 0]);
    bs.extend_from_slice(name);
    let mut stream = bof(5);
    stream.extend(record(0x0085, &bs));
    stream.extend(&eof);
    assert_eq!(stream.len(), globals_len);
    stream.extend(bof(0x10));
    for r in sheet {
        stream.extend(r);
    }
    stream.extend(&eof);
    workbook_stream(path, &stream);
}

/// A compound file holding `stream` as its `Workbook` stream.
fn workbook_stream(path: &Path, stream: &[u8]) {
    let mut cfb = cfb::create(path).unwrap();
    cfb.create_stream("/Workbook")
        .unwrap()
        .write_all(stream)
        .unwrap();
    cfb.flush().unwrap();
}

#[tokio::test]
async fn an_xls_sheet_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("people.xls");
    xls(
        &f,
        &[
            label(0, 0, "id"),
            label(0, 1, "name"),
            number(1, 0, 1.0),
            label(1, 1, "张三"),
            number(2, 0, 2.0),
            label(2, 1, "李四"),
        ],
    );
    let (keys, bad) = read(&f).await;
    assert_eq!(keys, ["1", "2"]);
    assert!(bad.is_empty(), "{bad:?}");
}

#[tokio::test]
async fn h1_an_xls_with_cells_at_opposite_corners_is_quarantined_whole() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("corners.xls");
    xls(
        &f,
        &[
            label(0, 0, "id"),
            label(0, 1, "name"),
            number(65535, 255, 1.0),
        ],
    );
    let (keys, bad) = read(&f).await;
    assert!(keys.is_empty());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].1.contains("max_cells"), "{bad:?}");
}

#[tokio::test]
async fn h1_an_xls_dimensions_record_claiming_four_billion_rows_is_quarantined_whole() {
    // calamine reserves rows × columns from this record before reading a cell: without the
    // scan the allocation fails and the process aborts.
    let mut dims = 0u32.to_le_bytes().to_vec();
    dims.extend_from_slice(&u32::MAX.to_le_bytes());
    dims.extend_from_slice(&[0, 0, 0xFF, 0, 0, 0]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("liar.xls");
    xls(
        &f,
        &[
            record(0x0200, &dims),
            label(0, 0, "id"),
            label(0, 1, "name"),
        ],
    );
    let (keys, bad) = read(&f).await;
    assert!(keys.is_empty());
    assert!(bad[0].1.contains("max_cells"), "{bad:?}");
}

#[tokio::test]
async fn a_malformed_xls_is_quarantined_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("short.xls");
    // A BOUNDSHEET record too short for calamine's unchecked indexing.
    let mut stream = bof(5);
    stream.extend(record(0x0085, &[0, 0]));
    stream.extend(record(0x000A, &[]));
    workbook_stream(&f, &stream);
    let (keys, bad) = read(&f).await;
    assert!(keys.is_empty());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].1.contains("not a readable workbook"), "{bad:?}");
}
