//! Survivorship: for each golden field, the value of the most trusted source that has a valid
//! one, the most recent among equally trusted sources, with the provenance of the choice.
//! An address survives as a whole (all its parts from one record), never mixed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use tombolo_core::{EntityKind, GoldenRecord, Provenance, SourceRef};

use crate::{Input, Result, SurvivorshipConfig};

/// The field group a value belongs to: `address.road` belongs to `address`.
pub fn group(field: &str) -> &str {
    field.split('.').next().unwrap_or(field)
}

/// The members of a golden record as source references, in order.
pub(crate) fn source_refs(records: &[Input], members: &[usize]) -> Vec<SourceRef> {
    let mut refs: Vec<SourceRef> = members
        .iter()
        .map(|&m| SourceRef {
            source: records[m].source.clone(),
            record_key: records[m].record.key.clone(),
        })
        .collect();
    refs.sort();
    refs
}

/// How survivorship ranks a candidate value of a field group: trust rank; a value without
/// validation issue before one with; a typed value before a derived one; more parts
/// (completeness) before fewer; the most recent; then source and key for determinism.
type Rank<'a> = (
    usize,
    bool,
    bool,
    Reverse<usize>,
    Reverse<Option<&'a str>>,
    &'a str,
    &'a str,
);

fn rank<'a>(config: &SurvivorshipConfig, g: &str, r: &'a Input, parts: usize) -> Rank<'a> {
    let issue = r.record.issues.iter().any(|i| group(&i.field) == g);
    let derived = r
        .record
        .derived
        .iter()
        .any(|d| group(d.split(':').next().unwrap_or(d)) == g);
    (
        config.rank(g, &r.source),
        issue,
        derived,
        Reverse(parts),
        Reverse(r.record.observed_at.as_deref()),
        r.source.as_str(),
        r.record.key.as_str(),
    )
}

/// Why one candidate beat another: the first term of the ranking that told them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A more trusted source.
    Trust,
    /// A value without validation issue (or typed rather than derived).
    Validity,
    /// More address parts.
    Completeness,
    /// Observed more recently.
    Recency,
    /// Equal in all: the source and key order decided.
    SourceOrder,
}

impl Reason {
    /// Its name, as it is serialised (`trust`, `validity`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Validity => "validity",
            Self::Completeness => "completeness",
            Self::Recency => "recency",
            Self::SourceOrder => "source_order",
        }
    }

    fn between(x: &Rank<'_>, y: &Rank<'_>) -> Self {
        if x.0 != y.0 {
            Self::Trust
        } else if x.1 != y.1 || x.2 != y.2 {
            Self::Validity
        } else if x.3 != y.3 {
            Self::Completeness
        } else if x.4 != y.4 {
            Self::Recency
        } else {
            Self::SourceOrder
        }
    }
}

/// One member's value of a field group, as survivorship weighed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Candidate {
    pub source: String,
    pub record_key: String,
    /// The group's fields and values in this record.
    pub values: BTreeMap<String, String>,
    pub observed_at: Option<String>,
    /// Position of the source in the field's trust order (lower is more trusted).
    pub trust_rank: usize,
    /// The record's value has a validation issue.
    pub issue: bool,
    /// The value was derived (from another field), not typed.
    pub derived: bool,
    /// The value chosen (this candidate won, or holds the same value as the winner).
    pub chosen: bool,
    /// Why it lost to the chosen value (`None` when chosen).
    pub lost: Option<Reason>,
}

/// Every member's value of every field group, best first, as [`golden`] chose among them:
/// what lineage and reconciliation show (the value chosen, and why each other value lost).
pub fn contests(
    records: &[Input],
    members: &[usize],
    config: &SurvivorshipConfig,
) -> BTreeMap<String, Vec<Candidate>> {
    // Group → (member, its values of the group).
    type Values<'a> = Vec<(&'a str, &'a str)>;
    let mut by_group: BTreeMap<&str, Vec<(usize, Values<'_>)>> = BTreeMap::new();
    for &m in members {
        let mut per: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (f, v) in records[m].record.values() {
            per.entry(group(f)).or_default().push((f, v));
        }
        for (g, mut vals) in per {
            vals.sort_unstable();
            by_group.entry(g).or_default().push((m, vals));
        }
    }
    by_group
        .into_iter()
        .map(|(g, cands)| {
            let mut ranked: Vec<_> = cands
                .into_iter()
                .map(|(m, vals)| (rank(config, g, &records[m], vals.len()), m, vals))
                .collect();
            ranked.sort_by(|a, b| a.0.cmp(&b.0));
            let best = ranked.first().map(|(k, _, v)| (*k, v.clone()));
            let out = ranked
                .iter()
                .map(|(k, m, vals)| {
                    let r = &records[*m];
                    let chosen = best.as_ref().is_some_and(|(_, bv)| bv == vals);
                    Candidate {
                        source: r.source.clone(),
                        record_key: r.record.key.clone(),
                        values: vals
                            .iter()
                            .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
                            .collect(),
                        observed_at: r.record.observed_at.clone(),
                        trust_rank: k.0,
                        issue: k.1,
                        derived: k.2,
                        chosen,
                        lost: match &best {
                            Some((bk, _)) if !chosen => Some(Reason::between(bk, k)),
                            _ => None,
                        },
                    }
                })
                .collect();
            (g.to_owned(), out)
        })
        .collect()
}

pub fn golden(
    entity: EntityKind,
    id: &str,
    records: &[Input],
    members: &[usize],
    config: &SurvivorshipConfig,
    now: &str,
) -> Result<GoldenRecord> {
    // Each member's values once, ordered by group then field, with the span of each group.
    let vals: Vec<Vec<(&str, &str)>> = members
        .iter()
        .map(|&m| {
            let mut v: Vec<(&str, &str)> = records[m].record.values().collect();
            v.sort_by_key(|(f, _)| (group(f), *f));
            v
        })
        .collect();
    let spans: Vec<Vec<(&str, std::ops::Range<usize>)>> = vals
        .iter()
        .map(|v| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < v.len() {
                let (g, start) = (group(v[i].0), i);
                while i < v.len() && group(v[i].0) == g {
                    i += 1;
                }
                out.push((g, start..i));
            }
            out
        })
        .collect();
    let groups: BTreeSet<&str> = spans.iter().flatten().map(|(g, _)| *g).collect();
    let mut values = BTreeMap::new();
    let mut provenance = Vec::new();
    for g in groups {
        // Candidates: (member position, its values of the group).
        let candidates = spans.iter().enumerate().filter_map(|(mi, sp)| {
            sp.iter()
                .find(|(x, _)| *x == g)
                .map(|(_, r)| (mi, &vals[mi][r.clone()]))
        });
        // Ranked by [`rank`], computed once per candidate.
        let mut candidates: Vec<_> = candidates
            .map(|(mi, slice)| {
                (
                    rank(config, g, &records[members[mi]], slice.len()),
                    mi,
                    slice,
                )
            })
            .collect();
        candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let Some((best_key, best, best_values)) = candidates.first().cloned() else {
            continue;
        };
        // The strongest candidate with another value: what the choice was made against.
        let runner_up = candidates
            .iter()
            .skip(1)
            .find(|(_, _, slice)| *slice != best_values);
        let rule = match runner_up {
            None if candidates.len() == 1 => "only".to_owned(),
            None => "agreed".to_owned(),
            Some((y, _, _)) => match Reason::between(&best_key, y) {
                Reason::Trust => format!("trust:{}", records[members[best]].source),
                Reason::Validity => "validity".to_owned(),
                Reason::Completeness => "completeness".to_owned(),
                Reason::Recency => "recency".to_owned(),
                Reason::SourceOrder => "tie:source_order".to_owned(),
            },
        };
        let r = &records[members[best]];
        for (k, v) in best_values {
            values.insert((*k).to_owned(), (*v).to_owned());
        }
        provenance.push(Provenance {
            field: g.to_owned(),
            source: r.source.clone(),
            record_key: r.record.key.clone(),
            observed_at: r.record.observed_at.clone(),
            rule,
        });
    }
    let members = source_refs(records, members);
    Ok(GoldenRecord {
        golden_id: id.to_owned(),
        entity,
        version: 0,
        values,
        provenance,
        members,
        merged_from: Vec::new(),
        retired_into: None,
        updated_at: now.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linking::tests::person;

    #[test]
    fn trust_then_recency_and_whole_addresses() {
        let mut a = person(
            "hukou",
            "1",
            &[
                ("name", "张三"),
                ("address", "X路1号"),
                ("address.road", "X路"),
                ("address.number", "1"),
            ],
        );
        a.record.observed_at = Some("2020-01-01".into());
        let mut b = person(
            "grid",
            "2",
            &[
                ("name", "张叁"),
                ("phone", "13800138000"),
                ("address.building", "3"),
            ],
        );
        b.record.observed_at = Some("2024-01-01".into());
        let mut c = person("grid", "3", &[("phone", "13900139000")]);
        c.record.observed_at = Some("2025-01-01".into());
        let recs = vec![a, b, c];
        let cfg = SurvivorshipConfig {
            trust: vec!["hukou".into(), "grid".into()],
            fields: BTreeMap::new(),
        };
        let g = golden(EntityKind::Person, "P-1", &recs, &[0, 1, 2], &cfg, "now").unwrap();
        assert_eq!(g.values["name"], "张三");
        assert_eq!(
            g.values["phone"], "13900139000",
            "same trust: the most recent wins"
        );
        assert_eq!(
            g.values.get("address.building"),
            None,
            "address parts are not mixed across records"
        );
        assert_eq!(g.values["address.road"], "X路");
        let name = g.provenance.iter().find(|p| p.field == "name").unwrap();
        assert_eq!(
            (name.source.as_str(), name.rule.as_str()),
            ("hukou", "trust:hukou")
        );
        let phone = g.provenance.iter().find(|p| p.field == "phone").unwrap();
        assert_eq!(
            (phone.record_key.as_str(), phone.rule.as_str()),
            ("3", "recency")
        );
        assert_eq!(g.members.len(), 3);
        // The contests say the same, with each loser's reason.
        let c = contests(&recs, &[0, 1, 2], &cfg);
        let name = &c["name"];
        assert!(name[0].chosen && name[0].source == "hukou");
        assert_eq!(name[1].lost, Some(Reason::Trust));
        for r in [
            Reason::Trust,
            Reason::Validity,
            Reason::Completeness,
            Reason::Recency,
            Reason::SourceOrder,
        ] {
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                r.as_str(),
                "named as serialised"
            );
        }
        let phone = &c["phone"];
        assert_eq!((phone[0].record_key.as_str(), phone[0].chosen), ("3", true));
        assert_eq!(phone[1].lost, Some(Reason::Recency));
        assert_eq!(
            c["address"][0].values.len(),
            3,
            "an address is weighed whole"
        );
    }

    #[test]
    fn validity_then_completeness_decide_between_equals() {
        let mut a = person("grid", "1", &[("birth_date", "1990-01-02")]);
        a.record.issues.push(tombolo_normalize::FieldIssue {
            field: "birth_date".into(),
            raw: None,
            reason: "conflicts with the resident ID".into(),
        });
        a.record.observed_at = Some("2025-01-01".into());
        let b = person(
            "grid",
            "2",
            &[("birth_date", "1990-02-01"), ("address.road", "X路")],
        );
        let c = person(
            "grid",
            "3",
            &[("address.road", "X路"), ("address.number", "1")],
        );
        let recs = vec![a, b, c];
        let cfg = SurvivorshipConfig::default();
        let g = golden(EntityKind::Person, "P-1", &recs, &[0, 1, 2], &cfg, "now").unwrap();
        assert_eq!(g.values["birth_date"], "1990-02-01", "the valid value wins");
        let rule = |f: &str| {
            g.provenance
                .iter()
                .find(|p| p.field == f)
                .unwrap()
                .rule
                .clone()
        };
        assert_eq!(rule("birth_date"), "validity");
        assert_eq!(g.values["address.number"], "1", "the fuller address wins");
        assert_eq!(rule("address"), "completeness");
    }

    #[test]
    fn per_field_trust_overrides() {
        let recs = vec![
            person("hukou", "1", &[("phone", "13800138000")]),
            person("grid", "2", &[("phone", "13900139000")]),
        ];
        let cfg = SurvivorshipConfig {
            trust: vec!["hukou".into(), "grid".into()],
            fields: BTreeMap::from([("phone".to_owned(), vec!["grid".to_owned()])]),
        };
        let g = golden(EntityKind::Person, "P-1", &recs, &[0, 1], &cfg, "now").unwrap();
        assert_eq!(g.values["phone"], "13900139000");
    }
}
