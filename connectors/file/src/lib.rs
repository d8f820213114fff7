//! File exports: CSV and Excel.
//!
//! A file is tracked by path and SHA-256 of its content: dropping the same export again is a
//! no-op, a changed export is read again in full (the store then keeps only what changed).
//! Rows are decoded one by one, so a truncated line or a byte that is not in the declared
//! encoding sends that row to quarantine and the rest of the file goes on.

mod config;
mod csv_table;
mod excel_table;
mod source;
mod table;

pub use config::{CsvConfig, Encoding, ExcelConfig};
pub use source::FileSource;
