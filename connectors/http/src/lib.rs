//! Paged JSON HTTP APIs.
//!
//! The URL is a template: `{page}` (optionally zero-padded, `{page:04}`), `{size}`, `{offset}`,
//! `{cursor}` and `{since}` are filled in for each request. Records are found with a JSON
//! pointer; pagination ends on an empty page, a short page, the reported total, or (after the
//! first page) a 404. 5xx answers, 429 and timeouts are retried with exponential backoff; a page
//! that is not JSON is quarantined as one item and the next page is read.

mod config;
mod source;
mod template;

pub use config::{Auth, HttpConfig, Pagination};
pub use source::HttpSource;
