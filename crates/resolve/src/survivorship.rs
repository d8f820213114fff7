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

pub fn golden(
    entity: EntityKind,
    id: &str,
    records: &[Input],
    members: &[usize],
    config: &SurvivorshipConfig,
    now: &str,
) -> Result<GoldenRecord> {
    let groups: BTreeSet<&str> = members
        .iter()
        .flat_map(|&m| records[m].record.values.keys().map(|k| group(k)))
        .collect();
    let mut values = BTreeMap::new();
    let mut provenance = Vec::new();
    for g in groups {
        let candidates: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&m| records[m].record.values.keys().any(|k| group(k) == g))
            .collect();
        // Sort key: trust rank, then most recent, then source and key for determinism.
        let sort_key = |&m: &usize| {
            let r = &records[m];
            (
                config.rank(g, &r.source),
                Reverse(r.record.observed_at.clone()),
                r.source.clone(),
                r.record.key.clone(),
            )
        };
        let Some(best) = candidates.iter().min_by_key(|m| sort_key(m)).copied() else {
            continue;
        };
        let ranks: BTreeSet<usize> = candidates
            .iter()
            .map(|&m| config.rank(g, &records[m].source))
            .collect();
        let distinct: BTreeSet<Vec<(&String, &String)>> = candidates
            .iter()
            .map(|&m| {
                records[m]
                    .record
                    .values
                    .iter()
                    .filter(|(k, _)| group(k) == g)
                    .collect()
            })
            .collect();
        let rule = if distinct.len() <= 1 {
            if candidates.len() == 1 {
                "only"
            } else {
                "agreed"
            }
            .to_owned()
        } else if ranks.len() > 1
            && config.rank(g, &records[best].source) < *ranks.iter().nth(1).unwrap_or(&usize::MAX)
        {
            format!("trust:{}", records[best].source)
        } else {
            "recency".to_owned()
        };
        let r = &records[best];
        for (k, v) in r.record.values.iter().filter(|(k, _)| group(k) == g) {
            values.insert(k.clone(), v.clone());
        }
        provenance.push(Provenance {
            field: g.to_owned(),
            source: r.source.clone(),
            record_key: r.record.key.clone(),
            observed_at: r.record.observed_at.clone(),
            rule,
        });
    }
    let mut members: Vec<SourceRef> = members
        .iter()
        .map(|&m| SourceRef {
            source: records[m].source.clone(),
            record_key: records[m].record.key.clone(),
        })
        .collect();
    members.sort();
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
