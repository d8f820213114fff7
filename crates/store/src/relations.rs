//! Relationships between golden records ([`Relation`]) with their history: replaced whole at
//! every assembly, a relationship no record asserts any more is ended, not deleted. Every start,
//! change and end is queued in the outbox (entity `relation`, keyed `<kind>:<from>:<to>`) for
//! `<prefix>.relation.v1`.

use std::collections::HashMap;

use serde::Serialize;
use tombolo_core::{Relation, RelationKind};

use crate::bulk::{self, Arg};
use crate::outbox::RELATION;
use crate::seal::{column, row};
use crate::{now, Result, Store};

/// What replacing the relationships changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RelationOutcome {
    pub started: u64,
    /// Asserted now by another record than before.
    pub changed: u64,
    pub ended: u64,
    pub unchanged: u64,
}

/// A relationship as stored, with its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRelation {
    #[serde(flatten)]
    pub relation: Relation,
    pub first_seen_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

const COLUMNS: &str =
    "kind, from_id, to_id, source, record_key, observed_at, first_seen_at, updated_at, ended_at";
const OUTBOX: &str = "INSERT INTO outbox (entity, golden_id, version, event, payload, created_at)";
const HISTORY: &str =
    "INSERT INTO relation_history (kind, from_id, to_id, event, source, record_key, at)";

fn stored(r: Row) -> Option<StoredRelation> {
    let (kind, from, to, source, record_key, observed_at, first_seen_at, updated_at, ended_at) = r;
    Some(StoredRelation {
        relation: Relation {
            kind: RelationKind::parse(&kind)?,
            from,
            to,
            source,
            record_key,
            observed_at,
        },
        first_seen_at,
        updated_at,
        ended_at,
    })
}

impl Store {
    /// Makes `relations` the relationships in force: new ones start, those asserted by another
    /// record than before change, those missing end (kept, with `ended_at`); each in the
    /// history. One transaction.
    pub async fn replace_relations(&self, relations: &[Relation]) -> Result<RelationOutcome> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let existing: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM relation"))
            .fetch_all(&mut *tx)
            .await?;
        let mut before: HashMap<String, StoredRelation> = existing
            .into_iter()
            .filter_map(stored)
            .map(|s| (s.relation.key(), s))
            .collect();
        let mut out = RelationOutcome::default();
        let (mut upserts, mut history, mut outbox) = (Vec::new(), Vec::new(), Vec::new());
        let queued = |r: &Relation, what: &str| -> Result<Vec<Arg>> {
            let key = r.key();
            let payload = self.seal(
                column::OUTBOX,
                &row(&[&key, "0"]),
                serde_json::to_string(r)?,
            )?;
            Ok(vec![
                Arg::Text(RELATION.to_owned()),
                Arg::Text(key),
                Arg::Int(0),
                Arg::Text(what.to_owned()),
                Arg::Text(payload),
                Arg::Text(at.clone()),
            ])
        };
        let event = |r: &Relation, what: &str| {
            vec![
                Arg::Text(r.kind.as_str().to_owned()),
                Arg::Text(r.from.clone()),
                Arg::Text(r.to.clone()),
                Arg::Text(what.to_owned()),
                Arg::OptText(Some(r.source.clone())),
                Arg::OptText(Some(r.record_key.clone())),
                Arg::Text(at.clone()),
            ]
        };
        for r in relations {
            let (first_seen, what) = match before.remove(&r.key()) {
                Some(old) if old.ended_at.is_none() && old.relation == *r => {
                    out.unchanged += 1;
                    continue;
                }
                Some(old) if old.ended_at.is_none() => {
                    out.changed += 1;
                    (old.first_seen_at, "changed")
                }
                Some(old) => {
                    out.started += 1;
                    (old.first_seen_at, "started")
                }
                None => {
                    out.started += 1;
                    (at.clone(), "started")
                }
            };
            history.push(event(r, what));
            outbox.push(queued(r, "upsert")?);
            upserts.push(vec![
                Arg::Text(r.kind.as_str().to_owned()),
                Arg::Text(r.from.clone()),
                Arg::Text(r.to.clone()),
                Arg::Text(r.source.clone()),
                Arg::Text(r.record_key.clone()),
                Arg::OptText(r.observed_at.clone()),
                Arg::Text(first_seen),
                Arg::Text(at.clone()),
                Arg::OptText(None),
            ]);
        }
        let mut ended: Vec<Vec<Arg>> = Vec::new();
        for old in before.into_values().filter(|o| o.ended_at.is_none()) {
            out.ended += 1;
            history.push(event(&old.relation, "ended"));
            outbox.push(queued(&old.relation, "end")?);
            let r = old.relation;
            ended.push(vec![
                Arg::Text(r.kind.as_str().to_owned()),
                Arg::Text(r.from),
                Arg::Text(r.to),
                Arg::Text(r.source),
                Arg::Text(r.record_key),
                Arg::OptText(r.observed_at),
                Arg::Text(old.first_seen_at),
                Arg::Text(at.clone()),
                Arg::OptText(Some(at.clone())),
            ]);
        }
        let upsert = "ON CONFLICT (kind, from_id, to_id) DO UPDATE SET source = excluded.source, \
             record_key = excluded.record_key, observed_at = excluded.observed_at, \
             updated_at = excluded.updated_at, ended_at = excluded.ended_at";
        let head = format!("INSERT INTO relation ({COLUMNS})");
        bulk::insert(&mut tx, self.backend, &head, upsert, &upserts).await?;
        bulk::insert(&mut tx, self.backend, &head, upsert, &ended).await?;
        bulk::insert(&mut tx, self.backend, HISTORY, "", &history).await?;
        bulk::insert(&mut tx, self.backend, OUTBOX, "", &outbox).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The relationships, in force only unless `ended`, ordered by kind and ids.
    pub async fn relations(&self, ended: bool) -> Result<Vec<StoredRelation>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM relation WHERE $1 = 1 OR ended_at IS NULL"
        ))
        .bind(i64::from(ended))
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<StoredRelation> = rows.into_iter().filter_map(stored).collect();
        out.sort_by(|a, b| {
            (a.relation.kind, &a.relation.from, &a.relation.to).cmp(&(
                b.relation.kind,
                &b.relation.from,
                &b.relation.to,
            ))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(kind: RelationKind, from: &str, to: &str, key: &str) -> Relation {
        Relation {
            kind,
            from: from.into(),
            to: to.into(),
            source: "hukou".into(),
            record_key: key.into(),
            observed_at: None,
        }
    }

    #[tokio::test]
    async fn relationships_start_change_end_and_return() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let store = Store::open(&url).await.unwrap();
        let home = rel(RelationKind::LivesAt, "P-2", "L-1", "1");
        let owns = rel(RelationKind::Owns, "P-2", "H-1", "1");
        let o = store
            .replace_relations(&[home.clone(), owns.clone()])
            .await
            .unwrap();
        assert_eq!((o.started, o.ended), (2, 0));
        // P-2 merged into P-1: its relationships end, the survivor's start.
        let moved = [home.moved("P-2", "P-1"), owns.moved("P-2", "P-1")];
        let o = store.replace_relations(&moved).await.unwrap();
        assert_eq!((o.started, o.ended, o.unchanged), (2, 2, 0));
        let o = store.replace_relations(&moved).await.unwrap();
        assert_eq!((o.started, o.ended, o.unchanged), (0, 0, 2));
        let now = store.relations(false).await.unwrap();
        assert_eq!(
            now.iter().map(|r| r.relation.key()).collect::<Vec<_>>(),
            ["lives_at:P-1:L-1", "owns:P-1:H-1"]
        );
        let all = store.relations(true).await.unwrap();
        assert_eq!(all.len(), 4);
        assert!(all
            .iter()
            .filter(|r| r.relation.from == "P-2")
            .all(|r| r.ended_at.is_some()));
        // Asserted by another record now: changed, not restarted.
        let mut other = moved.clone();
        other[0].record_key = "7".into();
        let o = store.replace_relations(&other).await.unwrap();
        assert_eq!((o.changed, o.unchanged), (1, 1));
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM relation_history")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 2 + 2 + 2 + 1);
        // Each start, change and end is queued for the relation topic, in order.
        let queued = store.outbox_pending(100).await.unwrap();
        let events: Vec<(String, String)> = queued
            .iter()
            .map(|e| match &e.item {
                crate::outbox::Outboxed::Relation(r) => (e.event.clone(), r.key()),
                crate::outbox::Outboxed::Golden(g) => panic!("{g:?}"),
            })
            .collect();
        assert_eq!(events.len(), 2 + 4 + 1, "{events:?}");
        assert_eq!(
            events[0],
            ("upsert".to_owned(), "lives_at:P-2:L-1".to_owned())
        );
        assert!(events.contains(&("end".to_owned(), "owns:P-2:H-1".to_owned())));
        assert_eq!(
            events[6],
            ("upsert".to_owned(), "lives_at:P-1:L-1".to_owned())
        );
    }
}
