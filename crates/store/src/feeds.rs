//! The state of each department's feed: which grant version it is complete for, and where an
//! unfinished backfill stands.

use tombolo_core::{EntityKind, GoldenRecord};

use crate::seal::column;
use crate::{bulk, now, Result, Store};

/// Where a department's feed stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    /// The grant version the feed was (or is being) backfilled under.
    pub grant_version: i64,
    /// The last golden id a backfill sent; `None` when the backfill is complete.
    pub cursor: Option<String>,
    /// Outbox entries up to this id are already covered by the backfill.
    pub skip_through: i64,
}

impl Store {
    /// The feed state of a department; `None` before its first delivery.
    pub async fn feed_state(&self, department: &str) -> Result<Option<FeedState>> {
        let row: Option<(i64, Option<String>, i64)> = sqlx::query_as(
            "SELECT grant_version, cursor, skip_through FROM department_feed WHERE department = $1",
        )
        .bind(department)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(grant_version, cursor, skip_through)| FeedState {
            grant_version,
            cursor,
            skip_through,
        }))
    }

    /// Saves a department's feed state.
    pub async fn set_feed_state(&self, department: &str, state: &FeedState) -> Result<()> {
        sqlx::query(
            "INSERT INTO department_feed (department, grant_version, cursor, skip_through, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (department) DO UPDATE SET \
             grant_version = excluded.grant_version, cursor = excluded.cursor, \
             skip_through = excluded.skip_through, updated_at = excluded.updated_at",
        )
        .bind(department)
        .bind(state.grant_version)
        .bind(state.cursor.as_deref())
        .bind(state.skip_through)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Up to `limit` golden records of the given kinds (retired ones too) whose id sorts after
    /// `after`, in golden id order: one page of a backfill.
    pub async fn golden_page(
        &self,
        entities: &[EntityKind],
        after: &str,
        limit: i64,
    ) -> Result<Vec<GoldenRecord>> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT golden_id, data FROM golden WHERE golden_id > {} AND entity IN ({}) \
             ORDER BY golden_id LIMIT {}",
            bulk::placeholders(self.backend(), 1, 1),
            bulk::placeholders(self.backend(), 2, entities.len()),
            bulk::placeholders(self.backend(), 2 + entities.len(), 1),
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(after);
        for e in entities {
            q = q.bind(e.as_str());
        }
        let rows = q.bind(limit).fetch_all(self.pool()).await?;
        rows.into_iter()
            .map(|(id, d)| {
                serde_json::from_str(&self.unseal(column::GOLDEN, &id, d)?).map_err(Into::into)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stores;

    #[tokio::test]
    async fn feed_state_round_trips_and_pages_follow_golden_ids() {
        for (store, _dir) in stores().await {
            assert_eq!(store.feed_state("health").await.unwrap(), None);
            assert_eq!(store.outbox_high_water().await.unwrap(), 0);
            let s = FeedState {
                grant_version: 2,
                cursor: Some("P-9".into()),
                skip_through: 7,
            };
            store.set_feed_state("health", &s).await.unwrap();
            assert_eq!(store.feed_state("health").await.unwrap(), Some(s));
            let done = FeedState {
                grant_version: 3,
                cursor: None,
                skip_through: 7,
            };
            store.set_feed_state("health", &done).await.unwrap();
            assert_eq!(store.feed_state("health").await.unwrap(), Some(done));

            use crate::golden::tests::{golden, link};
            let ids = ["P-1", "P-2", "P-3"];
            store
                .apply_resolution(&tombolo_core::Resolution {
                    entity: EntityKind::Person,
                    links: ids.iter().map(|id| link(id, id)).collect(),
                    goldens: ids.iter().map(|id| golden(id, "张三", &[id])).collect(),
                    retired: Default::default(),
                    partial: None,
                })
                .await
                .unwrap();
            let page = |after: &'static str, limit| {
                let store = store.clone();
                async move {
                    store
                        .golden_page(&[EntityKind::Person], after, limit)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|g| g.golden_id)
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(store.outbox_high_water().await.unwrap(), 3);
            assert_eq!(page("", 2).await, ["P-1", "P-2"]);
            assert_eq!(page("P-2", 2).await, ["P-3"]);
            assert!(store
                .golden_page(&[EntityKind::Organization], "", 10)
                .await
                .unwrap()
                .is_empty());
        }
    }
}
