//! Multi-row statements: one `INSERT … VALUES (…), (…), …` per chunk of rows instead of one
//! statement per row, on either backend.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use crate::{Backend, Result};

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Real(f64),
}

/// SQLite allows 32,766 parameters per statement, PostgreSQL 65,535; stay well below both.
const MAX_PARAMS: usize = 8_000;

fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, a: &Arg) -> Query<'q, Any, AnyArguments<'q>> {
    match a {
        Arg::Text(s) => q.bind(s.clone()),
        Arg::OptText(s) => q.bind(s.clone()),
        Arg::Real(x) => q.bind(*x),
        Arg::Int(i) => q.bind(*i),
    }
}

/// `head` is `INSERT INTO t (a, b, c)`, `tail` what follows the values (`ON CONFLICT …` or
/// empty); every row has the same number of values.
pub(crate) async fn insert(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    head: &str,
    tail: &str,
    rows: &[Vec<Arg>],
) -> Result<()> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let per_chunk = (MAX_PARAMS / width.max(1)).max(1);
    for chunk in rows.chunks(per_chunk) {
        let mut sql = String::with_capacity(head.len() + tail.len() + chunk.len() * width * 5);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                // SQLite binds `?` by position; `$n` it resolves by name, which costs more
                // with every parameter of a long statement.
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for a in row {
                q = bind(q, a);
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Placeholders for an `IN (…)` list of `n` values that follow `first - 1` others.
pub(crate) fn placeholders(backend: Backend, first: usize, n: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(", "),
        Backend::Postgres => (first..first + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
