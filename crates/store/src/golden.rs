//! Golden records and the crosswalk, as the last resolution left them.

use tombolo_core::{EntityKind, GoldenRecord, Link};

use crate::seal::column;
use crate::{Result, Store};

/// A record's arrival in a golden record ([`Store::linked_to`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct LinkedTo {
    pub source: String,
    pub record_key: String,
    /// The golden record it came from (none: it was new).
    pub old_golden_id: Option<String>,
    pub rule: String,
    pub at: String,
}

impl Store {
    /// The crosswalk of an entity kind, ordered by source and key.
    pub async fn crosswalk(&self, entity: EntityKind) -> Result<Vec<Link>> {
        let mut rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT source, record_key, golden_id, rule FROM crosswalk WHERE entity = $1",
        )
        .bind(entity.as_str())
        .fetch_all(self.pool())
        .await?;
        // Sorted here: cheaper than the database's sort of every row.
        rows.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(rows
            .into_iter()
            .map(|(source, record_key, golden_id, rule)| Link {
                source,
                record_key,
                golden_id,
                rule,
                evidence: None,
            })
            .collect())
    }

    /// The live golden records of a kind, one at a time in golden id order (a million are never
    /// held at once).
    pub async fn visit_goldens(
        &self,
        entity: EntityKind,
        mut visit: impl FnMut(GoldenRecord),
    ) -> Result<()> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query_as::<_, (String, String)>(
            "SELECT golden_id, data FROM golden WHERE entity = $1 AND retired_into IS NULL ORDER BY golden_id",
        )
        .bind(entity.as_str())
        .fetch(self.pool());
        while let Some((id, data)) = rows.try_next().await? {
            visit(serde_json::from_str(&self.unseal(
                column::GOLDEN,
                &id,
                data,
            )?)?);
        }
        Ok(())
    }

    /// Golden records of an entity kind (active ones only unless `include_retired`).
    pub async fn goldens(
        &self,
        entity: EntityKind,
        include_retired: bool,
    ) -> Result<Vec<GoldenRecord>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT golden_id, data FROM golden WHERE entity = $1 AND ($2 = 1 OR retired_into IS NULL) ORDER BY golden_id",
        )
        .bind(entity.as_str())
        .bind(i64::from(include_retired))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, d)| {
                serde_json::from_str(&self.unseal(column::GOLDEN, &id, d)?).map_err(Into::into)
            })
            .collect()
    }

    /// Where one source record sits: its link, with the entity kind.
    pub async fn link(&self, source: &str, record_key: &str) -> Result<Option<(EntityKind, Link)>> {
        let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT entity, golden_id, rule, evidence FROM crosswalk WHERE source = $1 AND record_key = $2",
        )
        .bind(source)
        .bind(record_key)
        .fetch_optional(self.pool())
        .await?;
        let Some((entity, golden_id, rule, evidence)) = row else {
            return Ok(None);
        };
        let Some(entity) = EntityKind::parse(&entity) else {
            return Ok(None);
        };
        let link = Link {
            source: source.to_owned(),
            record_key: record_key.to_owned(),
            golden_id,
            rule,
            evidence: evidence
                .map(|e| {
                    self.unseal(
                        column::EVIDENCE,
                        &crate::seal::row(&[source, record_key]),
                        e,
                    )
                })
                .transpose()?,
        };
        Ok(Some((entity, link)))
    }

    /// One golden record (retired ones too).
    pub async fn golden(&self, golden_id: &str) -> Result<Option<GoldenRecord>> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT data FROM golden WHERE golden_id = $1")
                .bind(golden_id)
                .fetch_optional(self.pool())
                .await?;
        found
            .map(|(d,)| {
                serde_json::from_str(&self.unseal(column::GOLDEN, golden_id, d)?)
                    .map_err(Into::into)
            })
            .transpose()
    }

    /// Every time a record was linked to `golden_id` (its arrival, or its move from another
    /// golden record), oldest first. A scan of the crosswalk's history (no index on golden ids:
    /// one would slow every resolution's writes for the sake of an occasional look).
    pub async fn linked_to(&self, golden_id: &str) -> Result<Vec<LinkedTo>> {
        Ok(sqlx::query_as(
            "SELECT source, record_key, old_golden_id, rule, at FROM crosswalk_history \
             WHERE new_golden_id = $1 ORDER BY id",
        )
        .bind(golden_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Number of active golden records of an entity kind.
    pub async fn golden_count(&self, entity: EntityKind) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM golden WHERE entity = $1 AND retired_into IS NULL",
        )
        .bind(entity.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::stores;
    use std::collections::BTreeMap;
    use tombolo_core::Resolution;
    use tombolo_core::SourceRef;

    pub(crate) fn golden(id: &str, name: &str, members: &[&str]) -> GoldenRecord {
        GoldenRecord {
            golden_id: id.into(),
            entity: EntityKind::Person,
            version: 0,
            values: [("name".to_owned(), name.to_owned())].into(),
            provenance: vec![],
            members: members
                .iter()
                .map(|k| SourceRef {
                    source: "s".into(),
                    record_key: (*k).into(),
                })
                .collect(),
            merged_from: vec![],
            retired_into: None,
            updated_at: "t".into(),
        }
    }

    pub(crate) fn link(key: &str, id: &str) -> Link {
        Link {
            source: "s".into(),
            record_key: key.into(),
            golden_id: id.into(),
            rule: "test".into(),
            evidence: None,
        }
    }

    #[tokio::test]
    async fn versions_retirements_outbox_and_history() {
        for (store, _dir) in stores().await {
            let r1 = Resolution {
                entity: EntityKind::Person,
                links: vec![link("1", "P-a"), link("2", "P-b")],
                goldens: vec![golden("P-a", "张三", &["1"]), golden("P-b", "李四", &["2"])],
                retired: BTreeMap::new(),
                partial: None,
            };
            let o = store.apply_resolution(&r1).await.unwrap();
            assert_eq!((o.created, o.updated, o.unchanged), (2, 0, 0));
            let o = store.apply_resolution(&r1).await.unwrap();
            assert_eq!(
                (o.created, o.updated, o.unchanged),
                (0, 0, 2),
                "the same resolution changes nothing"
            );
            assert_eq!(store.outbox_backlog().await.unwrap(), 2);
            // P-b merges into P-a.
            let r2 = Resolution {
                entity: EntityKind::Person,
                links: vec![link("1", "P-a"), link("2", "P-a")],
                goldens: vec![golden("P-a", "张三", &["1", "2"])],
                retired: BTreeMap::from([("P-b".to_owned(), "P-a".to_owned())]),
                partial: None,
            };
            let o = store.apply_resolution(&r2).await.unwrap();
            assert_eq!((o.updated, o.retired, o.relinked), (1, 1, 1));
            let all = store.goldens(EntityKind::Person, true).await.unwrap();
            let b = all.iter().find(|g| g.golden_id == "P-b").unwrap();
            assert_eq!((b.version, b.retired_into.as_deref()), (2, Some("P-a")));
            let a = all.iter().find(|g| g.golden_id == "P-a").unwrap();
            assert_eq!(a.version, 2);
            assert_eq!(store.golden_count(EntityKind::Person).await.unwrap(), 1);
            let pending = store.outbox_pending(10).await.unwrap();
            let events: Vec<(&str, &str, i64)> = pending
                .iter()
                .map(|e| match &e.item {
                    crate::outbox::Outboxed::Golden(g) => {
                        (g.golden_id.as_str(), e.event.as_str(), g.version)
                    }
                    crate::outbox::Outboxed::Relation(r) => panic!("{r:?}"),
                })
                .collect();
            assert_eq!(events[2..], [("P-a", "upsert", 2), ("P-b", "retire", 2)]);
            store
                .mark_published(&pending.iter().map(|e| e.id).collect::<Vec<_>>())
                .await
                .unwrap();
            assert_eq!(store.outbox_backlog().await.unwrap(), 0);
            let cw = store.crosswalk(EntityKind::Person).await.unwrap();
            assert!(cw.iter().all(|l| l.golden_id == "P-a"));
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM crosswalk_history")
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(n, 3, "two first links and one relink");
        }
    }
}
