//! Links from source records to golden records of other kinds ([`RecordLink`]): where a
//! record's address puts it, who owns a house, who reported an incident.

use tombolo_core::{EntityKind, LinkRole, RecordLink};

use crate::bulk::{self, Arg};
use crate::{now, Result, Store};

const INSERT: &str =
    "INSERT INTO record_link (source, record_key, role, entity, golden_id, rule, linked_at)";

const UPSERT: &str =
    "ON CONFLICT (source, record_key, role) DO UPDATE SET entity = excluded.entity, \
     golden_id = excluded.golden_id, rule = excluded.rule, linked_at = excluded.linked_at";

/// What replacing a role's links changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkChanges {
    /// Links new or different (another golden record, another rule).
    pub written: u64,
    /// Links of records that no longer link (their record is gone or no longer names it).
    pub removed: u64,
}

impl Store {
    /// Makes the links of `role` from records of `from` equal `links`, in one transaction:
    /// only what differs is written (a link unchanged keeps its `linked_at`), links no longer
    /// asserted are removed.
    pub async fn replace_record_links(
        &self,
        role: LinkRole,
        from: &[EntityKind],
        links: &[RecordLink],
    ) -> Result<LinkChanges> {
        type Row = (String, String, String, Option<String>, String);
        let at = now();
        let mut tx = self.begin_write().await?;
        let stored: Vec<Row> = sqlx::query_as(
            "SELECT source, record_key, entity, golden_id, rule FROM record_link WHERE role = $1",
        )
        .bind(role.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut before: std::collections::HashMap<
            (String, String),
            (String, Option<String>, String),
        > = stored
            .into_iter()
            .filter(|r| from.iter().any(|e| e.as_str() == r.2))
            .map(|(s, k, e, g, r)| ((s, k), (e, g, r)))
            .collect();
        let mut rows: Vec<Vec<Arg>> = Vec::new();
        for l in links.iter().filter(|l| l.role == role) {
            let same = before
                .remove(&(l.source.clone(), l.record_key.clone()))
                .is_some_and(|(e, g, r)| e == l.entity.as_str() && g == l.golden_id && r == l.rule);
            if !same {
                rows.push(vec![
                    Arg::Text(l.source.clone()),
                    Arg::Text(l.record_key.clone()),
                    Arg::Text(role.as_str().to_owned()),
                    Arg::Text(l.entity.as_str().to_owned()),
                    Arg::OptText(l.golden_id.clone()),
                    Arg::Text(l.rule.clone()),
                    Arg::Text(at.clone()),
                ]);
            }
        }
        for (source, key) in before.keys() {
            sqlx::query(
                "DELETE FROM record_link WHERE source = $1 AND record_key = $2 AND role = $3",
            )
            .bind(source)
            .bind(key)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        }
        bulk::insert(&mut tx, self.backend, INSERT, UPSERT, &rows).await?;
        tx.commit().await?;
        Ok(LinkChanges {
            written: rows.len() as u64,
            removed: before.len() as u64,
        })
    }

    /// The links of `role` from records of `from` (all kinds when `None`), by source and key.
    pub async fn record_links(
        &self,
        role: LinkRole,
        from: Option<EntityKind>,
    ) -> Result<Vec<RecordLink>> {
        type Row = (String, String, String, Option<String>, String);
        let mut rows: Vec<Row> = sqlx::query_as(
            "SELECT source, record_key, entity, golden_id, rule FROM record_link \
             WHERE role = $1 AND ($2 = '' OR entity = $2)",
        )
        .bind(role.as_str())
        .bind(from.map_or("", EntityKind::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(rows
            .into_iter()
            .filter_map(|(source, record_key, entity, golden_id, rule)| {
                Some(RecordLink {
                    source,
                    record_key,
                    entity: EntityKind::parse(&entity)?,
                    role,
                    golden_id,
                    rule,
                })
            })
            .collect())
    }
}

impl Store {
    /// Every link of one record, to golden records of other kinds (or why there is none).
    pub async fn links_of(&self, source: &str, key: &str) -> Result<Vec<RecordLink>> {
        type Row = (String, String, Option<String>, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT role, entity, golden_id, rule FROM record_link \
             WHERE source = $1 AND record_key = $2 ORDER BY role",
        )
        .bind(source)
        .bind(key)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(role, entity, golden_id, rule)| {
                Some(RecordLink {
                    source: source.to_owned(),
                    record_key: key.to_owned(),
                    entity: EntityKind::parse(&entity)?,
                    role: LinkRole::parse(&role)?,
                    golden_id,
                    rule,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(source: &str, key: &str, entity: EntityKind, golden: Option<&str>) -> RecordLink {
        RecordLink {
            source: source.into(),
            record_key: key.into(),
            entity,
            role: LinkRole::Place,
            golden_id: golden.map(str::to_owned),
            rule: if golden.is_some() {
                "registry"
            } else {
                "vague: no road"
            }
            .into(),
        }
    }

    #[tokio::test]
    async fn links_are_replaced_per_role_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let store = Store::open(&url).await.unwrap();
        let first = [
            link("hukou", "1", EntityKind::Person, Some("L-1")),
            link("housing", "9", EntityKind::House, Some("L-2")),
        ];
        store
            .replace_record_links(
                LinkRole::Place,
                &[EntityKind::Person, EntityKind::House],
                &first,
            )
            .await
            .unwrap();
        // Again for people only: the houses' links stand.
        let again = [
            link("hukou", "1", EntityKind::Person, None),
            link("hukou", "2", EntityKind::Person, Some("L-3")),
        ];
        let changes = store
            .replace_record_links(LinkRole::Place, &[EntityKind::Person], &again)
            .await
            .unwrap();
        assert_eq!(
            changes,
            LinkChanges {
                written: 2,
                removed: 0
            }
        );
        let all = store.record_links(LinkRole::Place, None).await.unwrap();
        assert_eq!(
            all,
            vec![
                link("housing", "9", EntityKind::House, Some("L-2")),
                again[0].clone(),
                again[1].clone(),
            ]
        );
        let houses = store
            .record_links(LinkRole::Place, Some(EntityKind::House))
            .await
            .unwrap();
        assert_eq!(houses.len(), 1);
        assert_eq!(
            store.links_of("hukou", "2").await.unwrap(),
            vec![again[1].clone()]
        );
        assert!(store
            .record_links(LinkRole::Owner, None)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn only_what_differs_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let store = Store::open(&url).await.unwrap();
        let people = [EntityKind::Person];
        let first = [
            link("hukou", "1", EntityKind::Person, Some("L-1")),
            link("hukou", "2", EntityKind::Person, Some("L-2")),
            link("hukou", "3", EntityKind::Person, Some("L-3")),
        ];
        store
            .replace_record_links(LinkRole::Place, &people, &first)
            .await
            .unwrap();
        let since = |key: &'static str| {
            let store = store.clone();
            async move {
                let (t,): (String,) = sqlx::query_as(
                    "SELECT linked_at FROM record_link WHERE source = 'hukou' AND record_key = $1",
                )
                .bind(key)
                .fetch_one(store.pool())
                .await
                .unwrap();
                t
            }
        };
        let kept_since = since("1").await;
        // The same again: nothing written.
        let same = store
            .replace_record_links(LinkRole::Place, &people, &first)
            .await
            .unwrap();
        assert_eq!(same, LinkChanges::default());
        // One unchanged, one moved, one gone, one new.
        let next = [
            first[0].clone(),
            link("hukou", "2", EntityKind::Person, Some("L-9")),
            link("hukou", "4", EntityKind::Person, None),
        ];
        let changes = store
            .replace_record_links(LinkRole::Place, &people, &next)
            .await
            .unwrap();
        assert_eq!(
            changes,
            LinkChanges {
                written: 2,
                removed: 1
            }
        );
        assert_eq!(
            store.record_links(LinkRole::Place, None).await.unwrap(),
            next.to_vec()
        );
        assert_eq!(
            since("1").await,
            kept_since,
            "an unchanged link keeps its time"
        );
    }
}
