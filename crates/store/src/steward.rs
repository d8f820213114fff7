//! Stewards' corrections of golden records (merge, split, and the unmerge that undoes a merge)
//! and the history of every merge a resolution made, so that any of them can be undone.

use serde::{Deserialize, Serialize};
use tombolo_core::EntityKind;

use crate::resolution::RecordRef;
use crate::{now, Error, Result, Store};

/// What a steward asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Two golden records are one: sides `[first's records, second's records]`, under the
    /// first id.
    Merge,
    /// Records leave their golden record: sides `[taken out, left]`; the left keep the id.
    Split,
    /// A merge undone: sides `[retired's records, survivor's records]`, each under the id it
    /// had before the merge.
    Unmerge,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Split => "split",
            Self::Unmerge => "unmerge",
        }
    }
}

impl std::str::FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "merge" => Ok(Self::Merge),
            "split" => Ok(Self::Split),
            "unmerge" => Ok(Self::Unmerge),
            other => Err(format!("unknown steward action {other:?}")),
        }
    }
}

/// A steward's action as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StewardAction {
    pub id: i64,
    pub entity: EntityKind,
    pub action: ActionKind,
    /// The golden ids named, in the order the sides are (merge: first, second; split: the
    /// split record; unmerge: retired, survivor).
    pub golden_ids: Vec<String>,
    pub sides: Vec<Vec<RecordRef>>,
    /// Unmerge: the merge event it undid.
    pub merge_event: Option<i64>,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: String,
    /// When the first resolution after it applied it.
    pub applied_at: Option<String>,
    /// Merge: the unmerge that undid it.
    pub undone_by: Option<i64>,
}

/// A steward's action to store.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub entity: EntityKind,
    pub action: ActionKind,
    pub golden_ids: Vec<String>,
    pub sides: Vec<Vec<RecordRef>>,
    pub merge_event: Option<i64>,
    pub reason: &'a str,
    pub decided_by: &'a str,
}

/// A merge a resolution made: `retired` went into `survivor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeEvent {
    pub id: i64,
    pub entity: EntityKind,
    pub survivor: String,
    pub retired: String,
    /// The records of each side just before the merge.
    pub survivor_members: Vec<RecordRef>,
    pub retired_members: Vec<RecordRef>,
    /// `engine`, or `steward:<action id>`.
    pub cause: String,
    pub at: String,
    /// The unmerge (steward action id) that undid it.
    pub undone_by: Option<i64>,
}

/// A merge to record, as [`crate::apply::ResolutionWriter::record_merges`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMergeEvent {
    pub survivor: String,
    pub retired: String,
    pub survivor_members: Vec<RecordRef>,
    pub retired_members: Vec<RecordRef>,
    pub cause: String,
}

type ActionRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
);

type EventRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
);

const ACTION_COLUMNS: &str = "id, entity, action, golden_ids, sides, merge_event, reason, decided_by, decided_at, applied_at, undone_by";
const EVENT_COLUMNS: &str =
    "id, entity, survivor, retired, survivor_members, retired_members, cause, at, undone_by";

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{what} {id}: {e}"))
}

fn action(r: ActionRow) -> Result<StewardAction> {
    let id = r.0;
    Ok(StewardAction {
        id,
        entity: EntityKind::parse(&r.1)
            .ok_or_else(|| corrupt("steward_action", id, format!("unknown kind {:?}", r.1)))?,
        action: r.2.parse().map_err(|e| corrupt("steward_action", id, e))?,
        golden_ids: serde_json::from_str(&r.3).map_err(|e| corrupt("steward_action", id, e))?,
        sides: serde_json::from_str(&r.4).map_err(|e| corrupt("steward_action", id, e))?,
        merge_event: r.5,
        reason: r.6,
        decided_by: r.7,
        decided_at: r.8,
        applied_at: r.9,
        undone_by: r.10,
    })
}

fn event(r: EventRow) -> Result<MergeEvent> {
    let id = r.0;
    Ok(MergeEvent {
        id,
        entity: EntityKind::parse(&r.1)
            .ok_or_else(|| corrupt("merge_event", id, format!("unknown kind {:?}", r.1)))?,
        survivor: r.2,
        retired: r.3,
        survivor_members: serde_json::from_str(&r.4).map_err(|e| corrupt("merge_event", id, e))?,
        retired_members: serde_json::from_str(&r.5).map_err(|e| corrupt("merge_event", id, e))?,
        cause: r.6,
        at: r.7,
        undone_by: r.8,
    })
}

/// Marks records changed (the next change counter value), so the next incremental resolution
/// re-resolves them: what a decision or a steward's action about them needs.
pub(crate) async fn touch(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    records: &[&RecordRef],
) -> Result<()> {
    let (seq,): (i64,) =
        sqlx::query_as("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")
            .fetch_one(&mut **tx)
            .await?;
    for (source, key) in records {
        sqlx::query(
            "UPDATE source_record SET change_seq = $1 WHERE source = $2 AND record_key = $3",
        )
        .bind(seq)
        .bind(source)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Stores a steward's action and marks its records changed, in one transaction. An unmerge
    /// also marks its merge event undone, and the steward's merge behind it (if any).
    pub async fn record_action(&self, a: &NewAction<'_>) -> Result<i64> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO steward_action (entity, action, golden_ids, sides, merge_event, reason, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(a.entity.as_str())
        .bind(a.action.as_str())
        .bind(serde_json::to_string(&a.golden_ids)?)
        .bind(serde_json::to_string(&a.sides)?)
        .bind(a.merge_event)
        .bind(a.reason)
        .bind(a.decided_by)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(event) = a.merge_event {
            sqlx::query("UPDATE merge_event SET undone_by = $1 WHERE id = $2")
                .bind(id)
                .bind(event)
                .execute(&mut *tx)
                .await?;
            let (cause,): (String,) = sqlx::query_as("SELECT cause FROM merge_event WHERE id = $1")
                .bind(event)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(merge) = cause
                .strip_prefix("steward:")
                .and_then(|n| n.parse::<i64>().ok())
            {
                sqlx::query("UPDATE steward_action SET undone_by = $1 WHERE id = $2")
                    .bind(id)
                    .bind(merge)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let records: Vec<&RecordRef> = a.sides.iter().flatten().collect();
        touch(&mut tx, &records).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every steward's action on a kind, oldest first.
    pub async fn actions(&self, entity: EntityKind) -> Result<Vec<StewardAction>> {
        let rows: Vec<ActionRow> = sqlx::query_as(&format!(
            "SELECT {ACTION_COLUMNS} FROM steward_action WHERE entity = $1 ORDER BY id"
        ))
        .bind(entity.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(action).collect()
    }

    /// One steward's action.
    pub async fn action(&self, id: i64) -> Result<Option<StewardAction>> {
        let row: Option<ActionRow> = sqlx::query_as(&format!(
            "SELECT {ACTION_COLUMNS} FROM steward_action WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(action).transpose()
    }

    /// Steward's actions that name a golden id, oldest first.
    pub async fn actions_naming(&self, golden_id: &str) -> Result<Vec<StewardAction>> {
        // The ids are a JSON array of quoted ids: a quoted match finds exactly this id.
        let rows: Vec<ActionRow> = sqlx::query_as(&format!(
            "SELECT {ACTION_COLUMNS} FROM steward_action WHERE golden_ids LIKE $1 ORDER BY id"
        ))
        .bind(format!("%\"{}\"%", golden_id.replace(['%', '_'], "")))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(action)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|a| a.golden_ids.iter().any(|g| g == golden_id))
            .collect())
    }

    /// One merge event.
    pub async fn merge_event(&self, id: i64) -> Result<Option<MergeEvent>> {
        let row: Option<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM merge_event WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(event).transpose()
    }

    /// The merges a golden id took part in (as survivor or retired), oldest first.
    pub async fn merge_events_of(&self, golden_id: &str) -> Result<Vec<MergeEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM merge_event WHERE survivor = $1 OR retired = $1 ORDER BY id"
        ))
        .bind(golden_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(event).collect()
    }

    /// The records a golden record holds now (from the crosswalk), ordered.
    pub async fn members(&self, golden_id: &str) -> Result<Vec<RecordRef>> {
        let mut rows: Vec<RecordRef> =
            sqlx::query_as("SELECT source, record_key FROM crosswalk WHERE golden_id = $1")
                .bind(golden_id)
                .fetch_all(self.pool())
                .await?;
        rows.sort();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{r, stores};

    #[tokio::test]
    async fn actions_are_kept_and_an_unmerge_marks_what_it_undid() {
        for (store, _dir) in stores().await {
            let merge = store
                .record_action(&NewAction {
                    entity: EntityKind::Person,
                    action: ActionKind::Merge,
                    golden_ids: vec!["P-1".into(), "P-2".into()],
                    sides: vec![vec![r("a", "1")], vec![r("b", "2")]],
                    merge_event: None,
                    reason: "same person",
                    decided_by: "steward",
                })
                .await
                .unwrap();
            let mut w = store
                .begin_resolution(EntityKind::Person, None, Default::default())
                .await
                .unwrap();
            w.record_merges(vec![NewMergeEvent {
                survivor: "P-1".into(),
                retired: "P-2".into(),
                survivor_members: vec![r("a", "1")],
                retired_members: vec![r("b", "2")],
                cause: format!("steward:{merge}"),
            }]);
            w.applied_up_to(merge);
            w.finish(&Default::default()).await.unwrap();
            let events = store.merge_events_of("P-2").await.unwrap();
            assert_eq!(events.len(), 1);
            let e = &events[0];
            assert_eq!(
                (e.survivor.as_str(), e.retired_members.clone()),
                ("P-1", vec![r("b", "2")])
            );
            assert!(store
                .action(merge)
                .await
                .unwrap()
                .unwrap()
                .applied_at
                .is_some());
            let unmerge = store
                .record_action(&NewAction {
                    entity: EntityKind::Person,
                    action: ActionKind::Unmerge,
                    golden_ids: vec!["P-2".into(), "P-1".into()],
                    sides: vec![vec![r("b", "2")], vec![r("a", "1")]],
                    merge_event: Some(e.id),
                    reason: "not the same",
                    decided_by: "steward",
                })
                .await
                .unwrap();
            let all = store.actions(EntityKind::Person).await.unwrap();
            assert_eq!(all.len(), 2);
            assert_eq!(all[0].undone_by, Some(unmerge), "the merge is undone");
            assert_eq!(all[1].applied_at, None, "not applied before a resolution");
            assert_eq!(
                store.merge_event(e.id).await.unwrap().unwrap().undone_by,
                Some(unmerge)
            );
            assert_eq!(store.actions_naming("P-1").await.unwrap().len(), 2);
            assert!(store.actions_naming("P-").await.unwrap().is_empty());
        }
    }
}
