//! `reconcile SOURCE`: what a source holds now against what the hub holds (read whole through
//! its connector, never stored), and the cross-source conflicts: the fields where the source's
//! value loses to another source's in its golden record, recorded as corrections the
//! department can work through (`--export`), with the winning value only where the
//! department's grant shows that field in clear.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use tombolo_core::{EntityKind, Pulled};
use tombolo_normalize::Mapping;
use tombolo_privacy::Treatment;
use tombolo_resolve::survivorship::{self, Candidate};
use tombolo_resolve::Input;
use tombolo_store::corrections::NewCorrection;

use crate::{Error, Hub, Result};

/// The fields whose conflicts a department hears about, per kind (`address` is the whole
/// address with its parts).
pub fn conflict_fields(entity: EntityKind) -> &'static [&'static str] {
    match entity {
        EntityKind::Person => &[
            "name",
            "sex",
            "birth_date",
            "resident_id",
            "phone",
            "address",
        ],
        EntityKind::Organization => &["name", "credit_code", "org_code", "legal_rep", "address"],
        EntityKind::Place | EntityKind::House | EntityKind::Event => &[],
    }
}

/// How the source's rows stand against the hub's records of it. Every row read is counted in
/// exactly one of `same`, `changed`, `new`, `reappeared` and `quarantined`; every record the hub
/// holds that the source no longer has is in `only_in_hub` or `withdrawn`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceSide {
    /// Rows read from the source now.
    pub read: u64,
    /// In both, same content.
    pub same: u64,
    /// In both, changed since the last pull.
    pub changed: u64,
    /// In the source only: not pulled yet.
    pub new: u64,
    /// In the source again, though the hub holds them as withdrawn.
    pub reappeared: u64,
    /// Rows that fail their mapping or cannot be read now.
    pub quarantined: u64,
    /// Live in the hub, gone from the source (a deletion not pulled yet).
    pub only_in_hub: u64,
    /// Withdrawn in the hub and gone from the source.
    pub withdrawn: u64,
    /// The first keys of each status (up to 20), for a look.
    pub examples: BTreeMap<String, Vec<String>>,
    /// The connector's own report of what it read (physical lines, rows, pages).
    pub input: Option<serde_json::Value>,
}

/// A field where the source's value lost.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub correction: i64,
    pub record_key: String,
    pub golden_id: String,
    pub field: String,
    /// The source's own value.
    pub value: String,
    /// The value that won, when the department's grant shows the field in clear.
    pub winning_value: Option<String>,
    pub winning_source: String,
    /// Why the source's value lost (`trust`, `validity`, `completeness`, `recency`,
    /// `source_order`).
    pub why: String,
    /// Other sources in the golden record whose value differs from this one.
    pub disagreeing: usize,
}

/// What `reconcile` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub source: String,
    pub entity: EntityKind,
    /// The department whose grant decides what the worklist shows.
    pub department: Option<String>,
    pub source_side: SourceSide,
    pub conflicts: Vec<Conflict>,
    /// Conflicts per field.
    pub by_field: BTreeMap<String, u64>,
    /// Corrections opened by this reconciliation (the others were open already).
    pub opened: usize,
}

/// A field group's value as one text: the whole field when the record has it, else its parts.
pub fn shown(field: &str, values: &BTreeMap<String, String>) -> String {
    match values.get(field) {
        Some(v) => v.clone(),
        None => values.values().cloned().collect::<Vec<_>>().join(" "),
    }
}

/// Whether two values of a field group say different things: a part both hold differs (an
/// address's parts; the whole text only where a side has no parts). A value that is only less
/// complete than another does not disagree with it.
pub(crate) fn disagrees(
    field: &str,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> bool {
    let a: Vec<(&str, &str)> = a.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    let b: Vec<(&str, &str)> = b.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    parts_disagree(field, &a, &b)
}

/// [`disagrees`] on `(field, value)` pairs, sorted by field.
pub(crate) fn parts_disagree(field: &str, a: &[(&str, &str)], b: &[(&str, &str)]) -> bool {
    let parts = |v: &[(&str, &str)]| v.iter().any(|(k, _)| *k != field);
    let compare_whole = !(parts(a) && parts(b));
    a.iter().any(|(k, x)| {
        (compare_whole || *k != field)
            && b.binary_search_by(|(y, _)| y.cmp(k))
                .is_ok_and(|i| b[i].1 != *x)
    })
}

impl Hub {
    /// Reconciles `source`; `bar` follows the read of the source (hidden: none shown).
    pub async fn reconcile(
        &self,
        source: &str,
        bar: &indicatif::ProgressBar,
    ) -> Result<Reconciliation> {
        let src = self.config.source(source)?;
        let mapping = Mapping::compile(&src.mapping, &self.config.code_tables())?;
        let entity = mapping.entity();
        if !entity.is_matched() {
            return Err(Error::Refused(format!(
                "reconcile compares people and organisations; {source} holds {entity} records"
            )));
        }
        let source_side = self.read_against_store(src, &mapping, bar).await?;
        bar.finish_and_clear();
        let department = self.config.keeper(src);
        let clear = |field: &str| {
            department
                .and_then(|d| d.grants.get(&entity))
                .and_then(|g| g.get(field))
                .is_some_and(|t| matches!(t, Treatment::Clear { .. }))
        };
        let found = self.conflicts(source, entity).await?;
        let (ids, opened) = self
            .store
            .open_corrections(&found.iter().map(|(c, _, _)| c.clone()).collect::<Vec<_>>())
            .await?;
        let mut by_field: BTreeMap<String, u64> = BTreeMap::new();
        let conflicts = found
            .into_iter()
            .zip(ids)
            .map(|((c, mine, winner), id)| {
                *by_field.entry(c.field.clone()).or_default() += 1;
                Conflict {
                    correction: id,
                    record_key: c.record_key,
                    golden_id: c.golden_id,
                    winning_value: clear(&c.field).then(|| shown(&c.field, &winner.values)),
                    value: shown(&c.field, &mine.values),
                    winning_source: winner.source.clone(),
                    why: c.reason,
                    disagreeing: mine.disagreeing,
                    field: c.field,
                }
            })
            .collect();
        Ok(Reconciliation {
            source: source.to_owned(),
            entity,
            department: department.map(|d| d.name.clone()),
            source_side,
            conflicts,
            by_field,
            opened,
        })
    }

    /// Reads the whole source through its connector (from no checkpoint, storing nothing) and
    /// compares each row with the record the hub holds.
    async fn read_against_store(
        &self,
        src: &crate::config::SourceConfig,
        mapping: &Mapping,
        bar: &indicatif::ProgressBar,
    ) -> Result<SourceSide> {
        let source_err = |error: tombolo_core::SourceError| Error::Source {
            source_name: src.name.clone(),
            error,
        };
        let stored = self.store.stored_contents(&src.name).await?;
        let mut out = SourceSide::default();
        let mut seen: HashSet<String> = HashSet::new();
        let note = |out: &mut SourceSide, status: &str, key: &str| {
            let list = out.examples.entry(status.to_owned()).or_default();
            if list.len() < 20 {
                list.push(key.to_owned());
            }
        };
        let mut reader = self
            .connectors
            .open(&src.name, &src.connector, mapping.columns(), None)
            .await
            .map_err(source_err)?;
        while let Some(batch) = reader.next_batch().await.map_err(source_err)? {
            if let Some(n) = reader.size_hint() {
                bar.set_length(n);
            }
            bar.inc(batch.items.len() as u64);
            for item in &batch.items {
                out.read += 1;
                let raw = match item {
                    Pulled::Record(raw) => raw,
                    Pulled::Malformed(m) => {
                        out.quarantined += 1;
                        note(&mut out, "quarantined", &m.key);
                        continue;
                    }
                };
                let Ok(rec) = mapping.apply(raw) else {
                    out.quarantined += 1;
                    note(&mut out, "quarantined", &raw.key);
                    continue;
                };
                seen.insert(rec.key.clone());
                let status = match stored.get(&rec.key) {
                    None => "new",
                    Some((_, true)) if rec.deleted => "same",
                    Some((_, true)) => "reappeared",
                    Some((hash, _)) if *hash == self.store.content_of(&rec)? => "same",
                    Some(_) => "changed",
                };
                match status {
                    "new" => out.new += 1,
                    "reappeared" => out.reappeared += 1,
                    "same" => out.same += 1,
                    _ => out.changed += 1,
                }
                if status != "same" {
                    note(&mut out, status, &rec.key);
                }
            }
        }
        out.input = reader.input_report();
        let mut gone: Vec<(&String, bool)> = stored
            .iter()
            .filter(|(k, _)| !seen.contains(*k))
            .map(|(k, (_, deleted))| (k, *deleted))
            .collect();
        gone.sort();
        for (key, deleted) in gone {
            if deleted {
                out.withdrawn += 1;
            } else {
                out.only_in_hub += 1;
                note(&mut out, "only_in_hub", key);
            }
        }
        Ok(out)
    }

    /// Every field where a record of `source` loses to another record of its golden record:
    /// the correction to record, the source's candidate (with how many other sources
    /// disagree) and the winner.
    async fn conflicts(
        &self,
        source: &str,
        entity: EntityKind,
    ) -> Result<Vec<(NewCorrection, Mine, Candidate)>> {
        let inputs = self.inputs(entity).await?;
        let position: HashMap<(&str, &str), usize> = inputs
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.source.as_str(), r.record.key.as_str()), i))
            .collect();
        let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut involved: HashSet<String> = HashSet::new();
        for l in self.store.crosswalk(entity).await? {
            if let Some(&i) = position.get(&(l.source.as_str(), l.record_key.as_str())) {
                if l.source == source {
                    involved.insert(l.golden_id.clone());
                }
                members.entry(l.golden_id).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        for (golden, m) in members.iter().filter(|(g, _)| involved.contains(*g)) {
            out.extend(contested(source, entity, golden, &inputs, m, self));
        }
        Ok(out)
    }
}

/// The source's own candidate in a contest, with how many other sources disagree with it.
pub(crate) struct Mine {
    pub values: BTreeMap<String, String>,
    pub disagreeing: usize,
}

/// The conflicts of `source`'s records in one golden record: values that lost to a value they
/// disagree with ([`disagrees`]).
fn contested(
    source: &str,
    entity: EntityKind,
    golden: &str,
    inputs: &[Input],
    members: &[usize],
    hub: &Hub,
) -> Vec<(NewCorrection, Mine, Candidate)> {
    let contests = survivorship::contests(inputs, members, &hub.config.resolve.survivorship);
    let mut out = Vec::new();
    for field in conflict_fields(entity) {
        let Some(candidates) = contests.get(*field) else {
            continue;
        };
        let Some(winner) = candidates.first() else {
            continue;
        };
        for c in candidates.iter().filter(|c| {
            c.source == source && !c.chosen && disagrees(field, &c.values, &winner.values)
        }) {
            let disagreeing = candidates
                .iter()
                .filter(|o| o.source != source && disagrees(field, &c.values, &o.values))
                .map(|o| o.source.as_str())
                .collect::<HashSet<_>>()
                .len();
            out.push((
                NewCorrection {
                    source: source.to_owned(),
                    record_key: c.record_key.clone(),
                    entity,
                    field: (*field).to_owned(),
                    golden_id: golden.to_owned(),
                    reason: c.lost.map_or("", |r| r.as_str()).to_owned(),
                    winner: (winner.source.clone(), winner.record_key.clone()),
                },
                Mine {
                    values: c.values.clone(),
                    disagreeing,
                },
                winner.clone(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, x)| ((*k).to_owned(), (*x).to_owned()))
            .collect()
    }

    #[test]
    fn a_less_complete_address_does_not_disagree_a_different_one_does() {
        let full = v(&[
            ("address", "安徽省合肥市庐阳区望江路255号"),
            ("address.province", "安徽省"),
            ("address.road", "望江路"),
            ("address.number", "255"),
        ]);
        let short = v(&[
            ("address", "合肥市庐阳区望江路255号"),
            ("address.road", "望江路"),
            ("address.number", "255"),
        ]);
        let other = v(&[
            ("address", "合肥市庐阳区望江路257号"),
            ("address.number", "257"),
        ]);
        assert!(!disagrees("address", &short, &full));
        assert!(disagrees("address", &other, &full));
        assert!(disagrees(
            "birth_date",
            &v(&[("birth_date", "1990-01-02")]),
            &v(&[("birth_date", "1990-02-01")])
        ));
        assert!(!disagrees(
            "phone",
            &v(&[("phone", "13800138000")]),
            &v(&[("phone", "13800138000")])
        ));
    }
}
