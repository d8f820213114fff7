//! What a file reader yields: rows one at a time, each its cells or the reason it is unreadable,
//! and the counts that reconcile the rows with the file's own units (physical lines, sheet rows).

use serde::Serialize;

/// One data row: its 1-based line (or sheet row) number and its cells or a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Result<Vec<Option<String>>, String>,
    /// A short excerpt of the raw row, for quarantine.
    pub excerpt: String,
}

/// How one file was read, in its own units. For a CSV file
/// `lines = header_lines + blank_lines + item_lines` always holds (each physical line is the
/// header, blank, or part of exactly one row, accepted or quarantined); for a sheet
/// `lines` counts the sheet rows present in the file likewise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    pub path: String,
    /// `utf-8` or `gb18030` for CSV (the detected one when `encoding = "auto"`), `xlsx`,
    /// `xls` or `ods` for workbooks.
    pub encoding: String,
    pub bytes: u64,
    /// Physical lines (CSV; a last line without a line end counts) or sheet rows holding at
    /// least one cell.
    pub lines: u64,
    pub header_lines: u64,
    /// Lines or sheet rows with nothing in them, skipped.
    pub blank_lines: u64,
    /// Lines or sheet rows that make up the rows yielded (a row with a quoted line break spans
    /// several lines when `multiline = true`).
    pub item_lines: u64,
    /// Rows yielded (records and quarantined rows).
    pub items: u64,
    /// Rows skipped because an earlier run had already stored them (resuming mid-file).
    pub resumed_past: u64,
    /// Set when the whole file was quarantined instead of read (over a cap, not a workbook…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// A reader that yields a file's data rows one by one, holding at most one row in memory.
pub trait RowStream: Send + std::fmt::Debug {
    /// Column headers (read before the first row).
    fn headers(&self) -> &[String];
    /// The next row, `None` at the end of the file.
    fn next_row(&mut self) -> Option<Row>;
    /// Counts so far.
    fn stats(&self) -> &FileStats;
}

/// The first characters of a text, for excerpts.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).collect::<String>() + "…"
    }
}
