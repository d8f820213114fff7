use serde::{Deserialize, Serialize};

fn default_batch() -> usize {
    1000
}

fn default_reread() -> u64 {
    300
}

fn default_statement_timeout() -> u64 {
    300
}

fn default_max_null_keys() -> usize {
    1000
}

/// `kind = "sql"`: a table or query in PostgreSQL or MySQL/MariaDB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://…`, `mysql://…` or `mariadb://…`. In the config file, `${VAR}` is replaced
    /// by the environment variable VAR when the config is loaded, so passwords stay out of it.
    pub url: String,
    /// Table to read (`schema.table` allowed). Exactly one of `table` and `query`.
    #[serde(default)]
    pub table: Option<String>,
    /// A SELECT to read from instead of a table; it is wrapped as a subquery.
    #[serde(default)]
    pub query: Option<String>,
    /// Primary key column: the record key, and the tie-breaker within one watermark value.
    pub key: String,
    /// Update-timestamp (or increasing version) column for incremental pulls. Without it every
    /// run reads the whole table.
    #[serde(default)]
    pub watermark: Option<String>,
    /// Rows per page (and per checkpoint).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Each run first reads again the rows whose watermark lies within this window before the
    /// last one stored (seconds for a date/time watermark, units for a numeric one): a row
    /// whose transaction committed late, stamped with an earlier time than rows already read,
    /// is still found. The store drops the re-read rows that did not change. Default 300; 0
    /// turns it off.
    #[serde(default = "default_reread")]
    pub reread_window: u64,
    /// The longest a query of this source may run (set in the database session, and enforced
    /// by the hub too); a stalled source then fails as transient instead of hanging the run.
    /// Default 300 seconds.
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout_secs: u64,
    /// Rows with a NULL key are quarantined, at most this many per run (default 1000).
    #[serde(default = "default_max_null_keys")]
    pub max_null_keys: usize,
    /// After each run, read every key of the table (keys only) so that rows deleted at the
    /// source are withdrawn from the hub. Default false.
    #[serde(default)]
    pub delete_scan: bool,
}
