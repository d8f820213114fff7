//! Corrections sent back to departments (migration 14): a field of a source record whose value
//! lost to another source's, with its status, and what reconciliation needs of the stored
//! records (their content hashes, to compare with what a source holds now).

use std::collections::HashMap;

use serde::Serialize;
use tombolo_core::EntityKind;
use tombolo_core::NormalizedRecord;

use crate::{now, records, Result, Store};

/// A correction as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Correction {
    pub id: i64,
    pub source: String,
    pub record_key: String,
    pub entity: String,
    pub field: String,
    pub golden_id: String,
    /// Why the value lost (`trust`, `validity`, `completeness`, `recency`, `source_order`).
    pub reason: String,
    pub winner_source: String,
    pub winner_key: String,
    /// `open`, `fixed`, `withdrawn` or `disputed`.
    pub status: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub disputed_by: Option<String>,
    pub dispute_reason: Option<String>,
}

/// A conflict found by reconciliation, to record as a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection {
    pub source: String,
    pub record_key: String,
    pub entity: EntityKind,
    pub field: String,
    pub golden_id: String,
    pub reason: String,
    pub winner: (String, String),
}

const COLUMNS: &str = "id, source, record_key, entity, field, golden_id, reason, winner_source, winner_key, status, opened_at, closed_at, disputed_by, dispute_reason";

impl Store {
    /// Every stored record of a source: key → (content hash, withdrawn).
    pub async fn stored_contents(&self, source: &str) -> Result<HashMap<String, (String, bool)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT record_key, content_hash, deleted FROM source_record WHERE source = $1",
        )
        .bind(source)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(k, h, d)| (k, (h, d != 0))).collect())
    }

    /// The content hash this store gives a record (keyed when it has a keyring), as
    /// [`Store::stored_contents`] holds them.
    pub fn content_of(&self, r: &NormalizedRecord) -> Result<String> {
        records::content_hash(self.keyring.as_deref().map(crate::Keyring::lookup), r)
    }

    /// Records conflicts as open corrections, except where one is already open or disputed for
    /// the same record and field (it is kept, with its golden record and winner brought up to
    /// date). Returns the ids of every conflict's correction, in order, and how many are new.
    pub async fn open_corrections(&self, found: &[NewCorrection]) -> Result<(Vec<i64>, usize)> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let mut ids = Vec::with_capacity(found.len());
        let mut new = 0;
        for c in found {
            let existing: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM correction WHERE source = $1 AND record_key = $2 AND field = $3 \
                 AND status IN ('open', 'disputed') ORDER BY id DESC LIMIT 1",
            )
            .bind(&c.source)
            .bind(&c.record_key)
            .bind(&c.field)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some((id,)) => {
                    sqlx::query(
                        "UPDATE correction SET golden_id = $1, reason = $2, winner_source = $3, winner_key = $4 WHERE id = $5",
                    )
                    .bind(&c.golden_id)
                    .bind(&c.reason)
                    .bind(&c.winner.0)
                    .bind(&c.winner.1)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                None => {
                    new += 1;
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO correction (source, record_key, entity, field, golden_id, reason, winner_source, winner_key, status, opened_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9) RETURNING id",
                    )
                    .bind(&c.source)
                    .bind(&c.record_key)
                    .bind(c.entity.as_str())
                    .bind(&c.field)
                    .bind(&c.golden_id)
                    .bind(&c.reason)
                    .bind(&c.winner.0)
                    .bind(&c.winner.1)
                    .bind(&at)
                    .fetch_one(&mut *tx)
                    .await?;
                    id
                }
            };
            ids.push(id);
        }
        tx.commit().await?;
        Ok((ids, new))
    }

    /// Corrections, newest first: of a source (or all), with a status (or all).
    pub async fn corrections(
        &self,
        source: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Correction>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM correction WHERE ($1 = '' OR source = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC"
        ))
        .bind(source.unwrap_or(""))
        .bind(status.unwrap_or(""))
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn correction(&self, id: i64) -> Result<Option<Correction>> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM correction WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Closes an open correction: `fixed` or `withdrawn`.
    pub async fn close_correction(&self, id: i64, status: &str) -> Result<()> {
        sqlx::query(
            "UPDATE correction SET status = $1, closed_at = $2 WHERE id = $3 AND status = 'open'",
        )
        .bind(status)
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A department disputes a correction.
    pub async fn dispute_correction(&self, id: i64, by: &str, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE correction SET status = 'disputed', disputed_by = $1, dispute_reason = $2 WHERE id = $3",
        )
        .bind(by)
        .bind(reason)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stores;

    fn conflict(key: &str, field: &str) -> NewCorrection {
        NewCorrection {
            source: "health".into(),
            record_key: key.into(),
            entity: EntityKind::Person,
            field: field.into(),
            golden_id: "P-1".into(),
            reason: "trust".into(),
            winner: ("hukou".into(), "9".into()),
        }
    }

    #[tokio::test]
    async fn a_conflict_is_one_correction_until_it_is_closed() {
        for (store, _dir) in stores().await {
            let (ids, new) = store
                .open_corrections(&[conflict("1", "birth_date"), conflict("2", "name")])
                .await
                .unwrap();
            assert_eq!(new, 2);
            let (again, new) = store
                .open_corrections(&[conflict("1", "birth_date")])
                .await
                .unwrap();
            assert_eq!(
                (again[0], new),
                (ids[0], 0),
                "found again: the same correction"
            );
            store.close_correction(ids[0], "fixed").await.unwrap();
            store
                .dispute_correction(ids[1], "health", "ours is right")
                .await
                .unwrap();
            let open = store
                .corrections(Some("health"), Some("open"))
                .await
                .unwrap();
            assert!(open.is_empty());
            let fixed = store.correction(ids[0]).await.unwrap().unwrap();
            assert_eq!(fixed.status, "fixed");
            assert!(fixed.closed_at.is_some());
            let (reopened, new) = store
                .open_corrections(&[conflict("1", "birth_date")])
                .await
                .unwrap();
            assert_eq!(new, 1, "a conflict found after a fix is a new correction");
            assert_ne!(reopened[0], ids[0]);
            let disputed = store.correction(ids[1]).await.unwrap().unwrap();
            assert_eq!(disputed.dispute_reason.as_deref(), Some("ours is right"));
        }
    }
}
