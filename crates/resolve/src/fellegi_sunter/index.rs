//! The blocking index: which records share a key. Blocks larger than the cap (a blank name, a
//! placeholder ID, a switchboard phone) are kept out and reported, so no block grows without
//! bound.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use rayon::prelude::*;

use super::schema::Schema;

#[derive(Debug, Clone, Default)]
pub struct Index {
    rules: Vec<&'static str>,
    /// Per block: rule (index into `rules`) and members (ascending record indices).
    blocks: Vec<(u16, Vec<u32>)>,
    /// Per record: the usable blocks it is in.
    of_record: Vec<Vec<u32>>,
    /// Per rule: records that have a key of that rule (oversized or not).
    keyed: HashMap<&'static str, u64>,
    /// Keys skipped because too many records shared them: `rule=value`, records.
    pub oversized: Vec<(String, usize)>,
}

impl Index {
    pub fn build<S: Schema>(schema: &S, recs: &[S::Rec], max_block: usize) -> Self {
        // Keys are kept as 64-bit hashes: a collision only adds a candidate pair, which the
        // scorer then judges like any other.
        let hash = |rule: &str, value: &str| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            rule.hash(&mut h);
            value.hash(&mut h);
            h.finish()
        };
        let keys: Vec<Vec<(&'static str, u64)>> = recs
            .par_iter()
            .map(|r| {
                schema
                    .keys(r)
                    .into_iter()
                    .map(|(rule, value)| (rule, hash(rule, &value)))
                    .collect()
            })
            .collect();
        let mut rules: Vec<&'static str> = Vec::new();
        let mut keyed: HashMap<&'static str, u64> = HashMap::new();
        // (rule, key hash, record), sorted: each run of equal keys is a block.
        let mut entries: Vec<(u16, u64, u32)> = Vec::with_capacity(recs.len() * 4);
        for (i, ks) in keys.into_iter().enumerate() {
            for (rule, value) in ks {
                let r = match rules.iter().position(|x| *x == rule) {
                    Some(p) => p,
                    None => {
                        rules.push(rule);
                        rules.len() - 1
                    }
                } as u16;
                *keyed.entry(rule).or_default() += 1;
                entries.push((r, value, i as u32));
            }
        }
        entries.par_sort_unstable();
        entries.dedup();
        let mut out = Index {
            of_record: vec![Vec::new(); recs.len()],
            keyed,
            ..Default::default()
        };
        let mut start = 0;
        while start < entries.len() {
            let (r, value, first) = entries[start];
            let end = start
                + entries[start..]
                    .iter()
                    .take_while(|e| e.0 == r && e.1 == value)
                    .count();
            let n = end - start;
            let run = start..end;
            start = end;
            if n < 2 {
                continue;
            }
            let rule = rules[usize::from(r)];
            if n > max_block {
                // Name the key by recomputing it from its first record.
                let shown = schema
                    .keys(&recs[first as usize])
                    .into_iter()
                    .find(|(k, v)| *k == rule && hash(k, v) == value)
                    .map_or_else(|| format!("#{value:016x}"), |(_, v)| v);
                out.oversized.push((format!("{rule}={shown}"), n));
                continue;
            }
            // Ascending and distinct: the entries are sorted and deduplicated.
            let members: Vec<u32> = entries[run].iter().map(|e| e.2).collect();
            let b = out.blocks.len() as u32;
            for &m in &members {
                out.of_record[m as usize].push(b);
            }
            out.blocks.push((r, members));
        }
        out.oversized.sort();
        out.rules = rules;
        out
    }

    fn pairs_of<'a>(
        &'a self,
        blocks: impl Iterator<Item = &'a (u16, Vec<u32>)>,
    ) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (_, members) in blocks {
            for (a, &i) in members.iter().enumerate() {
                for &j in &members[a + 1..] {
                    out.push((i, j));
                }
            }
        }
        out.par_sort_unstable();
        out.dedup();
        out
    }

    /// Every candidate pair `(i, j)`, `i < j`, once.
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        self.pairs_of(self.blocks.iter())
    }

    /// The pairs that share a key of one rule.
    pub fn rule_pairs(&self, rule: &str) -> Vec<(u32, u32)> {
        let Some(r) = self.rules.iter().position(|x| *x == rule) else {
            return Vec::new();
        };
        self.pairs_of(self.blocks.iter().filter(|b| usize::from(b.0) == r))
    }

    /// Pairs agreeing on a key of `rule` (usable blocks), and the records having such a key.
    pub fn rule_agreement(&self, rule: &str) -> (u64, u64) {
        let Some(r) = self.rules.iter().position(|x| *x == rule) else {
            return (0, 0);
        };
        let agree = self
            .blocks
            .iter()
            .filter(|b| usize::from(b.0) == r)
            .map(|b| {
                let n = b.1.len() as u64;
                n * (n - 1) / 2
            })
            .sum();
        (agree, self.keyed.get(rule).copied().unwrap_or(0))
    }

    /// The records sharing a usable key with record `i` (without `i`), ascending.
    pub fn neighbours(&self, i: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self.of_record[i as usize]
            .iter()
            .flat_map(|&b| self.blocks[b as usize].1.iter().copied())
            .filter(|&j| j != i)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}
