//! Blocking diagnostics for `tombolo blocking`: the engine's own index
//! ([`crate::fellegi_sunter::Index`]) over people, and pair completeness against a truth file.

use std::collections::HashMap;

use tombolo_normalize::NormalizedRecord;

use crate::fellegi_sunter::{Index, Schema};
use crate::person::{PersonRec, PersonSchema};

/// The rules [`person_keys`] applies, in order.
pub use crate::person::RULES as PERSON_RULES;

/// Blocking keys of a person record: `(rule, value)`, as the engine computes them.
pub fn person_keys(r: &NormalizedRecord) -> Vec<(&'static str, String)> {
    PersonSchema.keys(&PersonRec::prepare(&r.into()))
}

/// The blocking index the engine would build over these people.
pub fn person_index<'a>(
    records: impl IntoIterator<Item = &'a NormalizedRecord>,
    max_block: usize,
) -> Index {
    let prepared: Vec<PersonRec> = records
        .into_iter()
        .map(|r| PersonRec::prepare(&r.into()))
        .collect();
    Index::build(&PersonSchema, &prepared, max_block)
}

/// Pair completeness: the share of true pairs (records of one entity, `truth[i]`) that are
/// candidates. 1.0 when there are no true pairs.
pub fn pair_completeness(truth: &[&str], candidates: &[(u32, u32)]) -> f64 {
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
        .filter(|(i, j)| truth[*i as usize] == truth[*j as usize])
        .count() as u64;
    found as f64 / true_pairs as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> NormalizedRecord {
        crate::linking::tests::normalized(tombolo_core::EntityKind::Person, "", pairs)
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
        let pairs = person_index(&recs, 10).pairs();
        assert_eq!(pairs, vec![(0, 1), (2, 3)]);
        assert_eq!(pair_completeness(&["a", "a", "b", "c"], &pairs), 1.0);
        assert_eq!(pair_completeness(&["a", "b", "a", "c"], &pairs), 0.0);
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
        assert_eq!(person_index([&a, &b], 10).pairs(), vec![(0, 1)]);
    }

    #[test]
    fn placeholder_blocks_are_capped() {
        let recs: Vec<NormalizedRecord> =
            (0..20).map(|_| rec(&[("phone", "13000000000")])).collect();
        let index = person_index(&recs, 10);
        assert!(index.pairs().is_empty());
        assert_eq!(index.oversized, vec![("phone=13000000000".to_owned(), 20)]);
    }
}
