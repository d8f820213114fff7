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
}
