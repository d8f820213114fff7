//! Blocking: which pairs of records are worth comparing at all. Each record yields several keys;
//! two records are candidates when they share any key. A key shared by more than
//! `max_block` records (a blank name, a placeholder number, a switchboard phone) is skipped and
//! reported, so that no block grows without bound.

use std::collections::HashMap;

use tombolo_normalize::NormalizedRecord;

use crate::fs::Schema;
use crate::person::{PersonRec, PersonSchema};

/// The rules [`person_keys`] applies, in order.
pub use crate::person::RULES as PERSON_RULES;

/// Blocking keys of a person record: `(rule, value)`, as the engine computes them.
pub fn person_keys(r: &NormalizedRecord) -> Vec<(&'static str, String)> {
    PersonSchema.keys(&PersonRec::prepare(r))
}

/// Candidate pairs `(i, j)` with `i < j`, each once, and the keys skipped as oversized.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    pub pairs: Vec<(usize, usize)>,
    pub oversized: Vec<(String, usize)>,
}

/// The union of the blocks of every key.
pub fn candidate_pairs<F>(records: &[&NormalizedRecord], keys: F, max_block: usize) -> Candidates
where
    F: Fn(&NormalizedRecord) -> Vec<(&'static str, String)>,
{
    let mut blocks: HashMap<(&'static str, String), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for k in keys(r) {
            blocks.entry(k).or_default().push(i);
        }
    }
    let mut out = Candidates::default();
    for ((rule, value), members) in blocks {
        if members.len() < 2 {
            continue;
        }
        if members.len() > max_block {
            out.oversized
                .push((format!("{rule}={value}"), members.len()));
            continue;
        }
        for (a, &i) in members.iter().enumerate() {
            for &j in &members[a + 1..] {
                out.pairs.push((i.min(j), i.max(j)));
            }
        }
    }
    out.pairs.sort_unstable();
    out.pairs.dedup();
    out.oversized.sort();
    out
}

/// Pair completeness: the share of true pairs (records of one entity, `truth[i]`) that are
/// candidates. 1.0 when there are no true pairs.
pub fn pair_completeness(truth: &[&str], candidates: &[(usize, usize)]) -> f64 {
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for t in truth {
        *sizes.entry(t).or_default() += 1;
    }
    let true_pairs: u64 = sizes.values().map(|n| n * (n - 1) / 2).sum();
    if true_pairs == 0 {
        return 1.0;
    }
    let found = candidates
        .iter()
        .filter(|(i, j)| truth[*i] == truth[*j])
        .count() as u64;
    found as f64 / true_pairs as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> NormalizedRecord {
        crate::linking::tests::person("s", "", pairs).record
    }

    #[test]
    fn keys_and_pairs() {
        let recs = [
            rec(&[
                ("name", "张伟"),
                ("birth_date", "1990-01-02"),
                ("resident_id", "11010519900102001X"),
            ]),
            rec(&[("name", "张玮"), ("birth_date", "1990-01-02")]),
            rec(&[("name", "張偉"), ("phone", "13800138000")]),
            rec(&[
                ("name", "李娜"),
                ("phone", "13800138000"),
                ("address.community", "安居社区"),
                ("address.building", "3"),
            ]),
        ];
        let k = person_keys(&recs[0]);
        assert!(k.contains(&("pinyin+birth_year", "zhang wei|1990".to_owned())));
        let refs: Vec<&NormalizedRecord> = recs.iter().collect();
        let c = candidate_pairs(&refs, person_keys, 10);
        assert_eq!(c.pairs, vec![(0, 1), (2, 3)]);
        assert_eq!(pair_completeness(&["a", "a", "b", "c"], &c.pairs), 1.0);
        assert_eq!(pair_completeness(&["a", "b", "a", "c"], &c.pairs), 0.0);
    }

    #[test]
    fn dwelling_key_tolerates_homophones_and_missing_community() {
        let a = rec(&[
            ("name", "张伟"),
            ("address.building", "3"),
            ("address.room", "301"),
        ]);
        let b = rec(&[
            ("name", "张玮"),
            ("address.community", "安居社区"),
            ("address.building", "3"),
            ("address.room", "301"),
        ]);
        let c = candidate_pairs(&[&a, &b], person_keys, 10);
        assert_eq!(c.pairs, vec![(0, 1)]);
    }

    #[test]
    fn placeholder_blocks_are_capped() {
        let recs: Vec<NormalizedRecord> =
            (0..20).map(|_| rec(&[("phone", "13000000000")])).collect();
        let refs: Vec<&NormalizedRecord> = recs.iter().collect();
        let c = candidate_pairs(&refs, person_keys, 10);
        assert!(c.pairs.is_empty());
        assert_eq!(c.oversized, vec![("phone=13000000000".to_owned(), 20)]);
    }
}
