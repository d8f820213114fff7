//! The SQL source: keyset pagination on `(watermark, key)`, checkpointed per page.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Column, Row, TypeInfo};
use tombolo_core::{Batch, Malformed, Pulled, RawRecord, Source, SourceError, SourceResult};

use crate::config::expand_env;
use crate::dialect::Dialect;
use crate::SqlConfig;

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
    Watermark,
    Scan,
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
}

fn transient(e: sqlx::Error) -> SourceError {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
            SourceError::Transient(e.to_string())
        }
        other => SourceError::Fatal(other.to_string()),
    }
}

fn text_pg(row: &PgRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(i)
}

fn text_my(row: &MySqlRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => Ok(v),
        Err(_) => Ok(row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())),
    }
}

impl SqlSource {
    /// Connects and prepares to read `columns` (those the mapping names) from the checkpoint.
    pub async fn open(
        config: &SqlConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Self> {
        let url = expand_env(&config.url);
        let dialect = Dialect::from_url(&url).ok_or_else(|| {
            SourceError::Fatal(format!(
                "sql url must start with postgres:// or mysql://, got {:?}",
                config.url
            ))
        })?;
        let from = match (&config.table, &config.query) {
            (Some(t), None) => dialect.ident(t),
            (None, Some(q)) => format!("({}) AS tombolo_src", q.trim().trim_end_matches(';')),
            _ => {
                return Err(SourceError::Fatal(
                    "sql source needs exactly one of `table` and `query`".into(),
                ))
            }
        };
        let pool = match dialect {
            Dialect::Postgres => Pool::Pg(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&url)
                    .await
                    .map_err(transient)?,
            ),
            Dialect::MySql => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                Pool::My(
                    MySqlPoolOptions::new()
                        .max_connections(2)
                        .connect(&url)
                        .await
                        .map_err(transient)?,
                )
            }
        };
        let cp: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::Fatal(format!("unreadable sql checkpoint: {e}")))?,
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
        };
        s.discover_types().await?;
        Ok(s)
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
            self.cp.key_type = Some(d.cast_type(&names[0]).to_owned());
            if let Some(t) = names.get(1) {
                self.cp.watermark_type = Some(d.cast_type(t).to_owned());
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
                _ => (format!("{w} IS NOT NULL"), format!("{w}, {key}"), vec![]),
            },
            _ => {
                let null_cond = wm
                    .as_deref()
                    .map(|w| format!("{w} IS NULL"))
                    .unwrap_or_else(|| "1 = 1".into());
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
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond} ORDER BY {order} LIMIT {}",
            cols.join(", "),
            self.from,
            self.batch_size
        );
        (sql, params)
    }

    async fn fetch(&self) -> SourceResult<Vec<Vec<Option<String>>>> {
        let (sql, params) = self.select();
        let width = self.columns.len() + 2;
        // The same steps for both drivers; only the pool and the text decoder differ.
        macro_rules! fetch_with {
            ($pool:expr, $text:expr) => {{
                let mut q = sqlx::query(&sql);
                for v in &params {
                    q = q.bind(v);
                }
                let rows = q.fetch_all($pool).await.map_err(transient)?;
                rows.iter()
                    .map(|r| {
                        (0..width)
                            .map(|i| $text(r, i))
                            .collect::<Result<_, _>>()
                            .map_err(transient)
                    })
                    .collect()
            }};
        }
        match &self.pool {
            Pool::Pg(p) => fetch_with!(p, text_pg),
            Pool::My(p) => fetch_with!(p, text_my),
        }
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
            let last_page = rows.len() < self.batch_size;
            let mut items = Vec::with_capacity(rows.len());
            for mut row in rows {
                let key = row[0].take();
                let wm = row[1].take();
                let Some(k) = key else {
                    items.push(Pulled::Malformed(Malformed {
                        key: format!("{}:NULL", self.key),
                        reason: format!("NULL in key column {:?}", self.key),
                        excerpt: String::new(),
                    }));
                    continue;
                };
                if phase == Phase::Scan {
                    self.cp.scan_after = Some(k.clone());
                } else {
                    self.cp.watermark = wm.clone();
                    self.cp.key = Some(k.clone());
                }
                let mut r = RawRecord::new(k);
                for (c, v) in self.columns.iter().zip(row.into_iter().skip(2)) {
                    r.fields.insert(c.clone(), v);
                }
                r.observed_at = wm;
                items.push(Pulled::Record(r));
            }
            if last_page || self.cp == before {
                // This phase is over (a page that does not advance the position also ends it,
                // so rows the keyset cannot order never loop).
                self.phase = if phase == Phase::Watermark {
                    Phase::Scan
                } else {
                    Phase::Done
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
}

impl SqlSource {
    fn checkpoint(&self) -> serde_json::Value {
        serde_json::to_value(&self.cp).unwrap_or(serde_json::Value::Null)
    }
}
