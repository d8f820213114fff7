//! `explain SOURCE KEY`: the record, its golden record and why they are linked: the rule, the
//! evidence, and field by field how it compares with each other member (for people, the
//! Fellegi–Sunter weights of the parameters in force), with the provenance of every golden value.

use std::collections::BTreeMap;

use serde::Serialize;
use tombolo_core::{EntityKind, Provenance};
use tombolo_normalize::{FieldIssue, NormalizedRecord};

use crate::{Error, Hub, Result};
use tombolo_core::fields::id;

/// One field of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct FieldComparison {
    pub field: String,
    pub this: Option<String>,
    pub other: Option<String>,
    /// The comparison level, `exact`/`different` (organisations), or `missing`.
    pub level: String,
    /// The level's weight (people, with parameters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// The record against another member of its golden record.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub source: String,
    pub record_key: String,
    pub fields: Vec<FieldComparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// What `explain` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub source: String,
    pub record_key: String,
    pub entity: EntityKind,
    pub golden_id: String,
    pub rule: String,
    pub evidence: Option<serde_json::Value>,
    pub record: BTreeMap<String, String>,
    pub issues: Vec<FieldIssue>,
    /// Members of the golden record.
    pub members: usize,
    pub comparisons: Vec<Comparison>,
    pub provenance: Vec<Provenance>,
    /// The golden record's values (the provenance says where each came from).
    pub golden_values: BTreeMap<String, String>,
    /// The record's links to golden records of other kinds: the place its address is at, a
    /// house's owner, an incident report's reporter (each with its rule, or why there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<tombolo_core::RecordLink>,
}

/// The fields compared for organisations (which have no trained parameters).
const ORGANISATION_FIELDS: [&str; 4] = [id::NAME, id::CREDIT_CODE, id::ORG_CODE, id::LEGAL_REP];

fn compare_exact(record: &NormalizedRecord, other: &NormalizedRecord) -> Vec<FieldComparison> {
    ORGANISATION_FIELDS
        .iter()
        .map(|f| {
            let (a, b) = (record.get(f), other.get(f));
            let level = match (a, b) {
                (Some(x), Some(y)) if x == y => "exact",
                (Some(_), Some(_)) => "different",
                _ => "missing",
            };
            FieldComparison {
                field: (*f).to_owned(),
                this: a.map(str::to_owned),
                other: b.map(str::to_owned),
                level: level.to_owned(),
                weight: None,
            }
        })
        .collect()
}

impl Hub {
    /// Explains the link of `source`/`key`.
    pub async fn explain(&self, source: &str, key: &str) -> Result<Explanation> {
        let not_found = |what: String| Error::NotFound(what);
        let (entity, link) = self
            .store
            .link(source, key)
            .await?
            .ok_or_else(|| not_found(format!("no record {source}/{key} in the crosswalk")))?;
        let record = self
            .store
            .record(source, key)
            .await?
            .ok_or_else(|| not_found(format!("record {source}/{key} is not stored")))?;
        let golden = self
            .store
            .golden(&link.golden_id)
            .await?
            .ok_or_else(|| not_found(format!("golden record {} is missing", link.golden_id)))?;
        let model: Option<tombolo_resolve::fellegi_sunter::Model> =
            match self.store.model(entity).await? {
                Some(m) => Some(serde_json::from_str(&m.params)?),
                None => None,
            };
        let evidence = link
            .evidence
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?;
        let mut comparisons = Vec::new();
        // Places, houses and incidents are placed by rule: no pairwise comparison to show.
        let compared = if entity.is_matched() {
            golden.members.as_slice()
        } else {
            &[]
        };
        for m in compared {
            if m.source == source && m.record_key == key {
                continue;
            }
            let Some(other) = self.store.record(&m.source, &m.record_key).await? else {
                continue;
            };
            let comparison = match (entity, &model) {
                (EntityKind::Person, Some(model)) => {
                    let e = tombolo_resolve::explain_people(model, &record, &other);
                    Comparison {
                        source: m.source.clone(),
                        record_key: m.record_key.clone(),
                        fields: e
                            .terms
                            .into_iter()
                            .map(|t| FieldComparison {
                                field: t.field,
                                this: t.left,
                                other: t.right,
                                level: t.level.unwrap_or_else(|| "missing".to_owned()),
                                weight: Some(t.weight),
                            })
                            .collect(),
                        prior_weight: Some(e.prior_weight),
                        weight: Some(e.weight),
                        probability: Some(e.probability),
                    }
                }
                _ => Comparison {
                    source: m.source.clone(),
                    record_key: m.record_key.clone(),
                    fields: compare_exact(&record, &other),
                    prior_weight: None,
                    weight: None,
                    probability: None,
                },
            };
            comparisons.push(comparison);
        }
        Ok(Explanation {
            source: source.to_owned(),
            record_key: key.to_owned(),
            entity,
            golden_id: link.golden_id,
            rule: link.rule,
            evidence,
            record: record.values,
            issues: record.issues,
            members: golden.members.len(),
            comparisons,
            provenance: golden.provenance,
            golden_values: golden.values,
            links: self.store.links_of(source, key).await?,
        })
    }
}
