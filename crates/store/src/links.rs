//! Links from source records to golden records of other kinds ([`RecordLink`]): where a
//! record's address puts it, who owns a house, who reported an incident.

use tombolo_core::{EntityKind, LinkRole, RecordLink};

use crate::bulk::{self, Arg};
use crate::{now, Result, Store};

const INSERT: &str =
    "INSERT INTO record_link (source, record_key, role, entity, golden_id, rule, linked_at)";

impl Store {
    /// Replaces every link of `role` made from records of `from` with `links`, in one
    /// transaction.
    pub async fn replace_record_links(
        &self,
        role: LinkRole,
        from: &[EntityKind],
        links: &[RecordLink],
    ) -> Result<()> {
        let at = now();
        let mut tx = self.begin_write().await?;
        for entity in from {
            sqlx::query("DELETE FROM record_link WHERE role = $1 AND entity = $2")
                .bind(role.as_str())
                .bind(entity.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<Vec<Arg>> = links
            .iter()
            .filter(|l| l.role == role)
            .map(|l| {
                vec![
                    Arg::Text(l.source.clone()),
                    Arg::Text(l.record_key.clone()),
                    Arg::Text(role.as_str().to_owned()),
                    Arg::Text(l.entity.as_str().to_owned()),
                    Arg::OptText(l.golden_id.clone()),
                    Arg::Text(l.rule.clone()),
                    Arg::Text(at.clone()),
                ]
            })
            .collect();
        bulk::insert(&mut tx, self.backend, INSERT, "", &rows).await?;
        tx.commit().await?;
        Ok(())
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
        store
            .replace_record_links(LinkRole::Place, &[EntityKind::Person], &again)
            .await
            .unwrap();
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
}
