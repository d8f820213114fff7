//! The few places where PostgreSQL and MySQL/MariaDB SQL differ.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
}

impl Dialect {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Dialect::MySql)
        } else {
            None
        }
    }

    /// Quotes an identifier, each part of a dotted name separately.
    pub fn ident(self, name: &str) -> String {
        let q = match self {
            Dialect::Postgres => '"',
            Dialect::MySql => '`',
        };
        name.split('.')
            .map(|p| format!("{q}{}{q}", p.replace(q, &format!("{q}{q}"))))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `CAST(expr AS text)`.
    pub fn to_text(self, expr: &str) -> String {
        match self {
            Dialect::Postgres => format!("CAST({expr} AS TEXT)"),
            Dialect::MySql => format!("CAST({expr} AS CHAR)"),
        }
    }

    /// The type to cast a text parameter to so that it compares like a column of the database
    /// type `type_name` (as sqlx reports it).
    pub fn cast_type(self, type_name: &str) -> String {
        let t = type_name.to_ascii_uppercase();
        let fixed: &str = match self {
            Dialect::Postgres => match t.as_str() {
                "TIMESTAMPTZ" => "TIMESTAMPTZ",
                "TIMESTAMP" => "TIMESTAMP",
                "DATE" => "DATE",
                "INT2" | "INT4" | "INT8" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" => "BIGINT",
                "NUMERIC" | "FLOAT4" | "FLOAT8" => "NUMERIC",
                "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" => "TEXT",
                // Any other type (uuid, citext, inet, an enum…) compares in its own type.
                _ if is_plain_type_name(type_name) => return type_name.to_owned(),
                _ => "TEXT",
            },
            Dialect::MySql => match t.as_str() {
                "DATETIME" | "TIMESTAMP" => "DATETIME(6)",
                "DATE" => "DATE",
                t if t.contains("INT") => {
                    if t.contains("UNSIGNED") {
                        "UNSIGNED"
                    } else {
                        "SIGNED"
                    }
                }
                "DECIMAL" | "FLOAT" | "DOUBLE" => "DECIMAL(65,10)",
                _ => "CHAR",
            },
        };
        fixed.to_owned()
    }

    /// A query that moves a watermark value (`$1`, as text) back by `$2` seconds (date/time
    /// types) or units (numeric types), in the database's own arithmetic; `None` for types
    /// without an order to step back in.
    pub fn rewind_sql(self, cast: &str) -> Option<String> {
        Some(match (self, cast) {
            (Dialect::Postgres, "TIMESTAMP" | "TIMESTAMPTZ" | "DATE") => {
                format!("SELECT CAST(CAST($1 AS {cast}) - make_interval(secs => $2) AS TEXT)")
            }
            (Dialect::Postgres, "BIGINT" | "NUMERIC") => {
                format!("SELECT CAST(CAST($1 AS {cast}) - $2 AS TEXT)")
            }
            (Dialect::MySql, "DATETIME(6)" | "DATE") => {
                "SELECT CAST(DATE_SUB(CAST(? AS DATETIME(6)), INTERVAL ? SECOND) AS CHAR)".into()
            }
            (Dialect::MySql, "SIGNED" | "UNSIGNED" | "DECIMAL(65,10)") => {
                "SELECT CAST(CAST(? AS DECIMAL(65,10)) - ? AS CHAR)".into()
            }
            _ => return None,
        })
    }

    /// Positional parameter `n` (1-based).
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql => "?".to_owned(),
        }
    }
}

fn is_plain_type_name(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 63
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !t.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_casts() {
        assert_eq!(
            Dialect::Postgres.ident("public.t_rk"),
            "\"public\".\"t_rk\""
        );
        assert_eq!(Dialect::MySql.ident("we`ird"), "`we``ird`");
        assert_eq!(Dialect::MySql.cast_type("INT UNSIGNED"), "UNSIGNED");
        assert_eq!(Dialect::Postgres.cast_type("timestamp"), "TIMESTAMP");
        assert_eq!(Dialect::Postgres.cast_type("UUID"), "UUID");
        assert_eq!(Dialect::Postgres.cast_type("mood"), "mood");
        assert_eq!(Dialect::Postgres.cast_type("x\"; DROP"), "TEXT");
        assert_eq!(Dialect::Postgres.cast_type("VARCHAR"), "TEXT");
        assert_eq!(Dialect::Postgres.param(2), "$2");
    }
}
