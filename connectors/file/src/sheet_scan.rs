//! What calamine would allocate for an `.ods` or `.xls` workbook, found without letting it.
//!
//! calamine reads these two formats whole: every sheet's cells, expanded into a dense range from
//! the first to the last non-empty cell, at the moment the workbook is opened. Two cells at
//! opposite corners, a cell repeated a billion times (`table:number-columns-repeated`), or an
//! `.xls` DIMENSIONS record claiming four billion rows (which calamine reserves up front, an
//! allocation failure that aborts the process) cost gigabytes from a file of a few hundred
//! bytes. These scans read the same structure as calamine, in one streaming pass that holds
//! nothing, and give the number of cells it would hold; the caller refuses the workbook when
//! that is over its cap. They stop as soon as the count passes the cap.

use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Cells calamine would hold for an `.ods` workbook (all its tables), or an error once the count
/// passes `cap` or the workbook is unreadable.
pub fn ods_cells(path: &Path, cap: u64) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the workbook: {e}"))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("not a readable workbook: {e}"))?;
    let content = zip
        .by_name("content.xml")
        .map_err(|e| format!("not a readable workbook (content.xml): {e}"))?;
    count_ods(BufReader::new(content), cap)
}

/// The dense range of one table as calamine builds it.
#[derive(Default)]
struct Table {
    /// Cells pushed while reading rows (up to each row's last non-empty cell).
    raw: u64,
    /// Rows before the current one, repeats counted.
    rows: u64,
    first_row: Option<u64>,
    end_row: u64,
    width: u64,
}

impl Table {
    fn cells(&self) -> u64 {
        let rows = self
            .first_row
            .map_or(0, |first| self.end_row.saturating_sub(first));
        self.raw.saturating_add(rows.saturating_mul(self.width))
    }
}

fn over(count: u64, cap: u64) -> String {
    format!("the workbook expands to more than max_cells ({cap}) cells (at least {count})")
}

fn repeat_attr(e: &BytesStart<'_>, name: &[u8]) -> Result<u64, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("not a readable workbook: {err}"))?;
        if a.key.as_ref() == name {
            let text = std::str::from_utf8(&a.value)
                .map_err(|_| "not a readable workbook: a repeat count is not text".to_owned())?;
            return text
                .trim()
                .parse()
                .map_err(|_| format!("not a readable workbook: repeat count {text:?}"));
        }
    }
    Ok(1)
}

fn has_attr(e: &BytesStart<'_>, names: &[&[u8]]) -> bool {
    e.attributes()
        .flatten()
        .any(|a| names.contains(&a.key.as_ref()))
}

fn count_ods(input: impl std::io::BufRead, cap: u64) -> Result<u64, String> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut skip = Vec::new();
    let mut done: u64 = 0;
    let mut table = Table::default();
    // Within a row: its repeat count, the next column, the end of its last non-empty cell.
    let mut row: Option<(u64, u64, u64)> = None;
    let unreadable = |e: quick_xml::Error| format!("not a readable workbook: {e}");
    loop {
        let event = reader.read_event_into(&mut buf).map_err(unreadable)?;
        match event {
            Event::Start(e) if e.name().as_ref() == b"table:table" => table = Table::default(),
            Event::End(e) if e.name().as_ref() == b"table:table" => {
                done = done.saturating_add(table.cells());
                table = Table::default();
            }
            Event::Start(e) if e.name().as_ref() == b"table:table-row" => {
                row = Some((repeat_attr(&e, b"table:number-rows-repeated")?, 0, 0));
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some((repeats, _, len)) = row.take() {
                    table.raw = table.raw.saturating_add(len);
                    if len > 0 {
                        table.first_row.get_or_insert(table.rows);
                        table.end_row = table.rows.saturating_add(repeats);
                        table.width = table.width.max(len);
                    }
                    table.rows = table.rows.saturating_add(repeats);
                }
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if row.is_some()
                    && matches!(
                        e.name().as_ref(),
                        b"table:table-cell" | b"table:covered-table-cell"
                    ) =>
            {
                let repeats = repeat_attr(e, b"table:number-columns-repeated")?;
                let has_content = matches!(event, Event::Start(_))
                    || has_attr(e, &[b"office:value-type", b"table:formula"]);
                if let Some((_, next, len)) = row.as_mut() {
                    let end = next.saturating_add(repeats);
                    if has_content {
                        *len = end;
                    }
                    *next = end;
                }
                if let Event::Start(e) = &event {
                    let name = e.name().as_ref().to_vec();
                    reader
                        .read_to_end_into(quick_xml::name::QName(&name), &mut skip)
                        .map_err(unreadable)?;
                    skip.clear();
                }
            }
            Event::Eof => break,
            _ => {}
        }
        let so_far = done.saturating_add(table.cells());
        if so_far > cap {
            return Err(over(so_far, cap));
        }
        buf.clear();
    }
    Ok(done)
}

/// Cells calamine would hold or reserve for an `.xls` workbook (all its sheets, values and
/// formulas), or an error once the count passes `cap` or the workbook is unreadable.
pub fn xls_cells(path: &Path, cap: u64) -> Result<u64, String> {
    let mut cfb = cfb::open(path).map_err(|e| format!("not a readable workbook: {e}"))?;
    let name = if cfb.is_stream("/Workbook") {
        "/Workbook"
    } else {
        "/Book"
    };
    let mut stream = Vec::new();
    cfb.open_stream(name)
        .and_then(|mut s| s.read_to_end(&mut stream))
        .map_err(|e| format!("not a readable workbook ({name}): {e}"))?;
    count_biff(&stream, cap)
}

/// A sheet's cells: the DIMENSIONS reservation and the range of its cell records.
#[derive(Default)]
struct Sheet {
    reserved: u64,
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl Sheet {
    fn cell(&mut self, row: u32, first_col: u32, last_col: u32) {
        let (r0, r1) = self.rows.unwrap_or((row, row));
        self.rows = Some((r0.min(row), r1.max(row)));
        let (c0, c1) = self.cols.unwrap_or((first_col, last_col));
        self.cols = Some((c0.min(first_col), c1.max(last_col)));
    }

    /// The reservation, and a dense range each for values and formulas.
    fn cells(&self) -> u64 {
        let dense = match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => {
                u64::from(r1 - r0 + 1).saturating_mul(u64::from(c1 - c0 + 1))
            }
            _ => 0,
        };
        self.reserved.saturating_add(dense.saturating_mul(2))
    }
}

fn u16_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 2)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The reservation calamine makes for a DIMENSIONS record (`cells.reserve(rows * cols)`), its
/// arithmetic as it does it.
fn dimensions(data: &[u8]) -> u64 {
    let fields = match data.len() {
        10 => (
            u16_at(data, 0),
            u16_at(data, 2),
            u16_at(data, 4),
            u16_at(data, 6),
        ),
        14 => (
            u32_at(data, 0),
            u32_at(data, 4),
            u16_at(data, 8),
            u16_at(data, 10),
        ),
        _ => return 0,
    };
    let (Some(rf), Some(rl), Some(cf), Some(cl)) = fields else {
        return 0;
    };
    let cf = if 0xFF < cf || cl < cf { 0 } else { cf };
    let (end_r, end_c) = if rl >= 1 && cl >= 1 {
        (rl - 1, cl - 1)
    } else {
        (rf, cf)
    };
    let rows = u64::from(end_r.wrapping_sub(rf).wrapping_add(1));
    let cols = u64::from(end_c.wrapping_sub(cf).wrapping_add(1));
    rows.saturating_mul(cols)
}

fn count_biff(stream: &[u8], cap: u64) -> Result<u64, String> {
    let mut done: u64 = 0;
    let mut sheet: Option<Sheet> = None;
    let mut at = 0;
    while at + 4 <= stream.len() {
        let typ = u16_at(stream, at).unwrap_or(0);
        let len = u16_at(stream, at + 2).unwrap_or(0) as usize;
        let data = stream.get(at + 4..at + 4 + len).unwrap_or(&[]);
        at += 4 + len;
        match typ {
            // BOF: a substream begins (a sheet, or the globals, which hold no cells).
            0x0809 => sheet = Some(Sheet::default()),
            // EOF
            0x000A => {
                if let Some(s) = sheet.take() {
                    done = done.saturating_add(s.cells());
                }
            }
            0x0200 => {
                if let Some(s) = sheet.as_mut() {
                    s.reserved = s.reserved.saturating_add(dimensions(data));
                }
            }
            // Number, Label, BoolErr, Rk, LabelSst, Formula, RString: row and column first.
            0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0006 | 0x00D6 => {
                if let (Some(s), Some(r), Some(c)) =
                    (sheet.as_mut(), u16_at(data, 0), u16_at(data, 2))
                {
                    s.cell(r, c, c);
                }
            }
            // MulRk: row, first column, …, last column.
            0x00BD if data.len() >= 6 => {
                if let (Some(s), Some(r), Some(c0), Some(c1)) = (
                    sheet.as_mut(),
                    u16_at(data, 0),
                    u16_at(data, 2),
                    u16_at(data, data.len() - 2),
                ) {
                    s.cell(r, c0.min(c1), c0.max(c1));
                }
            }
            _ => {}
        }
        let so_far = done.saturating_add(sheet.as_ref().map_or(0, Sheet::cells));
        if so_far > cap {
            return Err(over(so_far, cap));
        }
    }
    Ok(done.saturating_add(sheet.as_ref().map_or(0, Sheet::cells)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ods(rows: &str) -> String {
        format!(
            r#"<office:document-content><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        )
    }

    fn cell(v: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#
        )
    }

    #[test]
    fn ods_counts_the_dense_range_calamine_builds() {
        let small = ods(&format!(
            "<table:table-row>{}{}</table:table-row><table:table-row>{}<table:table-cell/></table:table-row>\
             <table:table-row table:number-rows-repeated=\"1048570\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>",
            cell("id"),
            cell("name"),
            cell("1")
        ));
        // Trailing empty rows and cells (as LibreOffice writes them) cost nothing.
        let n = count_ods(small.as_bytes(), 1000).unwrap();
        assert_eq!(n, 3 + 2 * 2);

        // Two cells at opposite corners.
        let corners = ods(&format!(
            "<table:table-row>{}</table:table-row><table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell/></table:table-row>\
             <table:table-row><table:table-cell table:number-columns-repeated=\"16383\"/>{}</table:table-row>",
            cell("a"),
            cell("b")
        ));
        let e = count_ods(corners.as_bytes(), 20_000_000).unwrap_err();
        assert!(e.contains("max_cells"), "{e}");

        // One value repeated a billion times across a row.
        let wide = ods(
            r#"<table:table-row><table:table-cell table:number-columns-repeated="1000000000" office:value-type="float" office:value="1"/></table:table-row>"#,
        );
        assert!(count_ods(wide.as_bytes(), 20_000_000).is_err());
        let bad = ods(r#"<table:table-row table:number-rows-repeated="many"></table:table-row>"#);
        assert!(count_ods(bad.as_bytes(), 10)
            .unwrap_err()
            .contains("repeat count"));
    }

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u16).to_le_bytes());
        r.extend_from_slice(data);
        r
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&[0; 10]);
        record(0x0203, &d)
    }

    #[test]
    fn xls_counts_cell_ranges_and_dimension_reservations() {
        let bof = record(0x0809, &[0; 16]);
        let eof = record(0x000A, &[]);
        let sheet = |body: Vec<Vec<u8>>| -> Vec<u8> {
            let mut s = bof.clone();
            for r in body {
                s.extend(r);
            }
            s.extend(eof.clone());
            s
        };
        let small = sheet(vec![number(0, 0), number(0, 1), number(9, 1)]);
        assert_eq!(count_biff(&small, 1000).unwrap(), 10 * 2 * 2);
        let corners = sheet(vec![number(0, 0), number(65535, 255)]);
        assert!(count_biff(&corners, 20_000_000)
            .unwrap_err()
            .contains("max_cells"));
        // A DIMENSIONS record that lies: four billion rows reserved.
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend_from_slice(&u32::MAX.to_le_bytes());
        dims.extend_from_slice(&[0, 0, 0xFF, 0, 0, 0]);
        let liar = sheet(vec![record(0x0200, &dims), number(0, 0)]);
        assert!(count_biff(&liar, 20_000_000).is_err());
        // Truncated records end the scan, they do not panic.
        assert!(count_biff(&small[..small.len() - 3], 1000).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_scan_without_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = count_biff(&bytes, 1_000_000);
            let _ = count_ods(bytes.as_slice(), 1_000_000);
        }

        #[test]
        fn any_ods_repeats_scan_without_a_panic(
            cells in proptest::collection::vec((0u64..u64::MAX, proptest::bool::ANY, 0u64..u64::MAX), 0..8)
        ) {
            let row: String = cells
                .iter()
                .map(|(n, full, r)| if *full {
                    format!(r#"<table:table-row table:number-rows-repeated="{r}"><table:table-cell table:number-columns-repeated="{n}" office:value-type="float"/></table:table-row>"#)
                } else {
                    format!(r#"<table:table-row><table:table-cell table:number-columns-repeated="{n}"/></table:table-row>"#)
                })
                .collect();
            let _ = count_ods(ods(&row).as_bytes(), u64::MAX);
        }
    }
}
