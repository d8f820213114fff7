use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How pages follow each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// Numbered pages of a fixed size.
    Page {
        #[serde(default = "one")]
        start: u64,
        size: u64,
    },
    /// Each answer carries the cursor of the next page at `next_pointer`; no cursor ends.
    Cursor { next_pointer: String },
}

fn one() -> u64 {
    1
}

/// Credentials, always taken from environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Environment variable holding a bearer token.
    #[serde(default)]
    pub bearer_env: Option<String>,
    /// Extra headers; values may contain `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_records() -> String {
    "/data".into()
}

fn default_timeout() -> u64 {
    30
}

fn default_retries() -> u32 {
    5
}

fn default_backoff() -> u64 {
    500
}

fn default_max_pages() -> u64 {
    100_000
}

fn default_max_body() -> u64 {
    64 << 20
}

/// `kind = "http"`: a paged JSON API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// URL template, e.g. `https://api.example/residents?page={page}&size={size}`.
    pub url: String,
    pub pagination: Pagination,
    /// JSON pointer to the array of records in an answer. Default `/data`.
    #[serde(default = "default_records")]
    pub records_pointer: String,
    /// JSON pointer to the total number of records, when the API reports it.
    #[serde(default)]
    pub total_pointer: Option<String>,
    /// Field (or JSON pointer) holding the record key.
    pub key: String,
    /// Field holding the record's modification time; its largest value is offered as `{since}`
    /// on the next run.
    #[serde(default)]
    pub updated_field: Option<String>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First retry delay; doubled on each further retry.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    /// At most this many requests per second.
    #[serde(default)]
    pub rate_limit_per_sec: Option<f64>,
    /// The most pages one run reads; an API that never stops paging (one that ignores `page`,
    /// or repeats a cursor, is caught sooner) fails the source instead of looping. Default
    /// 100,000.
    #[serde(default = "default_max_pages")]
    pub max_pages: u64,
    /// The largest answer read, in bytes; a larger one is quarantined as a page without being
    /// held in memory. Default 64 MiB.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Every run reads the whole listing (`{since}` stays empty) and the records it no longer
    /// lists were deleted at the source and are withdrawn. Default false.
    #[serde(default)]
    pub full_listing: bool,
}
