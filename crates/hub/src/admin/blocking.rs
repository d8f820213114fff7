//! `blocking`: the candidate pairs each blocking rule produces on the stored people, the keys
//! skipped as oversized, and (given a truth file) the pair completeness.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use tombolo_core::EntityKind;
use tombolo_normalize::NormalizedRecord;
use tombolo_resolve::blocking::{pair_completeness, person_index, PERSON_RULES};

use crate::{Error, Hub, Result};

/// One rule's pairs.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStats {
    pub pairs: usize,
    pub oversized_keys: usize,
}

/// What `blocking` shows.
#[derive(Debug, Clone, Serialize)]
pub struct BlockingReport {
    pub records: usize,
    pub max_block: usize,
    pub candidate_pairs: usize,
    pub keys: BTreeMap<&'static str, RuleStats>,
    /// Keys shared by more than `max_block` records, with their sizes.
    pub oversized: Vec<(String, usize)>,
    pub pair_completeness: Option<f64>,
}

/// `(source, record key) → true cluster id` from a CSV whose first three columns are those.
fn read_truth(path: &Path) -> Result<HashMap<(String, String), String>> {
    let io = |e: csv::Error| Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut map = HashMap::new();
    let mut rdr = csv::Reader::from_path(path).map_err(io)?;
    for row in rdr.records() {
        let row = row.map_err(io)?;
        if let (Some(s), Some(k), Some(id)) = (row.get(0), row.get(1), row.get(2)) {
            map.insert((s.to_owned(), k.to_owned()), id.to_owned());
        }
    }
    Ok(map)
}

impl Hub {
    /// The blocking of the stored people with `max_block`; `truth` scores its completeness.
    pub async fn blocking(&self, max_block: usize, truth: Option<&Path>) -> Result<BlockingReport> {
        let stored = self.store.records(EntityKind::Person).await?;
        let records: Vec<&NormalizedRecord> = stored.iter().map(|s| &s.record).collect();
        let index = person_index(records.iter().copied(), max_block);
        let mut keys = BTreeMap::new();
        for rule in PERSON_RULES {
            let prefix = format!("{rule}=");
            let oversized_keys = index
                .oversized
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .count();
            keys.insert(
                rule,
                RuleStats {
                    pairs: index.rule_pairs(rule).len(),
                    oversized_keys,
                },
            );
        }
        let pairs = index.pairs();
        let pair_completeness = match truth {
            Some(path) => {
                let map = read_truth(path)?;
                let ids: Vec<String> = stored
                    .iter()
                    .map(|s| {
                        map.get(&(s.source.clone(), s.record.key.clone()))
                            .cloned()
                            .unwrap_or_else(|| format!("unknown:{}:{}", s.source, s.record.key))
                    })
                    .collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                Some(pair_completeness(&refs, &pairs))
            }
            None => None,
        };
        Ok(BlockingReport {
            records: records.len(),
            max_block,
            candidate_pairs: pairs.len(),
            keys,
            oversized: index.oversized.clone(),
            pair_completeness,
        })
    }
}
