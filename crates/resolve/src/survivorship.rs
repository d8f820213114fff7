//! Survivorship: for each golden field, the value of the most trusted source that has a valid
//! one, the most recent among equally trusted sources, with the provenance of the choice.
//! An address survives as a whole (all its parts from one record), never mixed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use tombolo_core::{EntityKind, GoldenRecord, Provenance, SourceRef};

use crate::{Input, Result, SurvivorshipConfig};

/// The field group a value belongs to: `address.road` belongs to `address`.
fn group(field: &str) -> &str {
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
        // Sort key: trust rank; a value without validation issue before one with; a typed
        // value before a derived one; more parts (completeness) before fewer; the most recent;
        // then source and key for determinism. Computed once per candidate.
        let mut candidates: Vec<_> = candidates
            .map(|(mi, slice)| {
                let r = &records[members[mi]];
                let issue = r.record.issues.iter().any(|i| group(&i.field) == g);
                let derived = r
                    .record
                    .derived
                    .iter()
                    .any(|d| group(d.split(':').next().unwrap_or(d)) == g);
                let key = (
                    config.rank(g, &r.source),
                    issue,
                    derived,
                    Reverse(slice.len()),
                    Reverse(r.record.observed_at.as_deref()),
                    r.source.as_str(),
                    r.record.key.as_str(),
                );
                (key, mi, slice)
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
            Some((y, _, _)) => {
                let x = &best_key;
                if x.0 != y.0 {
                    format!("trust:{}", records[members[best]].source)
                } else if x.1 != y.1 || x.2 != y.2 {
                    "validity".to_owned()
                } else if x.3 != y.3 {
                    "completeness".to_owned()
                } else if x.4 != y.4 {
                    "recency".to_owned()
                } else {
                    "tie:source_order".to_owned()
                }
            }
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
