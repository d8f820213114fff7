//! Deterministic linking rules for organisations: records sharing a credit code or an
//! organisation code (which the credit code embeds and a pre-2015 tax number carries) are one
//! organisation; so are records with the same normalised name and the same legal
//! representative. No rule joins two different credit codes.

use std::collections::BTreeMap;

use tombolo_core::EntityKind;
use tombolo_normalize::text::org_name_key;

use crate::unionfind::UnionFind;
use crate::Input;
use tombolo_core::fields::id;

/// The clusters found, as sorted lists of record indices, and the rule that links each record.
#[derive(Debug, Clone)]
pub struct Clusters {
    pub groups: Vec<Vec<usize>>,
    pub rules: Vec<String>,
    /// Keys skipped because too many records shared them.
    pub oversized: Vec<(String, usize)>,
    /// Pairs for a reviewer: a rule joined them but their credit codes differ (`true`:
    /// conflict), or the same name without two codes to tell them apart nor a legal
    /// representative to join them (`false`), left apart. Record indices, smaller first.
    pub review: Vec<(usize, usize, bool)>,
}

/// A linking key: rule name and value.
type Key = (&'static str, String);

fn keys(entity: EntityKind, input: &Input, cities: &[String]) -> Vec<Key> {
    let r = &input.record;
    let mut out = Vec::new();
    if entity == EntityKind::Organization {
        if let Some(c) = r.get(id::CREDIT_CODE) {
            out.push((id::CREDIT_CODE, c.to_owned()));
        }
        if let Some(c) = r.get(id::ORG_CODE) {
            out.push((id::ORG_CODE, c.to_owned()));
        }
        if let (Some(name), Some(rep)) = (r.get(id::NAME), r.get(id::LEGAL_REP)) {
            out.push((
                "name+legal_rep",
                format!("{}\u{1f}{rep}", org_name_key(name, cities)),
            ));
        }
    }
    out
}

/// The hard identifier of a record: two records with different ones are never linked.
fn hard_id(entity: EntityKind, input: &Input) -> Option<&str> {
    match entity {
        EntityKind::Organization => input.record.get(id::CREDIT_CODE),
        EntityKind::Person | EntityKind::Place | EntityKind::House | EntityKind::Event => None,
    }
}

/// Rule priority: stronger rules are applied first, so weaker ones meet their constraints.
const ORDER: [&str; 3] = ["credit_code", "org_code", "name+legal_rep"];

pub fn cluster(
    entity: EntityKind,
    records: &[Input],
    max_block: usize,
    cities: &[String],
) -> Clusters {
    let mut uf = UnionFind::new(records.iter().map(|r| hard_id(entity, r)));
    let record_keys: Vec<Vec<Key>> = records.iter().map(|r| keys(entity, r, cities)).collect();
    let mut blocks: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, ks) in record_keys.iter().enumerate() {
        for k in ks {
            blocks.entry(k.clone()).or_default().push(i);
        }
    }
    let mut oversized = Vec::new();
    let mut refused = Vec::new();
    for rule in ORDER {
        for ((r, value), members) in &blocks {
            if *r != rule || members.len() < 2 {
                continue;
            }
            if members.len() > max_block {
                oversized.push((format!("{r}={value}"), members.len()));
                continue;
            }
            for w in members.windows(2) {
                // A refused union is the hard constraint at work; the records stay apart,
                // and the pair goes to review.
                if !uf.union(w[0], w[1]) {
                    refused.push((w[0].min(w[1]), w[0].max(w[1])));
                }
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
                                m.len() <= max_block
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
    let review = review_pairs(entity, records, &cluster_of, refused, max_block, cities);
    Clusters {
        groups,
        rules,
        oversized,
        review,
    }
}

/// How two organisation records compare, as a review item shows it: each linking field's values
/// and level (`exact`, `different`, or none when a side lacks it). The rules weigh nothing, so
/// every weight is 0 and `probability` is the share of fields both hold that agree.
pub fn explain(a: &Input, b: &Input) -> crate::fellegi_sunter::Explanation {
    let fields = [id::NAME, id::CREDIT_CODE, id::ORG_CODE, id::LEGAL_REP];
    let (mut both, mut agree) = (0u32, 0u32);
    let terms = fields
        .iter()
        .map(|f| {
            let (x, y) = (a.record.get(f), b.record.get(f));
            let level = match (x, y) {
                (Some(x), Some(y)) => {
                    both += 1;
                    if x == y {
                        agree += 1;
                        Some("exact".to_owned())
                    } else {
                        Some("different".to_owned())
                    }
                }
                _ => None,
            };
            crate::fellegi_sunter::model::Term {
                field: (*f).to_owned(),
                level,
                weight: 0.0,
                left: x.map(str::to_owned),
                right: y.map(str::to_owned),
            }
        })
        .collect();
    crate::fellegi_sunter::Explanation {
        prior_weight: 0.0,
        terms,
        weight: 0.0,
        probability: if both == 0 {
            0.0
        } else {
            f64::from(agree) / f64::from(both)
        },
    }
}

/// Review pairs: the refused ones (conflicts), then records of one name in different clusters
/// that do not both hold a credit code or both an organisation code.
fn review_pairs(
    entity: EntityKind,
    records: &[Input],
    cluster_of: &[usize],
    refused: Vec<(usize, usize)>,
    max_block: usize,
    cities: &[String],
) -> Vec<(usize, usize, bool)> {
    let mut out: BTreeMap<(usize, usize), bool> = refused
        .into_iter()
        .filter(|(a, b)| cluster_of[*a] != cluster_of[*b])
        .map(|p| (p, true))
        .collect();
    if entity != EntityKind::Organization {
        return out.into_iter().map(|((a, b), c)| (a, b, c)).collect();
    }
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(name) = r.record.get(id::NAME) {
            by_name
                .entry(org_name_key(name, cities))
                .or_default()
                .push(i);
        }
    }
    for members in by_name
        .values()
        .filter(|m| m.len() >= 2 && m.len() <= max_block)
    {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                // Two credit codes, or two organisation codes, tell two organisations apart
                // (equal ones would have joined them).
                let both = |f: &str| {
                    records[a].record.get(f).is_some() && records[b].record.get(f).is_some()
                };
                if cluster_of[a] != cluster_of[b] && !both(id::CREDIT_CODE) && !both(id::ORG_CODE) {
                    out.entry((a.min(b), a.max(b))).or_insert(false);
                }
            }
        }
    }
    out.into_iter().map(|((a, b), c)| (a, b, c)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tombolo_normalize::NormalizedRecord;

    /// A normalised record with these values and nothing else.
    pub(crate) fn normalized(
        entity: EntityKind,
        key: &str,
        pairs: &[(&str, &str)],
    ) -> NormalizedRecord {
        NormalizedRecord {
            entity,
            key: key.into(),
            observed_at: None,
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            issues: vec![],
            derived: vec![],
            deleted: false,
        }
    }

    fn record(entity: EntityKind, source: &str, key: &str, pairs: &[(&str, &str)]) -> Input {
        Input {
            source: source.into(),
            record: (&normalized(entity, key, pairs)).into(),
        }
    }

    pub(crate) fn person(source: &str, key: &str, pairs: &[(&str, &str)]) -> Input {
        record(EntityKind::Person, source, key, pairs)
    }

    pub(crate) fn org(source: &str, key: &str, pairs: &[(&str, &str)]) -> Input {
        record(EntityKind::Organization, source, key, pairs)
    }

    #[test]
    fn links_by_codes_and_by_name_with_legal_representative() {
        let recs = vec![
            org(
                "a",
                "1",
                &[
                    ("credit_code", "91340100MA2N0X1234"),
                    ("org_code", "MA2N0X123"),
                ],
            ),
            org(
                "b",
                "2",
                &[
                    ("org_code", "MA2N0X123"),
                    ("name", "合肥望江科技有限责任公司"),
                    ("legal_rep", "张三"),
                ],
            ),
            org(
                "c",
                "3",
                &[("name", "望江科技有限公司"), ("legal_rep", "张三")],
            ),
            org(
                "c",
                "4",
                &[("name", "望江科技有限公司"), ("legal_rep", "李四")],
            ),
        ];
        let c = cluster(EntityKind::Organization, &recs, 50, &["合肥".to_owned()]);
        assert_eq!(c.groups, vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(c.rules[0], "org_code");
        assert_eq!(c.rules[2], "name+legal_rep");
        assert_eq!(c.rules[3], "singleton");
    }

    #[test]
    fn different_credit_codes_never_link() {
        let recs = vec![
            org(
                "a",
                "1",
                &[
                    ("credit_code", "91340100MA2N0X1234"),
                    ("name", "甲有限公司"),
                    ("legal_rep", "王芳"),
                ],
            ),
            org(
                "a",
                "2",
                &[
                    ("credit_code", "91340100MA2N0Y5678"),
                    ("name", "甲有限公司"),
                    ("legal_rep", "王芳"),
                ],
            ),
            org("b", "3", &[("name", "甲有限公司"), ("legal_rep", "王芳")]),
        ];
        let c = cluster(EntityKind::Organization, &recs, 50, &[]);
        let together = c.groups.iter().any(|g| g.contains(&0) && g.contains(&1));
        assert!(!together);
    }

    #[test]
    fn oversized_blocks_are_skipped() {
        let recs: Vec<Input> = (0..6)
            .map(|i| org("a", &i.to_string(), &[("org_code", "000000000")]))
            .collect();
        let c = cluster(EntityKind::Organization, &recs, 5, &[]);
        assert_eq!(c.groups.len(), 6);
        assert_eq!(c.oversized.len(), 1);
    }

    #[test]
    fn refused_pairs_and_unconfirmed_namesakes_go_to_review() {
        let recs = vec![
            // Same name and legal representative, two credit codes: refused, a conflict.
            org(
                "a",
                "1",
                &[
                    ("credit_code", "91340100MA2N0X1234"),
                    ("name", "望江科技有限公司"),
                    ("legal_rep", "张三"),
                ],
            ),
            org(
                "b",
                "2",
                &[
                    ("credit_code", "91340100MA2N0X5678"),
                    ("name", "望江科技有限公司"),
                    ("legal_rep", "张三"),
                ],
            ),
            // Same name, another legal representative, no code on one side: uncertain.
            org(
                "c",
                "3",
                &[("name", "淝河贸易有限公司"), ("legal_rep", "李四")],
            ),
            org(
                "d",
                "4",
                &[
                    ("credit_code", "91340100MA2N0Y0001"),
                    ("name", "淝河贸易有限公司"),
                    ("legal_rep", "王五"),
                ],
            ),
            // Same name, two organisation codes: two organisations, nothing to ask.
            org(
                "e",
                "5",
                &[("org_code", "MA2N0Z001"), ("name", "巢湖物流有限公司")],
            ),
            org(
                "f",
                "6",
                &[("org_code", "MA2N0Z002"), ("name", "巢湖物流有限公司")],
            ),
        ];
        let c = cluster(EntityKind::Organization, &recs, 50, &[]);
        assert_eq!(c.review, vec![(0, 1, true), (2, 3, false)]);
        let e = explain(&recs[2], &recs[3]);
        assert_eq!(e.terms[0].level.as_deref(), Some("exact"));
        assert_eq!(e.terms[3].level.as_deref(), Some("different"));
        assert!(
            (e.probability - 0.5).abs() < 1e-9,
            "one of the two fields both hold agrees"
        );
    }
}
