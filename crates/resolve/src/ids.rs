//! Stable golden ids.
//!
//! A new cluster's id is derived from its smallest member (`P-` + 16 hex digits of a SHA-256),
//! so the same data resolves to the same ids whatever the order it arrived in. A cluster that
//! holds records of existing golden records keeps the id most of its members had; when two
//! golden records merge, the one with more members survives and the other is retired with a
//! redirect; when a golden record splits, the larger part keeps the id.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};
use tombolo_core::EntityKind;

use crate::Input;

/// Ids for each cluster, and what was retired or merged.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    pub ids: Vec<String>,
    /// Retired id → surviving id.
    pub retired: BTreeMap<String, String>,
    /// Surviving id → ids merged into it in this resolution.
    pub merged_from: BTreeMap<String, Vec<String>>,
}

/// The id a new golden record gets from its smallest member.
pub fn derived_id(entity: EntityKind, source: &str, key: &str, salt: u32) -> String {
    let mut h = Sha256::new();
    h.update(entity.as_str().as_bytes());
    h.update([0x1f]);
    h.update(source.as_bytes());
    h.update([0x1f]);
    h.update(key.as_bytes());
    if salt > 0 {
        h.update(salt.to_be_bytes());
    }
    format!(
        "{}-{}",
        entity.id_prefix(),
        &hex::encode(h.finalize())[..16]
    )
}

/// The crosswalk before a resolution: the golden record each source record had.
pub trait Previous: Sync {
    /// The golden id `(source, key)` had, if any.
    fn golden(&self, source: &str, key: &str) -> Option<&str>;
    /// Every golden id in use (a new cluster must not take one).
    fn golden_ids(&self) -> Vec<&str>;
    /// The golden id a steward's action says `(source, key)` is to have (an unmerge restores
    /// each side's former id, a merge gives both the first id; empty: none, a record split out
    /// leaves its id to the records left): it counts instead of the record's previous id when
    /// clusters claim ids.
    fn preferred(&self, _source: &str, _key: &str) -> Option<&str> {
        None
    }
}

impl Previous for BTreeMap<(String, String), String> {
    fn golden(&self, source: &str, key: &str) -> Option<&str> {
        self.get(&(source.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    fn golden_ids(&self) -> Vec<&str> {
        self.values().map(String::as_str).collect()
    }
}

/// Claims of ids by clusters, strongest first: (members naming the id, cluster size, id,
/// cluster).
fn tally<'a>(
    groups: &[Vec<usize>],
    of: impl Fn(usize) -> Option<&'a str>,
) -> Vec<(usize, usize, &'a str, usize)> {
    let mut out: Vec<(usize, usize, &str, usize)> = Vec::new();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (ci, g) in groups.iter().enumerate() {
        counts.clear();
        for &i in g {
            if let Some(id) = of(i) {
                match counts.iter_mut().find(|(x, _)| *x == id) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((id, 1)),
                }
            }
        }
        out.extend(counts.iter().map(|&(id, n)| (n, g.len(), id, ci)));
    }
    out.sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(b.2))
            .then(a.3.cmp(&b.3))
    });
    out
}

pub fn assign(
    entity: EntityKind,
    records: &[Input],
    groups: &[Vec<usize>],
    previous: &dyn Previous,
) -> Assignment {
    let held_of = |i: usize| previous.golden(&records[i].source, &records[i].record.key);
    let claim_of = |i: usize| match previous.preferred(&records[i].source, &records[i].record.key) {
        Some("") => None,
        Some(id) => Some(id),
        None => held_of(i),
    };
    // A member claims the id a steward's action gives it, else the id it had. `held`: the
    // same by the ids members had, which decides where an id no cluster keeps is retired into.
    let claims = tally(groups, claim_of);
    let held = tally(groups, held_of);
    let mut ids: Vec<Option<String>> = vec![None; groups.len()];
    let previous_ids = previous.golden_ids();
    let mut taken: HashSet<&str> = previous_ids.iter().copied().collect();
    // An id a steward's action restores is not free for a new cluster either.
    taken.extend(claims.iter().map(|c| c.2));
    let mut derived: HashSet<String> = HashSet::new();
    let mut granted: HashSet<&str> = HashSet::new();
    for &(_, _, id, ci) in &claims {
        if ids[ci].is_none() && !granted.contains(id) {
            ids[ci] = Some(id.to_owned());
            granted.insert(id);
        }
    }
    let ids: Vec<String> = ids
        .into_iter()
        .enumerate()
        .map(|(ci, id)| {
            id.unwrap_or_else(|| {
                let first = groups[ci].iter().copied().min_by(|&a, &b| {
                    (&records[a].source, &records[a].record.key)
                        .cmp(&(&records[b].source, &records[b].record.key))
                });
                let (source, key) = first
                    .map(|i| (records[i].source.as_str(), records[i].record.key.as_str()))
                    .unwrap_or(("", ""));
                let mut salt = 0;
                loop {
                    let id = derived_id(entity, source, key, salt);
                    if !taken.contains(id.as_str()) && derived.insert(id.clone()) {
                        break id;
                    }
                    salt += 1;
                }
            })
        })
        .collect();
    // Old ids not granted: retired into the cluster that took most of their members.
    let mut retired: BTreeMap<String, String> = BTreeMap::new();
    let mut merged_from: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &(_, _, id, ci) in &held {
        if granted.contains(id) || retired.contains_key(id) {
            continue;
        }
        retired.insert(id.to_owned(), ids[ci].clone());
        merged_from
            .entry(ids[ci].clone())
            .or_default()
            .push(id.to_owned());
    }
    Assignment {
        ids,
        retired,
        merged_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linking::tests::person;

    fn prev(pairs: &[(&str, &str, &str)]) -> BTreeMap<(String, String), String> {
        pairs
            .iter()
            .map(|(s, k, g)| (((*s).to_owned(), (*k).to_owned()), (*g).to_owned()))
            .collect()
    }

    #[test]
    fn new_ids_are_derived_from_the_smallest_member() {
        let recs = vec![person("b", "2", &[]), person("a", "1", &[])];
        let a = assign(EntityKind::Person, &recs, &[vec![0, 1]], &BTreeMap::new());
        assert_eq!(a.ids[0], derived_id(EntityKind::Person, "a", "1", 0));
        assert!(a.ids[0].starts_with("P-"));
    }

    #[test]
    fn merge_keeps_the_larger_and_retires_the_other() {
        let recs = vec![
            person("a", "1", &[]),
            person("a", "2", &[]),
            person("b", "3", &[]),
        ];
        let p = prev(&[
            ("a", "1", "P-big"),
            ("a", "2", "P-big"),
            ("b", "3", "P-small"),
        ]);
        let a = assign(EntityKind::Person, &recs, &[vec![0, 1, 2]], &p);
        assert_eq!(a.ids, vec!["P-big"]);
        assert_eq!(a.retired.get("P-small").map(String::as_str), Some("P-big"));
        assert_eq!(a.merged_from["P-big"], vec!["P-small"]);
    }

    #[test]
    fn split_leaves_the_id_with_the_larger_part() {
        let recs = vec![
            person("a", "1", &[]),
            person("a", "2", &[]),
            person("b", "3", &[]),
        ];
        let p = prev(&[("a", "1", "P-x"), ("a", "2", "P-x"), ("b", "3", "P-x")]);
        let a = assign(EntityKind::Person, &recs, &[vec![0, 1], vec![2]], &p);
        assert_eq!(a.ids[0], "P-x");
        assert_ne!(a.ids[1], "P-x");
        assert!(a.retired.is_empty());
    }

    /// A crosswalk with the ids stewards' actions give some records.
    struct Steered {
        prev: BTreeMap<(String, String), String>,
        preferred: BTreeMap<(String, String), String>,
    }

    impl Previous for Steered {
        fn golden(&self, source: &str, key: &str) -> Option<&str> {
            self.prev.golden(source, key)
        }
        fn golden_ids(&self) -> Vec<&str> {
            self.prev.golden_ids()
        }
        fn preferred(&self, source: &str, key: &str) -> Option<&str> {
            self.preferred.golden(source, key)
        }
    }

    #[test]
    fn a_merge_by_hand_keeps_the_first_id_even_when_smaller() {
        let recs = vec![
            person("a", "1", &[]),
            person("b", "2", &[]),
            person("b", "3", &[]),
        ];
        let p = Steered {
            prev: prev(&[("a", "1", "P-z"), ("b", "2", "P-a"), ("b", "3", "P-a")]),
            preferred: prev(&[("a", "1", "P-z"), ("b", "2", "P-z"), ("b", "3", "P-z")]),
        };
        let a = assign(EntityKind::Person, &recs, &[vec![0, 1, 2]], &p);
        assert_eq!(a.ids, vec!["P-z"]);
        assert_eq!(a.retired.get("P-a").map(String::as_str), Some("P-z"));
    }

    #[test]
    fn an_unmerge_gives_each_side_its_former_id_back() {
        // One record each: without the steward's ids, the tie goes by cluster order.
        let recs = vec![person("a", "1", &[]), person("b", "2", &[])];
        let merged = prev(&[("a", "1", "P-b"), ("b", "2", "P-b")]);
        for groups in [vec![vec![0], vec![1]], vec![vec![1], vec![0]]] {
            let p = Steered {
                prev: merged.clone(),
                preferred: prev(&[("a", "1", "P-a"), ("b", "2", "P-b")]),
            };
            let a = assign(EntityKind::Person, &recs, &groups, &p);
            let id_of =
                |r: usize| a.ids[groups.iter().position(|g| g.contains(&r)).unwrap()].clone();
            assert_eq!((id_of(0), id_of(1)), ("P-a".to_owned(), "P-b".to_owned()));
            assert!(a.retired.is_empty(), "{:?}", a.retired);
        }
    }

    #[test]
    fn a_record_split_out_leaves_the_id_to_the_records_left() {
        let recs = vec![person("a", "1", &[]), person("b", "2", &[])];
        for groups in [vec![vec![0], vec![1]], vec![vec![1], vec![0]]] {
            let p = Steered {
                prev: prev(&[("a", "1", "P-x"), ("b", "2", "P-x")]),
                preferred: prev(&[("a", "1", ""), ("b", "2", "P-x")]),
            };
            let a = assign(EntityKind::Person, &recs, &groups, &p);
            let left = groups.iter().position(|g| g.contains(&1)).unwrap();
            assert_eq!(a.ids[left], "P-x");
            assert_ne!(a.ids[1 - left], "P-x");
        }
    }
}
