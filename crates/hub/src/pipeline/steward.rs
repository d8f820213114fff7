//! What reviewers' decisions and stewards' actions ask of a resolution: the pairs it must
//! join or keep apart, the ids it must give back, and the merges it made (to record them so
//! that each can be undone).

use std::collections::{BTreeMap, HashMap, HashSet};

use tombolo_core::{EntityKind, ReviewVerdict};
use tombolo_resolve::fellegi_sunter::Verdict;
use tombolo_resolve::{Input, ManualDecision};
use tombolo_store::apply::PreviousLinks;
use tombolo_store::resolution::{RecordRef, StoredDecision};
use tombolo_store::steward::{ActionKind, NewMergeEvent, StewardAction};

use super::Hub;
use crate::Result;

impl Hub {
    /// What reviewers' decisions (people and organisations) and stewards' actions ask of a
    /// resolution or assembly of `entity`, whose stored records are `records`.
    pub(super) async fn steering(&self, entity: EntityKind, records: &[Input]) -> Result<Steering> {
        let reviewed = if entity.is_matched() {
            self.store.decisions(entity).await?
        } else {
            Vec::new()
        };
        let actions = self.store.actions(entity).await?;
        // Which records are stored matters only to stewards' actions (their sides were named
        // when they were asked).
        let live: HashSet<(&str, &str)> = if actions.is_empty() {
            HashSet::new()
        } else {
            records
                .iter()
                .map(|r| (r.source.as_str(), r.record.key.as_str()))
                .collect()
        };
        Ok(steer(reviewed, &actions, &|r: &RecordRef| {
            live.contains(&(r.0.as_str(), r.1.as_str()))
        }))
    }
}

/// Decisions, ids and pending merges for one resolution of a kind.
#[derive(Debug, Default)]
pub(super) struct Steering {
    pub decisions: Vec<ManualDecision>,
    /// Record → the id a steward's action not yet applied gives it.
    pub preferred: HashMap<RecordRef, String>,
    /// Stewards' merges not yet applied: (action id, first id, second id).
    pub merges: Vec<(i64, String, String)>,
    /// The newest action this resolution applies.
    pub newest: Option<i64>,
    /// Reviewers' "same" decisions: (record, record, who decided), to name a merge's cause.
    pub reviewed_matches: Vec<(RecordRef, RecordRef, String)>,
    /// Every steward's merge in force: second id → first id (places merge by id).
    pub standing_merges: BTreeMap<String, String>,
}

/// Two records and what was said of them.
type Pair = (RecordRef, RecordRef, Verdict);

/// The pairs one action decides, among records still live: a merge ties every record to the
/// first one; a split keeps the taken records together and apart from the rest; an unmerge
/// keeps the two sides apart.
fn pairs(a: &StewardAction, live: &dyn Fn(&RecordRef) -> bool) -> Vec<Pair> {
    let side = |i: usize| -> Vec<&RecordRef> {
        a.sides
            .get(i)
            .into_iter()
            .flatten()
            .filter(|r| live(r))
            .collect()
    };
    let (one, two) = (side(0), side(1));
    let mut out = Vec::new();
    let star = |records: &[&RecordRef], out: &mut Vec<_>| {
        if let Some((first, rest)) = records.split_first() {
            out.extend(
                rest.iter()
                    .map(|r| ((*first).clone(), (*r).clone(), Verdict::Match)),
            );
        }
    };
    let apart = |out: &mut Vec<_>| {
        for x in &one {
            out.extend(
                two.iter()
                    .map(|y| ((*x).clone(), (*y).clone(), Verdict::Distinct)),
            );
        }
    };
    match a.action {
        ActionKind::Merge => {
            let all: Vec<&RecordRef> = one.iter().chain(two.iter()).copied().collect();
            star(&all, &mut out);
        }
        ActionKind::Split => {
            star(&one, &mut out);
            apart(&mut out);
        }
        ActionKind::Unmerge => apart(&mut out),
    }
    out
}

/// What `reviewed` (reviewers' decisions on pairs) and `actions` (stewards' actions, oldest
/// first) ask, among the records `live` says are stored. Where two speak about one pair, the
/// later one holds; a merge undone speaks no more.
fn steer(
    reviewed: Vec<StoredDecision>,
    actions: &[StewardAction],
    live: &dyn Fn(&RecordRef) -> bool,
) -> Steering {
    let mut out = Steering {
        reviewed_matches: reviewed
            .iter()
            .filter(|d| d.verdict == ReviewVerdict::Match)
            .map(|d| (d.a.clone(), d.b.clone(), d.decided_by.clone()))
            .collect(),
        ..Default::default()
    };
    // (when, order) → pairs, so reviewers' and stewards' words apply in time order.
    let mut said: Vec<(String, usize, Vec<Pair>)> = reviewed
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let v = match d.verdict {
                ReviewVerdict::Match => Verdict::Match,
                ReviewVerdict::Distinct => Verdict::Distinct,
            };
            (d.decided_at, i, vec![(d.a, d.b, v)])
        })
        .collect();
    let base = said.len();
    for (i, a) in actions.iter().enumerate() {
        if a.action == ActionKind::Merge && a.undone_by.is_some() {
            continue;
        }
        if let (ActionKind::Merge, [first, second]) = (a.action, a.golden_ids.as_slice()) {
            out.standing_merges.insert(second.clone(), first.clone());
        }
        said.push((a.decided_at.clone(), base + i, pairs(a, live)));
        if a.applied_at.is_some() {
            continue;
        }
        out.newest = Some(out.newest.map_or(a.id, |n: i64| n.max(a.id)));
        let give = |out: &mut Steering, side: usize, id: Option<&String>| {
            if let Some(id) = id {
                for r in a.sides.get(side).into_iter().flatten() {
                    out.preferred.insert(r.clone(), id.clone());
                }
            }
        };
        match a.action {
            ActionKind::Merge => {
                give(&mut out, 0, a.golden_ids.first());
                give(&mut out, 1, a.golden_ids.first());
                if let [first, second] = a.golden_ids.as_slice() {
                    out.merges.push((a.id, first.clone(), second.clone()));
                }
            }
            ActionKind::Split => {
                // The records taken out claim no id: the records left keep it.
                give(&mut out, 0, Some(&String::new()));
                give(&mut out, 1, a.golden_ids.first());
            }
            ActionKind::Unmerge => {
                give(&mut out, 0, a.golden_ids.first());
                give(&mut out, 1, a.golden_ids.get(1));
            }
        }
    }
    said.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut by_pair: BTreeMap<(RecordRef, RecordRef), Verdict> = BTreeMap::new();
    for (_, _, pairs) in said {
        for (a, b, v) in pairs {
            let key = if a <= b { (a, b) } else { (b, a) };
            by_pair.insert(key, v);
        }
    }
    out.decisions = by_pair
        .into_iter()
        .map(|((a, b), verdict)| ManualDecision { a, b, verdict })
        .collect();
    out
}

/// The merges a resolution made (`retired` id → survivor), each with both sides' records as
/// the crosswalk had them before, and its cause: the steward's merge that asked for it
/// (`steward:<id>`), a reviewer's "same" decision between the two sides (`reviewer:<who>`),
/// or the engine.
pub(super) fn merge_events(
    retired: &BTreeMap<String, String>,
    previous: &PreviousLinks,
    steering: &Steering,
) -> Vec<NewMergeEvent> {
    if retired.is_empty() {
        return Vec::new();
    }
    let involved: HashSet<&str> = retired
        .iter()
        .flat_map(|(r, s)| [r.as_str(), s.as_str()])
        .collect();
    let mut members: HashMap<&str, Vec<RecordRef>> = HashMap::new();
    for (s, k) in previous.records() {
        if let Some(g) = previous.golden(s, k).filter(|g| involved.contains(g)) {
            members
                .entry(g)
                .or_default()
                .push((s.to_owned(), k.to_owned()));
        }
    }
    for m in members.values_mut() {
        m.sort();
    }
    let of = |id: &str| members.get(id).cloned().unwrap_or_default();
    retired
        .iter()
        .filter(|(_, survivor)| !survivor.is_empty())
        .map(|(r, s)| {
            let (survivor_members, retired_members) = (of(s), of(r));
            let across = |a: &RecordRef, b: &RecordRef| {
                (survivor_members.contains(a) && retired_members.contains(b))
                    || (survivor_members.contains(b) && retired_members.contains(a))
            };
            let cause = if let Some((id, _, _)) = steering
                .merges
                .iter()
                .find(|(_, first, second)| first == s && second == r)
            {
                format!("steward:{id}")
            } else if let Some((_, _, by)) = steering
                .reviewed_matches
                .iter()
                .find(|(a, b, _)| across(a, b))
            {
                format!("reviewer:{by}")
            } else {
                "engine".to_owned()
            };
            NewMergeEvent {
                survivor: s.clone(),
                retired: r.clone(),
                survivor_members,
                retired_members,
                cause,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombolo_core::EntityKind;

    fn r(s: &str, k: &str) -> RecordRef {
        (s.to_owned(), k.to_owned())
    }

    fn act(id: i64, action: ActionKind, ids: &[&str], sides: Vec<Vec<RecordRef>>) -> StewardAction {
        StewardAction {
            id,
            entity: EntityKind::Person,
            action,
            golden_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            sides,
            merge_event: None,
            reason: "r".into(),
            decided_by: "s".into(),
            decided_at: format!("2026-12-07T00:00:0{id}Z"),
            applied_at: None,
            undone_by: None,
        }
    }

    #[test]
    fn a_merge_ties_every_record_to_the_first_and_gives_the_first_id() {
        let merge = act(
            1,
            ActionKind::Merge,
            &["P-1", "P-2"],
            vec![
                vec![r("a", "1"), r("a", "2")],
                vec![r("b", "3"), r("gone", "4")],
            ],
        );
        let s = steer(Vec::new(), &[merge], &|x| x.0 != "gone");
        let pairs: Vec<_> = s
            .decisions
            .iter()
            .map(|d| (d.a.1.as_str(), d.b.1.as_str(), d.verdict))
            .collect();
        assert_eq!(
            pairs,
            vec![("1", "2", Verdict::Match), ("1", "3", Verdict::Match)]
        );
        assert_eq!(s.preferred[&r("b", "3")], "P-1");
        assert_eq!(s.merges, vec![(1, "P-1".to_owned(), "P-2".to_owned())]);
        assert_eq!(s.standing_merges["P-2"], "P-1");
        assert_eq!(s.newest, Some(1));
    }

    #[test]
    fn an_unmerge_silences_its_merge_and_keeps_the_sides_apart() {
        let mut merge = act(
            1,
            ActionKind::Merge,
            &["P-1", "P-2"],
            vec![vec![r("a", "1")], vec![r("b", "2")]],
        );
        merge.applied_at = Some("then".into());
        merge.undone_by = Some(2);
        let unmerge = act(
            2,
            ActionKind::Unmerge,
            &["P-2", "P-1"],
            vec![vec![r("b", "2")], vec![r("a", "1")]],
        );
        let s = steer(Vec::new(), &[merge, unmerge], &|_| true);
        assert_eq!(s.decisions.len(), 1);
        assert_eq!(s.decisions[0].verdict, Verdict::Distinct);
        assert_eq!(s.preferred[&r("b", "2")], "P-2");
        assert_eq!(s.preferred[&r("a", "1")], "P-1");
        assert!(s.merges.is_empty());
        assert!(
            s.standing_merges.is_empty(),
            "an undone merge stands no more"
        );
    }

    #[test]
    fn the_later_word_on_a_pair_holds() {
        let reviewed = StoredDecision {
            a: r("a", "1"),
            b: r("b", "2"),
            verdict: ReviewVerdict::Match,
            decided_by: "x".into(),
            reason: "y".into(),
            decided_at: "2026-12-07T00:00:09Z".into(),
        };
        let split = act(
            1,
            ActionKind::Split,
            &["P-1"],
            vec![vec![r("b", "2")], vec![r("a", "1")]],
        );
        let s = steer(vec![reviewed], &[split], &|_| true);
        assert_eq!(s.decisions.len(), 1);
        assert_eq!(
            s.decisions[0].verdict,
            Verdict::Match,
            "the reviewer spoke after the split"
        );
    }
}
