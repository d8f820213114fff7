//! Reviewers' and stewards' decisions applied to clusters made by rule (organisations, houses,
//! incidents), which
//! have no scored pairs to weigh them against: "same" decisions join the clusters of their two
//! records; "different" decisions part a cluster that holds both, keeping the records a "same"
//! decision ties together and putting every other record with the largest part it may join.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::fellegi_sunter::{Decision, Verdict};
use crate::unionfind::UnionFind;
use crate::{Input, ManualDecision};

/// Decisions on records by name, as decisions on their positions in `records` (those naming a
/// record not there are dropped: it is gone).
pub fn positions(records: &[Input], decisions: &[ManualDecision]) -> Vec<Decision> {
    if decisions.is_empty() {
        return Vec::new();
    }
    let position: HashMap<(&str, &str), u32> = records
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.source.as_str(), r.record.key.as_str()), i as u32))
        .collect();
    let find = |r: &(String, String)| position.get(&(r.0.as_str(), r.1.as_str())).copied();
    decisions
        .iter()
        .filter_map(|d| {
            Some(Decision {
                a: find(&d.a)?,
                b: find(&d.b)?,
                verdict: d.verdict,
            })
        })
        .collect()
}

/// The clusters after `decisions` (record indices, as in `groups`). Records no decision names
/// stay where the rules put them unless their cluster is parted.
pub fn apply(groups: Vec<Vec<usize>>, decisions: &[Decision]) -> Vec<Vec<usize>> {
    if decisions.is_empty() {
        return groups;
    }
    let cluster_of: HashMap<usize, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(ci, g)| g.iter().map(move |&i| (i, ci)))
        .collect();
    let at = |r: u32| cluster_of.get(&(r as usize)).copied();
    // Joins first.
    let mut uf = UnionFind::new(groups.iter().map(|_| None));
    for d in decisions.iter().filter(|d| d.verdict == Verdict::Match) {
        if let (Some(a), Some(b)) = (at(d.a), at(d.b)) {
            uf.union_forced(a, b);
        }
    }
    let mut joined: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (ci, g) in groups.into_iter().enumerate() {
        joined.entry(uf.find(ci)).or_default().extend(g);
    }
    let distinct: Vec<(usize, usize)> = decisions
        .iter()
        .filter(|d| d.verdict == Verdict::Distinct)
        .map(|d| (d.a as usize, d.b as usize))
        .collect();
    let mut out = Vec::with_capacity(joined.len());
    for (_, mut members) in joined {
        members.sort_unstable();
        let inside: HashSet<usize> = members.iter().copied().collect();
        let apart: Vec<(usize, usize)> = distinct
            .iter()
            .copied()
            .filter(|(a, b)| inside.contains(a) && inside.contains(b))
            .collect();
        if apart.is_empty() {
            out.push(members);
            continue;
        }
        out.extend(part(&members, decisions, &apart));
    }
    out
}

/// Parts a cluster so that no pair of `apart` shares a part.
fn part(members: &[usize], decisions: &[Decision], apart: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let local: HashMap<usize, usize> = members.iter().enumerate().map(|(l, &m)| (m, l)).collect();
    let mut uf = UnionFind::new(members.iter().map(|_| None));
    for d in decisions.iter().filter(|d| d.verdict == Verdict::Match) {
        if let (Some(&a), Some(&b)) = (local.get(&(d.a as usize)), local.get(&(d.b as usize))) {
            uf.union_forced(a, b);
        }
    }
    // Components held together by "same" decisions, largest first (then by first member).
    let mut comps: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (l, &m) in members.iter().enumerate() {
        comps.entry(uf.find(l)).or_default().push(m);
    }
    let comp_of: HashMap<usize, usize> = comps
        .iter()
        .flat_map(|(&root, ms)| ms.iter().map(move |&m| (m, root)))
        .collect();
    let against: HashSet<(usize, usize)> = apart
        .iter()
        .flat_map(|(a, b)| {
            let (x, y) = (comp_of[a], comp_of[b]);
            [(x, y), (y, x)]
        })
        .collect();
    let mut order: Vec<(usize, Vec<usize>)> = comps.into_iter().collect();
    order.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1[0].cmp(&b.1[0])));
    // Constrained components first (they found the parts), then the free ones join the
    // largest part they may.
    let constrained: HashSet<usize> = against.iter().map(|&(x, _)| x).collect();
    order.sort_by_key(|(root, _)| !constrained.contains(root));
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (component roots, members)
    for (root, ms) in order {
        let fits = parts
            .iter_mut()
            .filter(|(roots, _)| roots.iter().all(|&r| !against.contains(&(r, root))))
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.1[0].cmp(&a.1[0])));
        match fits {
            Some((roots, members)) => {
                roots.push(root);
                members.extend(ms);
            }
            None => parts.push((vec![root], ms)),
        }
    }
    parts
        .into_iter()
        .map(|(_, mut ms)| {
            ms.sort_unstable();
            ms
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: u32, b: u32, verdict: Verdict) -> Decision {
        Decision { a, b, verdict }
    }

    fn sorted(mut g: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        g.sort();
        g
    }

    #[test]
    fn no_decisions_change_nothing() {
        let g = vec![vec![0, 1], vec![2]];
        assert_eq!(apply(g.clone(), &[]), g);
    }

    #[test]
    fn a_same_decision_joins_two_clusters() {
        let g = vec![vec![0, 1], vec![2], vec![3]];
        let out = apply(g, &[d(1, 2, Verdict::Match)]);
        assert_eq!(sorted(out), vec![vec![0, 1, 2], vec![3]]);
    }

    #[test]
    fn a_split_takes_records_out_together_and_leaves_the_rest() {
        // 2 and 3 taken out of {0,1,2,3}: apart from 0 and 1, together with each other.
        let g = vec![vec![0, 1, 2, 3]];
        let decisions = [
            d(2, 3, Verdict::Match),
            d(2, 0, Verdict::Distinct),
            d(2, 1, Verdict::Distinct),
            d(3, 0, Verdict::Distinct),
            d(3, 1, Verdict::Distinct),
        ];
        assert_eq!(
            sorted(apply(g, &decisions)),
            vec![vec![0, 1], vec![2, 3]],
            "the left records stay together though no decision ties them"
        );
    }

    #[test]
    fn a_record_no_decision_names_goes_with_the_larger_part() {
        let g = vec![vec![0, 1, 2, 9]];
        let decisions = [d(0, 1, Verdict::Match), d(0, 2, Verdict::Distinct)];
        let out = sorted(apply(g, &decisions));
        assert_eq!(out, vec![vec![0, 1, 9], vec![2]]);
    }

    #[test]
    fn different_wins_inside_what_a_same_decision_joined_only_where_it_says() {
        let g = vec![vec![0], vec![1], vec![2]];
        let decisions = [
            d(0, 1, Verdict::Match),
            d(1, 2, Verdict::Match),
            d(0, 2, Verdict::Distinct),
        ];
        let out = sorted(apply(g, &decisions));
        // 0–1–2 are tied by "same" decisions: the "different" one cannot part them.
        assert_eq!(out, vec![vec![0, 1, 2]]);
    }
}
