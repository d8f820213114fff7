//! The SQL source: keyset pagination on `(watermark, key)`, checkpointed per page.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Row, TypeInfo};
use tombolo_core::{Batch, Malformed, Pulled, RawRecord, Source, SourceError, SourceResult};

use crate::dialect::Dialect;
use crate::SqlConfig;

/// A row as fetched: key and watermark as text, then the mapped columns (or why they could not
/// be read as text).
#[derive(Debug)]
struct FetchedRow {
    key: Option<String>,
    watermark: Option<String>,
    values: Result<Vec<Option<String>>, String>,
}

#[derive(Debug, Clone)]
enum Pool {
    Pg(PgPool),
    My(MySqlPool),
}

/// Resume state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// Watermark and key of the last stored row (as text).
    #[serde(default)]
    watermark: Option<String>,
    #[serde(default)]
    key: Option<String>,
    /// Database types the text values are cast back to.
    #[serde(default)]
    watermark_type: Option<String>,
    #[serde(default)]
    key_type: Option<String>,
    /// Last key of the key-ordered scan under way (rows without watermark, or a table
    /// without a watermark column); cleared when the scan completes.
    #[serde(default)]
    scan_after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Rows with a watermark, in `(watermark, key)` order.
    Watermark,
    /// Rows without a watermark (or a table without a watermark column), in key order.
    Scan,
    /// Rows with a NULL key: quarantined (they cannot be paged or stored).
    NullKeys,
    Done,
}

/// A connector over one table or query.
#[derive(Debug)]
pub struct SqlSource {
    pool: Pool,
    dialect: Dialect,
    from: String,
    key: String,
    watermark: Option<String>,
    columns: Vec<String>,
    batch_size: usize,
    cp: Checkpoint,
    phase: Phase,
    timeout: std::time::Duration,
    max_null_keys: usize,
    /// Rows read this run, for the run report.
    rows_read: u64,
    reread_from: Option<String>,
    delete_scan: bool,
    listed: Option<usize>,
}

/// A database error as a source error: unreachable or timed out is transient, anything else
/// fatal. The sqlx error is kept as the typed cause unless its text carries a URL (a
/// connection string with a password), which only the redacted text may show.
fn transient(e: sqlx::Error) -> SourceError {
    let text = e.to_string();
    let redacted = tombolo_core::redact::urls_in(&text);
    let timed_out = matches!(&e, sqlx::Error::Database(d)
        if d.code().as_deref() == Some("57014") // PostgreSQL: query_canceled (statement_timeout)
            || d.code().as_deref() == Some("70100") // MariaDB: query interrupted (max_statement_time)
            || d.message().contains("max_statement_time")
            || d.message().contains("maximum statement execution time"));
    let error = match &e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
            SourceError::transient("database unreachable")
        }
        _ if timed_out => SourceError::transient("statement timed out"),
        _ => SourceError::fatal("database"),
    };
    if redacted == text {
        error.caused_by(e)
    } else {
        error.caused_by(redacted)
    }
}

fn text_pg(row: &PgRow, i: usize) -> Result<Option<String>, String> {
    row.try_get::<Option<String>, _>(i)
        .map_err(|e| e.to_string())
}

/// A value as text; bytes that are not UTF-8 are an error for that row, never replaced.
fn text_my(row: &MySqlRow, i: usize) -> Result<Option<String>, String> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => Ok(v),
        Err(_) => match row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map_err(|e| e.to_string())?
        {
            None => Ok(None),
            Some(b) => String::from_utf8(b).map(Some).map_err(|e| {
                format!(
                    "column {:?}: bytes that are not UTF-8 (at offset {})",
                    row.columns().get(i).map(|c| c.name()).unwrap_or_default(),
                    e.utf8_error().valid_up_to()
                )
            }),
        },
    }
}

impl SqlSource {
    /// Connects and prepares to read `columns` (those the mapping names) from the checkpoint.
    pub async fn open(
        config: &SqlConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Self> {
        let url = config.url.clone();
        let dialect = Dialect::from_url(&url).ok_or_else(|| {
            SourceError::fatal(format!(
                "sql url must start with postgres:// or mysql://, got {:?}",
                tombolo_core::redact::url(&config.url)
            ))
        })?;
        let from = match (&config.table, &config.query) {
            (Some(t), None) => dialect.ident(t),
            (None, Some(q)) => format!("({}) AS tombolo_src", q.trim().trim_end_matches(';')),
            _ => {
                return Err(SourceError::fatal(
                    "sql source needs exactly one of `table` and `query`",
                ))
            }
        };
        // Every session reads only (a mistaken `query` cannot change the source) and is bounded
        // by the statement timeout, set in the database itself.
        let secs = config.statement_timeout_secs.max(1);
        let pool = match dialect {
            Dialect::Postgres => Pool::Pg(
                PgPoolOptions::new()
                    .max_connections(2)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            conn.execute(
                                format!("SET statement_timeout = {}", secs * 1000).as_str(),
                            )
                            .await?;
                            conn.execute("SET default_transaction_read_only = on")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(transient)?,
            ),
            Dialect::MySql => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                Pool::My(
                    MySqlPoolOptions::new()
                        .max_connections(2)
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                use sqlx::Executor;
                                // MariaDB's name for it, then MySQL's.
                                let maria = format!("SET SESSION max_statement_time = {secs}");
                                if conn.execute(maria.as_str()).await.is_err() {
                                    let mysql =
                                        format!("SET SESSION max_execution_time = {}", secs * 1000);
                                    conn.execute(mysql.as_str()).await?;
                                }
                                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                                Ok(())
                            })
                        })
                        .connect(&url)
                        .await
                        .map_err(transient)?,
                )
            }
        };
        let cp: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::fatal("unreadable sql checkpoint").caused_by(e))?,
            None => Checkpoint::default(),
        };
        let mut s = Self {
            pool,
            dialect,
            from,
            key: config.key.clone(),
            watermark: config.watermark.clone(),
            columns,
            batch_size: config.batch_size.max(1),
            cp,
            phase: if config.watermark.is_some() {
                Phase::Watermark
            } else {
                Phase::Scan
            },
            timeout: std::time::Duration::from_secs(secs + 10),
            max_null_keys: config.max_null_keys,
            rows_read: 0,
            reread_from: None,
            delete_scan: config.delete_scan,
            listed: None,
        };
        s.discover_types().await?;
        s.rewind(config.reread_window).await?;
        Ok(s)
    }

    /// Moves the watermark position back by `window` (in the database, in the column's own
    /// type), so the rows of transactions that committed after later rows were read are found.
    async fn rewind(&mut self, window: u64) -> SourceResult<()> {
        let (Some(w), Some(t)) = (self.cp.watermark.clone(), self.cp.watermark_type.clone()) else {
            return Ok(());
        };
        if window == 0 || self.phase != Phase::Watermark {
            return Ok(());
        }
        let Some(sql) = self.dialect.rewind_sql(&t) else {
            tracing::debug!(watermark_type = %t, "no re-read window for this watermark type");
            return Ok(());
        };
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        let back: Option<String> = match &self.pool {
            Pool::Pg(p) => {
                sqlx::query_scalar(&sql)
                    .bind(&w)
                    .bind(window)
                    .fetch_one(p)
                    .await
            }
            Pool::My(p) => {
                sqlx::query_scalar(&sql)
                    .bind(&w)
                    .bind(window)
                    .fetch_one(p)
                    .await
            }
        }
        .map_err(transient)?;
        if let Some(back) = back {
            self.reread_from = Some(back.clone());
            self.cp.watermark = Some(back);
            self.cp.key = None;
        }
        Ok(())
    }

    /// Learns the database types of the key and watermark columns, to compare checkpoint
    /// values as the database orders them.
    async fn discover_types(&mut self) -> SourceResult<()> {
        let d = self.dialect;
        let mut cols = vec![d.ident(&self.key)];
        if let Some(w) = &self.watermark {
            cols.push(d.ident(w));
        }
        let sql = format!("SELECT {} FROM {} LIMIT 1", cols.join(", "), self.from);
        // The same steps for both drivers; only the pool type differs.
        macro_rules! type_names {
            ($pool:expr) => {
                sqlx::query(&sql)
                    .fetch_optional($pool)
                    .await
                    .map_err(transient)?
                    .map(|r| {
                        r.columns()
                            .iter()
                            .map(|c| c.type_info().name().to_owned())
                            .collect()
                    })
            };
        }
        let names: Option<Vec<String>> = match &self.pool {
            Pool::Pg(p) => type_names!(p),
            Pool::My(p) => type_names!(p),
        };
        if let Some(names) = names {
            self.cp.key_type = Some(d.cast_type(&names[0]));
            if let Some(t) = names.get(1) {
                self.cp.watermark_type = Some(d.cast_type(t));
            }
        }
        Ok(())
    }

    fn select(&self) -> (String, Vec<String>) {
        let d = self.dialect;
        let key = d.ident(&self.key);
        let wm = self.watermark.as_deref().map(|w| d.ident(w));
        let mut cols = vec![
            d.to_text(&key),
            wm.as_deref()
                .map(|w| d.to_text(w))
                .unwrap_or_else(|| "NULL".into()),
        ];
        cols.extend(self.columns.iter().map(|c| d.to_text(&d.ident(c))));
        let key_t = self.cp.key_type.as_deref().unwrap_or("TEXT");
        let (cond, order, params) = match (self.phase, &wm) {
            (Phase::NullKeys, _) => (
                format!("{key} IS NULL"),
                wm.as_deref()
                    .map(|w| w.to_owned())
                    .unwrap_or_else(|| cols[2..].first().cloned().unwrap_or("1".into())),
                vec![],
            ),
            (Phase::Watermark, Some(w)) => match (&self.cp.watermark, &self.cp.key) {
                (Some(last_w), Some(last_k)) => {
                    let wt = self.cp.watermark_type.as_deref().unwrap_or("TEXT");
                    (
                        format!(
                            "{w} > CAST({p1} AS {wt}) OR ({w} = CAST({p2} AS {wt}) AND {key} > CAST({p3} AS {key_t}))",
                            p1 = d.param(1),
                            p2 = d.param(2),
                            p3 = d.param(3)
                        ),
                        format!("{w}, {key}"),
                        vec![last_w.clone(), last_w.clone(), last_k.clone()],
                    )
                }
                (Some(from), None) => {
                    let wt = self.cp.watermark_type.as_deref().unwrap_or("TEXT");
                    (
                        format!("{w} >= CAST({} AS {wt}) AND {key} IS NOT NULL", d.param(1)),
                        format!("{w}, {key}"),
                        vec![from.clone()],
                    )
                }
                _ => (
                    format!("{w} IS NOT NULL AND {key} IS NOT NULL"),
                    format!("{w}, {key}"),
                    vec![],
                ),
            },
            _ => {
                let null_cond = wm
                    .as_deref()
                    .map(|w| format!("{w} IS NULL AND {key} IS NOT NULL"))
                    .unwrap_or_else(|| format!("{key} IS NOT NULL"));
                match &self.cp.scan_after {
                    Some(k) => (
                        format!("{null_cond} AND {key} > CAST({} AS {key_t})", d.param(1)),
                        key.clone(),
                        vec![k.clone()],
                    ),
                    None => (null_cond, key.clone(), vec![]),
                }
            }
        };
        let limit = match self.phase {
            Phase::NullKeys => self.max_null_keys,
            _ => self.batch_size,
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond} ORDER BY {order} LIMIT {limit}",
            cols.join(", "),
            self.from,
        );
        (sql, params)
    }

    /// One page: per row its values as text, or why a value could not be read (that row is
    /// quarantined; its key and watermark, when readable, still move the position on).
    async fn fetch(&self) -> SourceResult<Vec<FetchedRow>> {
        let (sql, params) = self.select();
        let width = self.columns.len() + 2;
        // The same steps for both drivers; only the pool and the text decoder differ.
        macro_rules! fetch_with {
            ($pool:expr, $text:expr) => {{
                let mut q = sqlx::query(&sql);
                for v in &params {
                    q = q.bind(v);
                }
                let rows = tokio::time::timeout(self.timeout, q.fetch_all($pool))
                    .await
                    .map_err(|_| {
                        SourceError::transient(format!(
                            "statement timed out after {} s",
                            self.timeout.as_secs()
                        ))
                    })?
                    .map_err(transient)?;
                rows.iter()
                    .map(|r| FetchedRow {
                        key: $text(r, 0).ok().flatten(),
                        watermark: $text(r, 1).ok().flatten(),
                        values: (2..width).map(|i| $text(r, i)).collect::<Result<_, _>>(),
                    })
                    .collect()
            }};
        }
        Ok(match &self.pool {
            Pool::Pg(p) => fetch_with!(p, text_pg),
            Pool::My(p) => fetch_with!(p, text_my),
        })
    }
}

#[async_trait]
impl Source for SqlSource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        loop {
            let phase = self.phase;
            if phase == Phase::Done {
                return Ok(None);
            }
            let before = self.cp.clone();
            let rows = self.fetch().await?;
            self.rows_read += rows.len() as u64;
            if phase == Phase::NullKeys {
                // One bounded page a run: rows that cannot be paged, stored or checkpointed.
                self.phase = Phase::Done;
                let items: Vec<Pulled> = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let excerpt = match &row.values {
                            Ok(v) => serde_json::to_string(v).unwrap_or_default(),
                            Err(e) => e.clone(),
                        };
                        Pulled::Malformed(Malformed {
                            key: format!(
                                "{}:NULL#{}{}",
                                self.key,
                                i + 1,
                                row.watermark.map(|w| format!("@{w}")).unwrap_or_default()
                            ),
                            reason: format!("NULL in key column {:?}", self.key),
                            excerpt: excerpt.chars().take(240).collect(),
                        })
                    })
                    .collect();
                if items.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Batch {
                    items,
                    checkpoint: Some(self.checkpoint()),
                }));
            }
            let last_page = rows.len() < self.batch_size;
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                // The keyset phases select non-NULL keys only.
                let Some(k) = row.key else { continue };
                if phase == Phase::Scan {
                    self.cp.scan_after = Some(k.clone());
                } else {
                    self.cp.watermark = row.watermark.clone();
                    self.cp.key = Some(k.clone());
                }
                match row.values {
                    Ok(values) => {
                        let mut r = RawRecord::new(k);
                        for (c, v) in self.columns.iter().zip(values) {
                            r.fields.insert(c.clone(), v);
                        }
                        r.observed_at = row.watermark;
                        items.push(Pulled::Record(r));
                    }
                    Err(reason) => items.push(Pulled::Malformed(Malformed {
                        key: k,
                        reason,
                        excerpt: String::new(),
                    })),
                }
            }
            if last_page || self.cp == before {
                // This phase is over (a page that does not advance the position also ends it,
                // so rows the keyset cannot order never loop).
                self.phase = match phase {
                    Phase::Watermark => Phase::Scan,
                    _ => Phase::NullKeys,
                };
                if phase == Phase::Scan {
                    // The key-ordered scan restarts from the beginning next run.
                    self.cp.scan_after = None;
                }
            }
            if items.is_empty() && self.cp == before {
                continue;
            }
            return Ok(Some(Batch {
                items,
                checkpoint: Some(self.checkpoint()),
            }));
        }
    }

    fn input_report(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "rows": self.rows_read,
            "reread_from": self.reread_from,
            "keys_listed": self.listed,
        }))
    }

    async fn listing(&mut self) -> SourceResult<Option<Vec<String>>> {
        if !self.delete_scan {
            return Ok(None);
        }
        let d = self.dialect;
        let key = d.ident(&self.key);
        let sql = format!(
            "SELECT {} FROM {} WHERE {key} IS NOT NULL",
            d.to_text(&key),
            self.from
        );
        let keys: Vec<String> = tokio::time::timeout(self.timeout, async {
            match &self.pool {
                Pool::Pg(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
                Pool::My(p) => sqlx::query_scalar(&sql).fetch_all(p).await,
            }
        })
        .await
        .map_err(|_| SourceError::transient("key scan timed out"))?
        .map_err(transient)?;
        self.listed = Some(keys.len());
        Ok(Some(keys))
    }
}

impl SqlSource {
    fn checkpoint(&self) -> serde_json::Value {
        serde_json::to_value(&self.cp).unwrap_or(serde_json::Value::Null)
    }
}
