//! Corrections by hand: `merge` two golden records, `split` records out of one, `unmerge` any
//! earlier merge (the engine's or a steward's). Each is stored as an action that every later
//! resolution applies (through retraining and incremental runs, as reviewers' decisions are),
//! marks its records changed so the next resolution takes it up, and is audited by the
//! front end as an admin command. The resolution republishes what changed, with redirects.

use serde::Serialize;
use tombolo_core::EntityKind;
use tombolo_store::resolution::RecordRef;
use tombolo_store::steward::{ActionKind, NewAction};
pub use tombolo_store::steward::{MergeEvent, StewardAction};

use crate::{Error, Hub, Result};

/// What a steward's command recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// The action's id (lineage lists it).
    pub action: i64,
    pub kind: ActionKind,
    pub entity: EntityKind,
    pub golden_ids: Vec<String>,
    /// Records on each side.
    pub sides: Vec<usize>,
}

/// What a steward may do to a kind's golden records: every kind merges and unmerges (places:
/// two addresses of one place); places do not split, since a golden place is one address (the
/// registry's, or one records name): two places cannot share it.
fn steerable(entity: EntityKind, what: &str) -> Result<()> {
    if entity == EntityKind::Place && what == "split" {
        Err(Error::Refused(
            "places do not split: a golden place is one address, and two places cannot share it; correct the address of the records at their source".into(),
        ))
    } else {
        Ok(())
    }
}

impl Hub {
    /// A golden record that is live now: its kind and records.
    async fn live_golden(&self, id: &str) -> Result<(EntityKind, Vec<RecordRef>)> {
        let g = self
            .store
            .golden(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no golden record {id}")))?;
        if let Some(into) = g.retired_into.as_deref() {
            return Err(Error::Refused(match into {
                "" => format!("{id} is retired (it has no records)"),
                into => format!("{id} is retired: it was merged into {into}"),
            }));
        }
        Ok((g.entity, self.store.members(id).await?))
    }

    /// Merges `second` into `first` (people, organisations, houses, incidents): one golden
    /// record under `first`'s id from the next resolution on; `second` is retired with a
    /// redirect to it.
    pub async fn merge(
        &self,
        first: &str,
        second: &str,
        by: &str,
        reason: &str,
    ) -> Result<Recorded> {
        if first == second {
            return Err(Error::Refused(format!(
                "{first} cannot be merged with itself"
            )));
        }
        let (e1, m1) = self.live_golden(first).await?;
        let (e2, m2) = self.live_golden(second).await?;
        if e1 != e2 {
            return Err(Error::Refused(format!(
                "{first} is a {e1} and {second} a {e2}: only golden records of one kind merge"
            )));
        }
        steerable(e1, "merge")?;
        self.record(
            e1,
            ActionKind::Merge,
            vec![first.into(), second.into()],
            vec![m1, m2],
            None,
            by,
            reason,
        )
        .await
    }

    /// Takes `records` out of `golden` into a golden record of their own; the records left
    /// keep the id.
    pub async fn split(
        &self,
        golden: &str,
        records: &[RecordRef],
        by: &str,
        reason: &str,
    ) -> Result<Recorded> {
        let (entity, members) = self.live_golden(golden).await?;
        steerable(entity, "split")?;
        if records.is_empty() {
            return Err(Error::Refused("name the records to split out".into()));
        }
        let mut taken: Vec<RecordRef> = Vec::new();
        for r in records {
            if !members.contains(r) {
                return Err(Error::Refused(format!(
                    "{}:{} is not a record of {golden}",
                    r.0, r.1
                )));
            }
            if !taken.contains(r) {
                taken.push(r.clone());
            }
        }
        taken.sort();
        let left: Vec<RecordRef> = members.into_iter().filter(|m| !taken.contains(m)).collect();
        if left.is_empty() {
            return Err(Error::Refused(format!(
                "these are all the records of {golden}: nothing would be left to split from"
            )));
        }
        self.record(
            entity,
            ActionKind::Split,
            vec![golden.into()],
            vec![taken, left],
            None,
            by,
            reason,
        )
        .await
    }

    /// Undoes merge event `event` (the engine's or a steward's): from the next resolution on,
    /// the records of each side are kept apart and each side has the id it had before.
    pub async fn unmerge(&self, event: i64, by: &str, reason: &str) -> Result<Recorded> {
        let e = self.store.merge_event(event).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "no merge event {event} (`tombolo lineage` lists them)"
            ))
        })?;
        if let Some(undone) = e.undone_by {
            return Err(Error::Refused(format!(
                "merge event {event} was already undone (action {undone})"
            )));
        }
        steerable(e.entity, "unmerge")?;
        self.record(
            e.entity,
            ActionKind::Unmerge,
            vec![e.retired.clone(), e.survivor.clone()],
            vec![e.retired_members.clone(), e.survivor_members.clone()],
            Some(event),
            by,
            reason,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        entity: EntityKind,
        kind: ActionKind,
        golden_ids: Vec<String>,
        sides: Vec<Vec<RecordRef>>,
        merge_event: Option<i64>,
        by: &str,
        reason: &str,
    ) -> Result<Recorded> {
        if reason.trim().is_empty() {
            return Err(Error::Refused(
                "give a reason (--reason): it is kept with the action".into(),
            ));
        }
        let counts = sides.iter().map(Vec::len).collect();
        let action = self
            .store
            .record_action(&NewAction {
                entity,
                action: kind,
                golden_ids: golden_ids.clone(),
                sides,
                merge_event,
                reason,
                decided_by: by,
            })
            .await?;
        Ok(Recorded {
            action,
            kind,
            entity,
            golden_ids,
            sides: counts,
        })
    }
}
