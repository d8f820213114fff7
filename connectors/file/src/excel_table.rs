//! Excel (and ODS) sheets through calamine.
//!
//! `.xlsx`/`.xlsm` are streamed: before anything is parsed, the workbook's zip directory and then
//! a counted inflation of every part are checked against `max_inflated_bytes` (a zip bomb or a
//! lying directory is rejected without holding what it inflates to); the sheet's cells are then
//! counted against `max_cells` in one streaming pass, and read in a second, row by row, on a
//! thread of their own that hands rows over a bounded channel. Only the header's columns are
//! kept, so a cell at `XFD1048576` costs one row, not a dense range of 17 billion cells. A file
//! over a cap is quarantined whole with the reason, and the run goes on.
//!
//! `.xls` and `.ods` have no streaming reader in calamine: they are read whole, after the file
//! size (and for `.ods` the inflated size) is checked and a streaming scan of their structure
//! ([`crate::sheet_scan`]) has counted the cells calamine would expand them to.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use calamine::{open_workbook, open_workbook_auto, Data, DataRef, Reader, Xlsx};

use crate::table::{excerpt, FileStats, Row, RowStream};

/// Caps of the Excel reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExcelLimits {
    pub max_inflated_bytes: u64,
    pub max_cells: u64,
    pub max_record_bytes: usize,
}

/// Excel's serial day number (1900 system, with its phantom 29 February 1900) as text.
fn serial_to_text(serial: f64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    let days = serial.floor() as i64;
    let secs = ((serial - serial.floor()) * 86_400.0).round() as i64;
    let Some(date) =
        epoch.checked_add_signed(chrono::Duration::days(days.clamp(-1 << 30, 1 << 30)))
    else {
        return serial.to_string();
    };
    if secs == 0 {
        date.format("%Y-%m-%d").to_string()
    } else {
        (date.and_hms_opt(0, 0, 0).unwrap_or_default() + chrono::Duration::seconds(secs))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// Renders a cell as text the way a person reads it: whole numbers without `.0`, dates as
/// `YYYY-MM-DD` (with the time when it is not midnight). Text longer than `cap` is an error,
/// found before the text is copied.
fn render_ref(cell: &DataRef<'_>, cap: usize) -> Result<Option<String>, String> {
    let text = |s: &str| {
        if s.len() > cap {
            Err(format!(
                "cell of {} bytes is over max_record_bytes ({cap})",
                s.len()
            ))
        } else {
            Ok(Some(s.to_owned()).filter(|s| !s.trim().is_empty()))
        }
    };
    match cell {
        DataRef::Empty => Ok(None),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Int(i) => Ok(Some(i.to_string())),
        DataRef::Float(f) => Ok(Some(float_text(*f))),
        DataRef::Bool(b) => Ok(Some(b.to_string())),
        DataRef::DateTime(d) => Ok(Some(serial_to_text(d.as_f64()))),
        DataRef::Error(e) => Err(format!("cell error {e}")),
    }
}

fn render(cell: &Data) -> Result<Option<String>, String> {
    Ok(match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(float_text(*f)),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(d) => Some(serial_to_text(d.as_f64())),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => return Err(format!("cell error {e}")),
    })
}

/// Checks a zip container: the sizes its directory declares, then a counted inflation of every
/// part (stopping at the cap), so neither a bomb nor a directory that lies is inflated in memory.
fn check_zip(path: &Path, cap: u64) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("not a readable workbook: {e}"))?;
    let declared: u64 = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().map(|f| f.size()))
        .fold(0u64, u64::saturating_add);
    if declared > cap {
        return Err(format!(
            "workbook inflates to {declared} bytes (zip directory), over max_inflated_bytes ({cap})"
        ));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let part = zip
            .by_index(i)
            .map_err(|e| format!("not a readable workbook: {e}"))?;
        let room = cap - total;
        let n = std::io::copy(&mut part.take(room + 1), &mut std::io::sink())
            .map_err(|e| format!("not a readable workbook: {e}"))?;
        total += n;
        if total > cap {
            return Err(format!(
                "workbook inflates to more than max_inflated_bytes ({cap}) although its zip \
                 directory declares {declared} bytes"
            ));
        }
    }
    Ok(())
}

/// A file's extension, lower case.
fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|x| x.to_str())
        .map(str::to_lowercase)
        .unwrap_or_default()
}

/// The sheet to read: the one named, or the first.
fn sheet_name(sheet: Option<&str>, names: &[String]) -> Result<String, String> {
    match sheet {
        Some(s) => Ok(s.to_owned()),
        None => names.first().cloned().ok_or_else(|| "no sheets".to_owned()),
    }
}

enum Msg {
    Header(Vec<String>),
    Row(Row),
    Stats(FileStats),
    Fatal(String),
}

/// A sheet read on a thread of its own, one row at a time.
pub struct SheetRows {
    headers: Vec<String>,
    rx: Receiver<Msg>,
    stats: FileStats,
    done: bool,
}

impl std::fmt::Debug for SheetRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetRows")
            .field("headers", &self.headers)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl RowStream for SheetRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Option<Row> {
        while !self.done {
            match self.rx.recv() {
                Ok(Msg::Row(r)) => return Some(r),
                Ok(Msg::Stats(s)) => self.stats = s,
                Ok(Msg::Header(_)) => {}
                Ok(Msg::Fatal(reason)) => {
                    self.done = true;
                    // The reader's last counts, then this failure as one more item.
                    if let Ok(Msg::Stats(s)) = self.rx.recv() {
                        self.stats = s;
                    }
                    self.stats.items += 1;
                    self.stats.item_lines += 1;
                    self.stats.lines += 1;
                    return Some(Row {
                        line: self.stats.lines,
                        cells: Err(reason),
                        excerpt: String::new(),
                    });
                }
                Err(_) => self.done = true,
            }
        }
        None
    }

    fn stats(&self) -> &FileStats {
        &self.stats
    }
}

/// The reason for a workbook whose reader panicked.
fn reader_failed(panic: &(dyn std::any::Any + Send)) -> String {
    format!(
        "not a readable workbook (the reader failed: {})",
        panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("panic")
    )
}

/// Opens a sheet. `Err`: the whole file is unreadable or over a cap (quarantined whole).
pub fn open(
    path: &Path,
    sheet: Option<&str>,
    header_row: usize,
    limits: ExcelLimits,
    stats: FileStats,
) -> Result<Box<dyn RowStream>, String> {
    let ext = extension(path);
    if ext != "xlsx" && ext != "xlsm" {
        // calamine's `.xls` and `.ods` readers index records they have not checked: a panic
        // fails this file, never the run.
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            whole(path, sheet, header_row, limits, stats)
        }))
        .unwrap_or_else(|panic| Err(reader_failed(&*panic)));
    }
    let (tx, rx) = sync_channel(256);
    let owned: PathBuf = path.to_path_buf();
    let sheet = sheet.map(str::to_owned);
    std::thread::Builder::new()
        .name("tombolo-xlsx".into())
        .spawn(move || {
            let mut stats = stats;
            stats.encoding = "xlsx".into();
            // A reader that panics on a malformed workbook (calamine does, on a shared-string
            // index out of range: found by the fuzzer) fails this file, never the run.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                stream(
                    &owned,
                    sheet.as_deref(),
                    header_row,
                    limits,
                    &tx,
                    &mut stats,
                )
            }));
            let failure = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(panic) => Some(reader_failed(&*panic)),
            };
            if let Some(e) = failure {
                let _ = tx.send(Msg::Fatal(e));
            }
            let _ = tx.send(Msg::Stats(stats));
        })
        .map_err(|e| format!("cannot start the sheet reader: {e}"))?;
    match rx.recv() {
        Ok(Msg::Header(headers)) => Ok(Box::new(SheetRows {
            headers,
            rx,
            stats: FileStats::default(),
            done: false,
        })),
        Ok(Msg::Fatal(reason)) => Err(reason),
        _ => Err("the sheet reader stopped before the header".into()),
    }
}

fn stream(
    path: &Path,
    sheet: Option<&str>,
    header_row: usize,
    limits: ExcelLimits,
    tx: &SyncSender<Msg>,
    stats: &mut FileStats,
) -> Result<(), String> {
    check_zip(path, limits.max_inflated_bytes)?;
    let mut wb: Xlsx<_> =
        open_workbook(path).map_err(|e| format!("not a readable workbook: {e}"))?;
    let name = sheet_name(sheet, &wb.sheet_names())?;
    let sheet_err = |e: calamine::XlsxError| format!("sheet {name:?}: {e}");
    // Pass 1: count the cells, so a sheet over the cap is rejected before any row is stored.
    {
        let mut cells = wb.worksheet_cells_reader(&name).map_err(sheet_err)?;
        let mut n = 0u64;
        while cells.next_cell().map_err(sheet_err)?.is_some() {
            n += 1;
            if n > limits.max_cells {
                return Err(format!(
                    "sheet {name:?} has more than max_cells ({}) cells",
                    limits.max_cells
                ));
            }
        }
    }
    // Pass 2: rows.
    let mut cells = wb.worksheet_cells_reader(&name).map_err(sheet_err)?;
    let header_abs = header_row.saturating_sub(1) as u32;
    let mut headers: Option<Vec<String>> = None;
    let mut row: Option<RowBuf> = None;
    let cap = limits.max_record_bytes;
    loop {
        let cell = cells.next_cell().map_err(sheet_err)?;
        let at = cell.as_ref().map(|c| c.get_position().0);
        if row.as_ref().map(|r| r.index) != at || at.is_none() {
            if let Some(done) = row.take() {
                emit(done, cap, header_abs, &mut headers, tx, stats)?;
            }
            if let Some(index) = at {
                row = Some(RowBuf::new(index, headers.as_ref().map_or(0, Vec::len)));
            }
        }
        let Some(cell) = cell else { break };
        let (_, col) = cell.get_position();
        let Some(buf) = row.as_mut() else { continue };
        let is_header = buf.index == header_abs;
        let value = render_ref(cell.get_value(), cap);
        buf.put(col as usize, value, is_header, &headers);
    }
    match headers {
        Some(_) => Ok(()),
        None => Err(format!("sheet {name:?} has no header row {header_row}")),
    }
}

/// One sheet row being assembled: the header's columns only.
struct RowBuf {
    index: u32,
    cells: Vec<Option<String>>,
    header: Vec<(usize, String)>,
    raw: Vec<String>,
    error: Option<String>,
    any: bool,
    bytes: usize,
}

impl RowBuf {
    fn new(index: u32, width: usize) -> Self {
        Self {
            index,
            cells: vec![None; width],
            header: Vec::new(),
            raw: Vec::new(),
            error: None,
            any: false,
            bytes: 0,
        }
    }

    fn put(
        &mut self,
        col: usize,
        value: Result<Option<String>, String>,
        is_header: bool,
        headers: &Option<Vec<String>>,
    ) {
        let name = || {
            headers
                .as_ref()
                .and_then(|h| h.get(col).cloned())
                .unwrap_or_default()
        };
        match value {
            Ok(None) => {}
            Ok(Some(text)) => {
                self.any = true;
                self.bytes += text.len();
                if is_header {
                    self.header.push((col, text.trim().to_owned()));
                } else if col < self.cells.len() {
                    if self.raw.len() < 8 {
                        self.raw.push(excerpt(&text));
                    }
                    self.cells[col] = Some(text);
                }
            }
            Err(e) => {
                self.any = true;
                if self.error.is_none() {
                    self.error = Some(format!("column {:?}: {e}", name()));
                }
            }
        }
    }
}

fn emit(
    row: RowBuf,
    cap: usize,
    header_abs: u32,
    headers: &mut Option<Vec<String>>,
    tx: &SyncSender<Msg>,
    stats: &mut FileStats,
) -> Result<(), String> {
    stats.lines += 1;
    if row.index < header_abs || (row.index == header_abs && headers.is_some()) {
        stats.header_lines += 1;
        return Ok(());
    }
    if row.index == header_abs {
        stats.header_lines += 1;
        let width = row.header.iter().map(|(c, _)| c + 1).max().unwrap_or(0);
        let mut h = vec![String::new(); width];
        for (c, name) in row.header {
            h[c] = name;
        }
        *headers = Some(h.clone());
        return tx
            .send(Msg::Header(h))
            .map_err(|_| "the reader of the sheet went away".to_owned());
    }
    if headers.is_none() {
        return Err(format!("no header row {}", header_abs + 1));
    }
    if !row.any {
        stats.blank_lines += 1;
        return Ok(());
    }
    stats.items += 1;
    stats.item_lines += 1;
    let cells = match row.error {
        Some(e) => Err(e),
        None if row.bytes > cap => Err(format!(
            "row of {} bytes is over max_record_bytes ({cap})",
            row.bytes
        )),
        None => Ok(row.cells),
    };
    tx.send(Msg::Row(Row {
        line: u64::from(row.index) + 1,
        cells,
        excerpt: excerpt(&row.raw.join(",")),
    }))
    .map_err(|_| "the reader of the sheet went away".to_owned())
}

/// Memory a cell of a workbook read whole costs (calamine's value and formula, this reader's
/// copy), for the cap derived from `max_inflated_bytes`.
const WHOLE_CELL_BYTES: u64 = 128;

/// `.xls`/`.ods`: the sheet read whole (calamine has no streaming reader for them), after the
/// file's size is checked and the cells calamine would expand it to are counted
/// ([`crate::sheet_scan`]) against `max_cells` and `max_inflated_bytes`.
fn whole(
    path: &Path,
    sheet: Option<&str>,
    header_row: usize,
    limits: ExcelLimits,
    mut stats: FileStats,
) -> Result<Box<dyn RowStream>, String> {
    let ext = extension(path);
    stats.encoding = ext.clone();
    if stats.bytes > limits.max_inflated_bytes {
        return Err(format!(
            "workbook of {} bytes is over max_inflated_bytes ({})",
            stats.bytes, limits.max_inflated_bytes
        ));
    }
    // What calamine will hold: the cells of every sheet in a dense range, this reader's rows
    // beside them, about `WHOLE_CELL_BYTES` a cell; both caps apply.
    let cap = limits
        .max_cells
        .min(limits.max_inflated_bytes / WHOLE_CELL_BYTES);
    if ext == "ods" {
        check_zip(path, limits.max_inflated_bytes)?;
        crate::sheet_scan::ods_cells(path, cap)?;
    } else if ext == "xls" {
        crate::sheet_scan::xls_cells(path, cap)?;
    }
    let mut wb = open_workbook_auto(path).map_err(|e| format!("not a readable workbook: {e}"))?;
    let name = sheet_name(sheet, &wb.sheet_names())?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| format!("sheet {name:?}: {e}"))?;
    let (start_row, _) = range.start().unwrap_or((0, 0));
    let header_abs = header_row.saturating_sub(1) as u32;
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let abs = start_row + i as u32;
        stats.lines += 1;
        if abs <= header_abs {
            stats.header_lines += 1;
            if abs == header_abs {
                headers = cells
                    .iter()
                    .map(|c| {
                        render(c)
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                            .trim()
                            .to_owned()
                    })
                    .collect();
            }
            continue;
        }
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            stats.blank_lines += 1;
            continue;
        }
        stats.items += 1;
        stats.item_lines += 1;
        let raw: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        let rendered: Result<Vec<Option<String>>, String> = cells
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                render(cell).map_err(|e| {
                    format!(
                        "column {:?}: {e}",
                        headers.get(c).cloned().unwrap_or_default()
                    )
                })
            })
            .collect();
        rows.push(Row {
            line: u64::from(abs) + 1,
            cells: rendered,
            excerpt: excerpt(&raw.join(",")),
        });
    }
    if headers.is_empty() {
        return Err(format!("sheet {name:?} has no header row {header_row}"));
    }
    Ok(Box::new(Whole {
        headers,
        rows: rows.into_iter(),
        stats,
    }))
}

#[derive(Debug)]
struct Whole {
    headers: Vec<String>,
    rows: std::vec::IntoIter<Row>,
    stats: FileStats,
}

impl RowStream for Whole {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_row(&mut self) -> Option<Row> {
        self.rows.next()
    }

    fn stats(&self) -> &FileStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_render_as_dates() {
        assert_eq!(serial_to_text(32875.0), "1990-01-02");
        assert_eq!(serial_to_text(32875.5), "1990-01-02 12:00:00");
        assert!(
            !serial_to_text(1e300).contains('-'),
            "out of range: the number"
        );
    }

    #[test]
    fn cells_render_as_text() {
        assert_eq!(render(&Data::Float(301.0)), Ok(Some("301".into())));
        assert_eq!(render(&Data::Float(1.5)), Ok(Some("1.5".into())));
        assert_eq!(render(&Data::String("  ".into())), Ok(None));
        assert!(render(&Data::Error(calamine::CellErrorType::NA)).is_err());
        assert!(render_ref(&DataRef::SharedString("0123456789"), 5)
            .unwrap_err()
            .contains("10 bytes"));
    }
}
