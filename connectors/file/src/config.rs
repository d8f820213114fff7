use std::path::PathBuf;

use serde::{Deserialize, Serialize};

fn default_batch() -> usize {
    1000
}

fn default_delimiter() -> char {
    ','
}

fn default_header_row() -> usize {
    1
}

fn default_max_record_bytes() -> usize {
    4 << 20
}

fn default_max_record_lines() -> usize {
    100
}

fn default_max_file_bytes() -> u64 {
    10 << 30
}

fn default_max_inflated_bytes() -> u64 {
    256 << 20
}

fn default_max_cells() -> u64 {
    20_000_000
}

/// Character encoding of a CSV export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 when the file has a UTF-8 BOM or is valid UTF-8, GB18030 otherwise.
    #[default]
    Auto,
    #[serde(alias = "utf8", rename = "utf-8")]
    Utf8,
    /// GB18030, a superset of GBK and GB2312 (which are read with it).
    #[serde(alias = "gbk", alias = "gb2312")]
    Gb18030,
}

/// `kind = "csv"`: a CSV export, or a directory of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// A CSV file, or a directory whose `*.csv` files are read in name order.
    pub path: PathBuf,
    /// Column holding the record's key in the source system.
    pub key: String,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Column with the record's own modification time, if any.
    #[serde(default)]
    pub updated_column: Option<String>,
    /// Rows per batch (and per checkpoint).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Quoted values may hold line breaks. Off by default: a line that ends inside a quoted
    /// field is then quarantined on its own instead of swallowing the lines after it.
    #[serde(default)]
    pub multiline: bool,
    /// With `multiline`, the most physical lines one record may span (default 100).
    #[serde(default = "default_max_record_lines")]
    pub max_record_lines: usize,
    /// The longest record (line) in bytes; a longer one is quarantined, and never held whole in
    /// memory (default 4 MiB).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// A larger file is quarantined whole instead of read (default 10 GiB).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// The export (the file, or all files of the directory together) lists every current
    /// row: records no longer in it were deleted at the source and are withdrawn.
    #[serde(default)]
    pub snapshot: bool,
    /// Read symbolic links found in a directory `path` (default false: a link in a drop
    /// folder is quarantined as a file, unread, since it may point anywhere).
    #[serde(default)]
    pub follow_symlinks: bool,
}

/// `kind = "excel"`: a sheet of an `.xlsx`/`.xls`/`.ods` workbook, or a directory of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcelConfig {
    pub path: PathBuf,
    /// Column holding the record's key.
    pub key: String,
    /// Sheet name; the first sheet when absent.
    #[serde(default)]
    pub sheet: Option<String>,
    /// 1-based row holding the column headers.
    #[serde(default = "default_header_row")]
    pub header_row: usize,
    #[serde(default)]
    pub updated_column: Option<String>,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// A workbook whose parts inflate to more is quarantined whole (checked from the zip
    /// directory, then by a counted inflation, before anything is parsed; default 256 MiB).
    #[serde(default = "default_max_inflated_bytes")]
    pub max_inflated_bytes: u64,
    /// A sheet with more cells is quarantined whole (default 20,000,000).
    #[serde(default = "default_max_cells")]
    pub max_cells: u64,
    /// The longest cell or row in bytes; a longer row is quarantined (default 4 MiB).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// The workbook (or all workbooks of the directory) lists every current row: records no
    /// longer in it are withdrawn.
    #[serde(default)]
    pub snapshot: bool,
    /// Read symbolic links found in a directory `path` (default false).
    #[serde(default)]
    pub follow_symlinks: bool,
}
