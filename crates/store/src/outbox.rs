//! The publishing outbox: every golden record version and every relationship change to send,
//! in order.

use tombolo_core::{GoldenRecord, Relation};

use crate::seal::column;
use crate::{bulk, now, Result, Store};

/// The `entity` of the outbox entries of relationships.
pub const RELATION: &str = "relation";

/// What an outbox entry publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outboxed {
    /// A golden record version (`event`: `upsert` or `retire`).
    Golden(GoldenRecord),
    /// A relationship (`event`: `upsert`, or `end` when no record asserts it any more).
    Relation(Relation),
}

/// One pending publication.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub event: String,
    pub item: Outboxed,
}

impl Store {
    /// The oldest unpublished entries.
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            entity: String,
            event: String,
            payload: String,
            golden_id: String,
            version: i64,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, entity, event, payload, golden_id, version FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let bound = crate::seal::row(&[&r.golden_id, &r.version.to_string()]);
                let payload = self.unseal(column::OUTBOX, &bound, r.payload)?;
                let item = if r.entity == RELATION {
                    Outboxed::Relation(serde_json::from_str(&payload)?)
                } else {
                    Outboxed::Golden(serde_json::from_str(&payload)?)
                };
                Ok(OutboxEntry {
                    id: r.id,
                    event: r.event,
                    item,
                })
            })
            .collect()
    }

    /// Marks entries as delivered (after the broker acknowledged them).
    pub async fn mark_published(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        mark_published_in(&mut tx, self.backend(), ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest entry's id (0 when the outbox is empty).
    pub async fn outbox_high_water(&self) -> Result<i64> {
        let (n,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM outbox")
            .fetch_one(self.pool())
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// Number of entries not yet published.
    pub async fn outbox_backlog(&self) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Marks entries as delivered inside a transaction.
pub(crate) async fn mark_published_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    ids: &[i64],
) -> Result<()> {
    let at = now();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE outbox SET published_at = {} WHERE id IN ({})",
            bulk::placeholders(backend, 1, 1),
            bulk::placeholders(backend, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(&at);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
