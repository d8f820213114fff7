//! Golden records and the crosswalk, replaced per entity kind in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tombolo_core::{EntityKind, GoldenRecord, Link, Resolution};

use crate::bulk::{self, Arg};
use crate::{now, sha256, Result, Store};

/// What applying a resolution changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retired: u64,
    pub relinked: u64,
}

#[derive(Serialize)]
struct Hashed<'a> {
    values: &'a BTreeMap<String, String>,
    provenance: &'a [tombolo_core::Provenance],
    members: &'a [tombolo_core::SourceRef],
    merged_from: &'a [String],
    retired_into: &'a Option<String>,
}

/// Rows written per statement batch.
const CHUNK: usize = 2_000;

fn golden_hash(g: &GoldenRecord) -> Result<String> {
    Ok(sha256(&serde_json::to_string(&Hashed {
        values: &g.values,
        provenance: &g.provenance,
        members: &g.members,
        merged_from: &g.merged_from,
        retired_into: &g.retired_into,
    })?))
}

impl Store {
    /// Replaces the crosswalk and golden records of `r.entity`. Golden records whose content
    /// changed get the next version and an outbox entry; those no longer produced are retired
    /// (with a redirect when merged) and announced too. All in one transaction.
    pub async fn apply_resolution(&self, r: &Resolution) -> Result<ApplyOutcome> {
        let at = now();
        let entity = r.entity.as_str();
        let mut out = ApplyOutcome::default();
        let t0 = std::time::Instant::now();
        let mut tx = self.pool().begin().await?;

        type GRow = (String, i64, String, Option<String>);
        let existing: Vec<GRow> = sqlx::query_as(
            "SELECT golden_id, version, content_hash, retired_into FROM golden WHERE entity = $1",
        )
        .bind(entity)
        .fetch_all(&mut *tx)
        .await?;
        let existing: BTreeMap<String, (i64, String, Option<String>)> = existing
            .into_iter()
            .map(|(id, v, h, ret)| (id, (v, h, ret)))
            .collect();
        // Golden records this resolution speaks for: all of the kind, or those the re-resolved
        // records had.
        let in_scope = |id: &str| r.partial.as_ref().is_none_or(|p| p.goldens.contains(id));

        // Each version to write and publish: (record, version, hash); written in chunks so
        // that a resolution of a million records never holds all its rows at once.
        let mut pending: Vec<(&GoldenRecord, i64, String)> = Vec::new();
        let active: BTreeSet<&str> = r.goldens.iter().map(|g| g.golden_id.as_str()).collect();
        for g in &r.goldens {
            let hash = golden_hash(g)?;
            let version = match existing.get(&g.golden_id) {
                Some((_, h, None)) if *h == hash => {
                    out.unchanged += 1;
                    continue;
                }
                Some((v, _, _)) => {
                    out.updated += 1;
                    v + 1
                }
                None => {
                    out.created += 1;
                    1
                }
            };
            pending.push((g, version, hash));
        }
        let mut retired = Vec::new();
        for (id, (version, _, retired_into)) in &existing {
            if active.contains(id.as_str()) || retired_into.is_some() || !in_scope(id) {
                continue;
            }
            let (data,): (String,) = sqlx::query_as("SELECT data FROM golden WHERE golden_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let mut g: GoldenRecord = serde_json::from_str(&data)?;
            g.version = version + 1;
            g.retired_into = Some(r.retired.get(id).cloned().unwrap_or_default());
            g.members.clear();
            out.retired += 1;
            let hash = golden_hash(&g)?;
            retired.push((g, hash));
        }
        let all = pending
            .into_iter()
            .map(|(g, v, h)| (g, Some(v), h))
            .chain(retired.iter().map(|(g, h)| (g, None, h.clone())));
        let mut golden_rows = Vec::with_capacity(CHUNK);
        let mut outbox_rows = Vec::with_capacity(CHUNK);
        let mut all = all.peekable();
        while all.peek().is_some() {
            for (g, version, hash) in all.by_ref().take(CHUNK) {
                let mut g = g.clone();
                if let Some(v) = version {
                    g.version = v;
                    g.retired_into = None;
                }
                g.updated_at = at.clone();
                let data = serde_json::to_string(&g)?;
                let event = if g.retired_into.is_some() {
                    "retire"
                } else {
                    "upsert"
                };
                outbox_rows.push(vec![
                    Arg::Text(entity.to_owned()),
                    Arg::Text(g.golden_id.clone()),
                    Arg::Int(g.version),
                    Arg::Text(event.to_owned()),
                    Arg::Text(data.clone()),
                    Arg::Text(at.clone()),
                ]);
                golden_rows.push(vec![
                    Arg::Text(g.golden_id),
                    Arg::Text(entity.to_owned()),
                    Arg::Int(g.version),
                    Arg::Text(hash),
                    Arg::Text(data),
                    Arg::Text(at.clone()),
                    Arg::Text(at.clone()),
                    Arg::OptText(g.retired_into),
                ]);
            }
            bulk::insert(
                &mut tx,
                self.backend(),
                "INSERT INTO golden (golden_id, entity, version, content_hash, data, created_at, updated_at, retired_into)",
                "ON CONFLICT (golden_id) DO UPDATE SET version = excluded.version, content_hash = excluded.content_hash, \
                 data = excluded.data, updated_at = excluded.updated_at, retired_into = excluded.retired_into",
                &golden_rows,
            )
            .await?;
            bulk::insert(
                &mut tx,
                self.backend(),
                "INSERT INTO outbox (entity, golden_id, version, event, payload, created_at)",
                "",
                &outbox_rows,
            )
            .await?;
            golden_rows.clear();
            outbox_rows.clear();
        }
        // Crosswalk, with history of every change.
        let old: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT source, record_key, golden_id, rule FROM crosswalk WHERE entity = $1",
        )
        .bind(entity)
        .fetch_all(&mut *tx)
        .await?;
        let mut old: BTreeMap<(String, String), (String, String)> = old
            .into_iter()
            .map(|(s, k, g, rule)| ((s, k), (g, rule)))
            .filter(|(key, _)| r.partial.as_ref().is_none_or(|p| p.records.contains(key)))
            .collect();
        let history =
            |source: &str, key: &str, old: Option<String>, new: Option<String>, rule: &str| {
                vec![
                    Arg::Text(source.to_owned()),
                    Arg::Text(key.to_owned()),
                    Arg::Text(entity.to_owned()),
                    Arg::OptText(old),
                    Arg::OptText(new),
                    Arg::Text(rule.to_owned()),
                    Arg::Text(at.clone()),
                ]
            };
        let link_row = |l: &Link| {
            vec![
                Arg::Text(l.source.clone()),
                Arg::Text(l.record_key.clone()),
                Arg::Text(entity.to_owned()),
                Arg::Text(l.golden_id.clone()),
                Arg::Text(l.rule.clone()),
                Arg::Text(at.clone()),
                Arg::OptText(l.evidence.clone()),
            ]
        };
        const RELINK: &str =
            "ON CONFLICT (source, record_key) DO UPDATE SET golden_id = excluded.golden_id, \
             rule = excluded.rule, linked_at = excluded.linked_at, evidence = excluded.evidence";
        const REEXPLAIN: &str =
            "ON CONFLICT (source, record_key) DO UPDATE SET rule = excluded.rule, evidence = excluded.evidence";
        const XW: &str =
            "INSERT INTO crosswalk (source, record_key, entity, golden_id, rule, linked_at, evidence)";
        const HISTORY: &str = "INSERT INTO crosswalk_history (source, record_key, entity, old_golden_id, new_golden_id, rule, at)";
        for chunk in r.links.chunks(CHUNK) {
            let mut link_rows = Vec::new();
            let mut evidence_rows = Vec::new();
            let mut history_rows = Vec::new();
            for l in chunk {
                let (prev, prev_rule) = match old.remove(&(l.source.clone(), l.record_key.clone()))
                {
                    Some((g, rule)) => (Some(g), Some(rule)),
                    None => (None, None),
                };
                if prev.as_deref() == Some(l.golden_id.as_str()) {
                    // Same golden record; the evidence changed if the rule (with its score) did.
                    if prev_rule.as_deref() != Some(l.rule.as_str()) {
                        evidence_rows.push(link_row(l));
                    }
                    continue;
                }
                if prev.is_some() {
                    out.relinked += 1;
                }
                link_rows.push(link_row(l));
                history_rows.push(history(
                    &l.source,
                    &l.record_key,
                    prev,
                    Some(l.golden_id.clone()),
                    &l.rule,
                ));
            }
            bulk::insert(&mut tx, self.backend(), XW, RELINK, &link_rows).await?;
            bulk::insert(&mut tx, self.backend(), XW, REEXPLAIN, &evidence_rows).await?;
            bulk::insert(&mut tx, self.backend(), HISTORY, "", &history_rows).await?;
        }
        let mut history_rows = Vec::new();
        for ((source, key), (golden, _)) in old {
            sqlx::query("DELETE FROM crosswalk WHERE source = $1 AND record_key = $2")
                .bind(&source)
                .bind(&key)
                .execute(&mut *tx)
                .await?;
            history_rows.push(history(&source, &key, Some(golden), None, "record removed"));
        }
        bulk::insert(&mut tx, self.backend(), HISTORY, "", &history_rows).await?;
        tx.commit().await?;
        tracing::debug!(
            entity,
            elapsed_ms = t0.elapsed().as_millis() as u64,
            ?out,
            "resolution applied"
        );
        Ok(out)
    }

    /// The crosswalk of an entity kind, ordered by source and key.
    pub async fn crosswalk(&self, entity: EntityKind) -> Result<Vec<Link>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT source, record_key, golden_id, rule FROM crosswalk WHERE entity = $1 ORDER BY source, record_key",
        )
        .bind(entity.as_str())
        .fetch_all(self.pool())
        .await?;
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

    /// Golden records of an entity kind (active ones only unless `include_retired`).
    pub async fn goldens(
        &self,
        entity: EntityKind,
        include_retired: bool,
    ) -> Result<Vec<GoldenRecord>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT data FROM golden WHERE entity = $1 AND ($2 = 1 OR retired_into IS NULL) ORDER BY golden_id",
        )
        .bind(entity.as_str())
        .bind(i64::from(include_retired))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(d,)| serde_json::from_str(&d).map_err(Into::into))
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
        Ok(row.and_then(|(entity, golden_id, rule, evidence)| {
            EntityKind::parse(&entity).map(|e| {
                (
                    e,
                    Link {
                        source: source.to_owned(),
                        record_key: record_key.to_owned(),
                        golden_id,
                        rule,
                        evidence,
                    },
                )
            })
        }))
    }

    /// One golden record (retired ones too).
    pub async fn golden(&self, golden_id: &str) -> Result<Option<GoldenRecord>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT data FROM golden WHERE golden_id = $1")
            .bind(golden_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|(d,)| serde_json::from_str(&d).map_err(Into::into))
            .transpose()
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
mod tests {
    use super::*;
    use crate::testing::stores;
    use tombolo_core::SourceRef;

    fn golden(id: &str, name: &str, members: &[&str]) -> GoldenRecord {
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

    fn link(key: &str, id: &str) -> Link {
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
                .map(|e| {
                    (
                        e.record.golden_id.as_str(),
                        e.event.as_str(),
                        e.record.version,
                    )
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
