//! File exports: CSV and Excel.
//!
//! A file is tracked by path and SHA-256 of its content: dropping the same export again is a
//! no-op, a changed export is read again in full (the store then keeps only what changed).
//! Files are streamed (memory is bounded by the batch and the record caps, not by the file's
//! size). Rows are decoded one by one, so a truncated line, a stray quote or a byte that is not
//! in the declared encoding sends that row to quarantine and the rest of the file goes on; a
//! file over a cap (size, inflated size, cells) is quarantined whole. Every physical line (or
//! sheet row) is accounted for in the run report ([`FileStats`]).

mod config;
mod csv_table;
mod excel_table;
mod sheet_scan;
mod source;
mod survey;
mod table;

pub use config::{CsvConfig, Encoding, ExcelConfig};
pub use source::FileSource;
pub use table::FileStats;
