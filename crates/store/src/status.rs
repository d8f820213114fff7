//! Counters per source and the quarantine listing.

use serde::Serialize;
use tombolo_core::EntityKind;

use crate::records::BatchOutcome;
use crate::seal::{column, row};
use crate::{now, Result, Store};

/// Counts of one run of one source. `pulled == accepted + quarantined` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub pulled: u64,
    pub accepted: u64,
    pub quarantined: u64,
    #[serde(flatten)]
    pub outcome: BatchOutcome,
    /// Times the source was retried from its checkpoint after a transient failure.
    pub retries: u64,
}

/// A row of `tombolo status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    pub source: String,
    pub entity: String,
    pub last_run_at: Option<String>,
    pub last: RunCounts,
    pub total_pulled: u64,
    pub total_accepted: u64,
    pub total_quarantined: u64,
    pub checkpoint: Option<serde_json::Value>,
    pub last_error: Option<String>,
}

/// A quarantined record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QuarantineRow {
    pub id: i64,
    pub source: String,
    pub record_key: String,
    pub error_class: String,
    pub reason: String,
    pub excerpt: String,
    pub at: String,
    pub resolved_at: Option<String>,
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A row of `source_status` with its checkpoint, as read.
#[derive(sqlx::FromRow)]
struct StatusRow {
    source: String,
    entity: String,
    last_run_at: Option<String>,
    last_pulled: i64,
    last_accepted: i64,
    last_quarantined: i64,
    last_new: i64,
    last_changed: i64,
    last_unchanged: i64,
    last_deleted: i64,
    last_retries: i64,
    total_pulled: i64,
    total_accepted: i64,
    total_quarantined: i64,
    last_error: Option<String>,
    state: Option<String>,
}

impl Store {
    /// Records the end of a run of a source (successful or not): the run's counts and its
    /// error. The totals are not touched here: each batch adds itself to them when it is
    /// stored ([`Store::write_batch`]).
    pub async fn finish_run(
        &self,
        source: &str,
        entity: EntityKind,
        c: RunCounts,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO source_status (source, entity, last_run_at, last_pulled, last_accepted, last_quarantined, last_new, last_changed, last_unchanged, last_deleted, last_error, last_retries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $12) \
             ON CONFLICT (source) DO UPDATE SET entity = excluded.entity, last_run_at = excluded.last_run_at, \
               last_pulled = excluded.last_pulled, last_accepted = excluded.last_accepted, last_quarantined = excluded.last_quarantined, \
               last_new = excluded.last_new, last_changed = excluded.last_changed, last_unchanged = excluded.last_unchanged, last_deleted = excluded.last_deleted, \
               last_error = excluded.last_error, last_retries = excluded.last_retries",
        )
        .bind(source)
        .bind(entity.as_str())
        .bind(now())
        .bind(i(c.pulled))
        .bind(i(c.accepted))
        .bind(i(c.quarantined))
        .bind(i(c.outcome.new))
        .bind(i(c.outcome.changed))
        .bind(i(c.outcome.unchanged))
        .bind(
            error
                .map(|e| self.seal(column::LAST_ERROR, source, e.replace('\0', "\\0")))
                .transpose()?,
        )
        .bind(i(c.outcome.deleted))
        .bind(i(c.retries))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records how a publication went: messages sent and the error that stopped it, if any.
    pub async fn record_publish(&self, published: u64, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO publish_status (id, last_run_at, published, last_error) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET last_run_at = excluded.last_run_at, published = excluded.published, \
             last_error = excluded.last_error",
        )
        .bind(now())
        .bind(i(published))
        .bind(error.map(tombolo_core::redact::urls_in))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How the last publication went: `(at, messages published, error)`.
    pub async fn publish_status(&self) -> Result<Option<(String, u64, Option<String>)>> {
        let row: Option<(String, i64, Option<String>)> = sqlx::query_as(
            "SELECT last_run_at, published, last_error FROM publish_status WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(at, n, e)| (at, u(n), e)))
    }

    /// Status of every source that has run.
    pub async fn status(&self) -> Result<Vec<SourceStatus>> {
        let rows: Vec<StatusRow> = sqlx::query_as(
            "SELECT s.source, s.entity, s.last_run_at, s.last_pulled, s.last_accepted, s.last_quarantined, s.last_new, s.last_changed, \
                    s.last_unchanged, s.total_pulled, s.total_accepted, s.total_quarantined, s.last_error, c.state, s.last_deleted, s.last_retries \
             FROM source_status s LEFT JOIN checkpoint c ON c.source = s.source ORDER BY s.source",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let last_error = r
                    .last_error
                    .map(|e| self.unseal(column::LAST_ERROR, &r.source, e))
                    .transpose()?;
                Ok(SourceStatus {
                    last: RunCounts {
                        pulled: u(r.last_pulled),
                        accepted: u(r.last_accepted),
                        quarantined: u(r.last_quarantined),
                        outcome: BatchOutcome {
                            new: u(r.last_new),
                            changed: u(r.last_changed),
                            unchanged: u(r.last_unchanged),
                            deleted: u(r.last_deleted),
                        },
                        retries: u(r.last_retries),
                    },
                    source: r.source,
                    entity: r.entity,
                    last_run_at: r.last_run_at,
                    total_pulled: u(r.total_pulled),
                    total_accepted: u(r.total_accepted),
                    total_quarantined: u(r.total_quarantined),
                    last_error,
                    checkpoint: r.state.map(|s| serde_json::from_str(&s)).transpose()?,
                })
            })
            .collect()
    }

    /// Quarantined input, newest first; `include_resolved` also lists entries a later
    /// accepted version of the record has resolved.
    pub async fn quarantine(
        &self,
        source: Option<&str>,
        include_resolved: bool,
        limit: i64,
    ) -> Result<Vec<QuarantineRow>> {
        let rows: Vec<QuarantineRow> = sqlx::query_as(
            "SELECT id, source, record_key, error_class, reason, excerpt, at, resolved_at FROM quarantine \
             WHERE (CAST($1 AS TEXT) IS NULL OR source = CAST($1 AS TEXT)) AND ($2 = 1 OR resolved_at IS NULL) ORDER BY id DESC LIMIT $3",
        )
        .bind(source.map(str::to_owned))
        .bind(i64::from(include_resolved))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                // Read sealed; opened here.
                let bound = row(&[&r.source, &r.record_key]);
                Ok(QuarantineRow {
                    reason: self.unseal(column::QUARANTINE_REASON, &bound, r.reason)?,
                    excerpt: self.unseal(column::QUARANTINE, &bound, r.excerpt)?,
                    ..r
                })
            })
            .collect()
    }
}
