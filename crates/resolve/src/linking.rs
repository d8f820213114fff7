//! Deterministic linking rules.
//!
//! People: records sharing a valid resident ID are one person; records sharing a cleaned name
//! and a valid mobile number are one person unless that would join two different resident IDs.
//! Organisations: records sharing a credit code or an organisation code (which the credit code
//! embeds and a pre-2015 tax number carries) are one organisation unless that would join two
//! different credit codes.

use std::collections::{BTreeMap, BTreeSet};

use tombolo_core::EntityKind;

use crate::unionfind::UnionFind;
use crate::{Input, ResolveConfig};

/// A key shared by more records than this is a placeholder or a data error, not evidence.
pub const MAX_BLOCK: usize = 50;

/// The clusters found, as sorted lists of record indices, and the rule that links each record.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub groups: Vec<Vec<usize>>,
    pub rules: Vec<String>,
    /// Keys skipped because too many records shared them.
    pub oversized: Vec<(String, usize)>,
}

/// A linking key: rule name and value.
type Key = (&'static str, String);

fn keys(entity: EntityKind, input: &Input, config: &ResolveConfig) -> Vec<Key> {
    let r = &input.record;
    let mut out = Vec::new();
    match entity {
        EntityKind::Person => {
            if let Some(id) = r.get("resident_id") {
                out.push(("resident_id", id.to_owned()));
            }
            if config.link_name_phone {
                if let (Some(name), Some(phone)) = (r.get("name"), r.get("phone")) {
                    if phone.len() == 11 && phone.starts_with('1') {
                        out.push(("name+phone", format!("{name}\u{1f}{phone}")));
                    }
                }
            }
        }
        EntityKind::Organization => {
            if let Some(c) = r.get("credit_code") {
                out.push(("credit_code", c.to_owned()));
            }
            if let Some(c) = r.get("org_code") {
                out.push(("org_code", c.to_owned()));
            }
        }
        _ => {}
    }
    out
}

/// The hard identifier of a record: two records with different ones are never linked.
fn hard_id(entity: EntityKind, input: &Input) -> Option<String> {
    match entity {
        EntityKind::Person => input.record.get("resident_id").map(str::to_owned),
        EntityKind::Organization => input.record.get("credit_code").map(str::to_owned),
        _ => None,
    }
}

/// Rule priority: stronger rules are applied first, so weaker ones meet their constraints.
const ORDER: [&str; 4] = ["resident_id", "credit_code", "org_code", "name+phone"];

pub fn cluster(entity: EntityKind, records: &[Input], config: &ResolveConfig) -> Clusters {
    let ids = records
        .iter()
        .map(|r| hard_id(entity, r).into_iter().collect::<BTreeSet<_>>())
        .collect();
    let mut uf = UnionFind::new(ids);
    let record_keys: Vec<Vec<Key>> = records.iter().map(|r| keys(entity, r, config)).collect();
    let mut blocks: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, ks) in record_keys.iter().enumerate() {
        for k in ks {
            blocks.entry(k.clone()).or_default().push(i);
        }
    }
    let mut oversized = Vec::new();
    for rule in ORDER {
        for ((r, value), members) in &blocks {
            if *r != rule || members.len() < 2 {
                continue;
            }
            if members.len() > MAX_BLOCK {
                oversized.push((format!("{r}={value}"), members.len()));
                continue;
            }
            for w in members.windows(2) {
                // A refused union is the hard constraint at work; the records stay apart.
                uf.union(w[0], w[1]);
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..records.len() {
        let root = uf.find(i);
        by_root.entry(root).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    let mut cluster_of = vec![0; records.len()];
    for (c, g) in groups.iter().enumerate() {
        for &i in g {
            cluster_of[i] = c;
        }
    }
    let mut rules = vec![String::new(); records.len()];
    for g in &groups {
        for &i in g {
            let shared: Vec<&str> = ORDER
                .iter()
                .copied()
                .filter(|rule| {
                    record_keys[i].iter().any(|k| {
                        k.0 == *rule
                            && blocks.get(k).is_some_and(|m| {
                                m.len() <= MAX_BLOCK
                                    && m.iter().any(|&j| j != i && cluster_of[j] == cluster_of[i])
                            })
                    })
                })
                .collect();
            rules[i] = if g.len() == 1 {
                "singleton".to_owned()
            } else if shared.is_empty() {
                "transitive".to_owned()
            } else {
                shared.join(",")
            };
        }
    }
    Clusters {
        groups,
        rules,
        oversized,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tombolo_normalize::NormalizedRecord;

    pub(crate) fn person(source: &str, key: &str, pairs: &[(&str, &str)]) -> Input {
        Input {
            source: source.into(),
            record: NormalizedRecord {
                entity: EntityKind::Person,
                key: key.into(),
                observed_at: None,
                values: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                issues: vec![],
                derived: vec![],
            },
        }
    }

    #[test]
    fn links_by_id_and_by_name_and_phone() {
        let recs = vec![
            person(
                "a",
                "1",
                &[
                    ("resident_id", "11010519491231002X"),
                    ("name", "张三"),
                    ("phone", "13800138000"),
                ],
            ),
            person(
                "b",
                "2",
                &[("resident_id", "11010519491231002X"), ("name", "张叁")],
            ),
            person("c", "3", &[("name", "张三"), ("phone", "13800138000")]),
            person("d", "4", &[("name", "李四"), ("phone", "13800138000")]),
        ];
        let c = cluster(
            EntityKind::Person,
            &recs,
            &ResolveConfig {
                link_name_phone: true,
                ..Default::default()
            },
        );
        assert_eq!(c.groups, vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(c.rules[1], "resident_id");
        assert_eq!(c.rules[2], "name+phone");
        assert_eq!(c.rules[3], "singleton");
    }

    #[test]
    fn twins_with_different_ids_never_link() {
        // Same name and phone (a shared family phone), different valid IDs.
        let recs = vec![
            person(
                "a",
                "1",
                &[
                    ("resident_id", "110105199001010011"),
                    ("name", "王芳"),
                    ("phone", "13800138000"),
                ],
            ),
            person(
                "a",
                "2",
                &[
                    ("resident_id", "110105199001010038"),
                    ("name", "王芳"),
                    ("phone", "13800138000"),
                ],
            ),
            person("b", "3", &[("name", "王芳"), ("phone", "13800138000")]),
        ];
        let c = cluster(
            EntityKind::Person,
            &recs,
            &ResolveConfig {
                link_name_phone: true,
                ..Default::default()
            },
        );
        let together = c.groups.iter().any(|g| g.contains(&0) && g.contains(&1));
        assert!(!together);
    }

    #[test]
    fn oversized_blocks_are_skipped() {
        let recs: Vec<Input> = (0..MAX_BLOCK + 1)
            .map(|i| {
                person(
                    "a",
                    &i.to_string(),
                    &[("name", "某某"), ("phone", "13900000000")],
                )
            })
            .collect();
        let c = cluster(
            EntityKind::Person,
            &recs,
            &ResolveConfig {
                link_name_phone: true,
                ..Default::default()
            },
        );
        assert_eq!(c.groups.len(), MAX_BLOCK + 1);
        assert_eq!(c.oversized.len(), 1);
    }
}
