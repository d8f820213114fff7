//! Quality scorecard snapshots (migration 15), and the per-source figures they need that the
//! store answers without opening a record: when each source's latest change arrived, and the
//! open quarantine per source.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{now, Result, Store};

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Snapshot {
    pub id: i64,
    pub taken_at: String,
    pub change_seq: i64,
    /// The scorecards, as JSON.
    pub data: String,
}

impl Store {
    /// Stores a snapshot of the scorecards, covering the change counter at `change_seq`.
    pub async fn save_snapshot(&self, change_seq: i64, data: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO scorecard_snapshot (taken_at, change_seq, data) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(now())
        .bind(change_seq)
        .bind(data)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// Every snapshot, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<Snapshot>> {
        Ok(sqlx::query_as(
            "SELECT id, taken_at, change_seq, data FROM scorecard_snapshot ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The change counter the newest snapshot covered.
    pub async fn last_snapshot_seq(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MAX(change_seq) FROM scorecard_snapshot")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Per source: when the hub stored its latest change (new, changed or withdrawn record).
    pub async fn last_changes(&self) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT source, MAX(updated_at) FROM source_record GROUP BY source")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, at)| at.map(|a| (s, a)))
            .collect())
    }

    /// Per source: quarantine entries not resolved by a later accepted version.
    pub async fn open_quarantine(&self) -> Result<BTreeMap<String, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT source, COUNT(*) FROM quarantine WHERE resolved_at IS NULL GROUP BY source",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores;

    #[tokio::test]
    async fn snapshots_are_kept_in_order() {
        for (store, _dir) in stores().await {
            assert_eq!(store.last_snapshot_seq().await.unwrap(), None);
            store.save_snapshot(3, "{\"a\":1}").await.unwrap();
            store.save_snapshot(7, "{\"a\":2}").await.unwrap();
            let all = store.snapshots().await.unwrap();
            assert_eq!(all.len(), 2);
            assert_eq!(all[1].data, "{\"a\":2}");
            assert_eq!(store.last_snapshot_seq().await.unwrap(), Some(7));
            assert!(store.open_quarantine().await.unwrap().is_empty());
        }
    }
}
