use serde::{Deserialize, Serialize};

fn default_batch() -> usize {
    1000
}

/// `kind = "sql"`: a table or query in PostgreSQL or MySQL/MariaDB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://…`, `mysql://…` or `mariadb://…`. `${VAR}` is replaced by the environment
    /// variable VAR, so passwords stay out of the config file.
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
}

/// Replaces `${VAR}` by the value of the environment variable VAR (empty when unset).
pub fn expand_env(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find('}') {
            Some(end) => {
                let var = &rest[start + 2..start + 2 + end];
                out.push_str(&std::env::var(var).unwrap_or_default());
                rest = &rest[start + 3 + end..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_environment() {
        std::env::set_var("TOMBOLO_TEST_PW", "s3cret");
        assert_eq!(
            expand_env("mysql://u:${TOMBOLO_TEST_PW}@h/db"),
            "mysql://u:s3cret@h/db"
        );
        assert_eq!(expand_env("no vars"), "no vars");
        assert_eq!(expand_env("broken ${X"), "broken ${X");
    }
}
