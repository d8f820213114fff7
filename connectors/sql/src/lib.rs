//! Legacy SQL databases: PostgreSQL and MySQL/MariaDB.
//!
//! Rows are read in pages ordered by `(watermark, key)` and resumed with a keyset condition
//! `watermark > w OR (watermark = w AND key > k)`, so rows sharing a timestamp across a page
//! boundary are never skipped (the classic bug of `watermark > last` connectors). Only the
//! columns a mapping names are selected, each cast to text in the database. Rows whose
//! watermark is NULL cannot be ordered in time; they are re-read by key at the end of every
//! run, and the store keeps only what changed.

mod config;
mod dialect;
mod source;

pub use config::SqlConfig;
pub use source::SqlSource;
