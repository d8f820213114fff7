//! `lineage GOLDEN_ID`: where a golden record comes from. Every source record behind it, now
//! and before; each field's chosen value with its source and the values it beat, and why
//! (trust, validity, completeness, recency); the merges, splits and retirements it went
//! through with their causes (the engine, a steward, a reviewer); and every delivery of it
//! to a department, from the audit trail.

use std::collections::BTreeMap;

use serde::Serialize;
use tombolo_core::{EntityKind, Provenance};
use tombolo_resolve::survivorship::{self, Candidate};
use tombolo_store::audit::{AuditFilter, AuditKind, AuditRow};

use crate::{Error, Hub, Result};

/// A source record that is, or was, behind the golden record.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRecord {
    pub source: String,
    pub record_key: String,
    /// It is a member now.
    pub current: bool,
    /// When it was first linked here.
    pub linked_at: Option<String>,
    /// The rule that linked it (the latest link).
    pub rule: Option<String>,
    /// Where it is now, when it left (empty: it was withdrawn by its source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_in: Option<String>,
}

/// One field group of the golden record: the value chosen and every member's value.
#[derive(Debug, Clone, Serialize)]
pub struct FieldLineage {
    pub field: String,
    pub chosen: BTreeMap<String, String>,
    /// Where the chosen value came from and the rule that chose it.
    pub provenance: Option<Provenance>,
    /// Every member's value, best first, each with why it lost (people and organisations).
    pub candidates: Vec<Candidate>,
}

/// An event in the golden record's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    /// `merge` (another record merged into this one), `merged_into` (this one retired into
    /// another), `steward_merge`, `steward_split`, `steward_unmerge`, `decision`, `retired`.
    pub event: String,
    /// The merge event's id (`tombolo unmerge` takes it) or the steward's action id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `engine`, `steward:<id>` or the person who decided.
    pub cause: String,
    pub detail: String,
    /// Undone by this steward's action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<i64>,
}

/// What `lineage` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    pub golden_id: String,
    pub entity: EntityKind,
    pub version: i64,
    pub retired_into: Option<String>,
    pub records: Vec<SourceRecord>,
    pub fields: Vec<FieldLineage>,
    pub history: Vec<HistoryEntry>,
    pub deliveries: Vec<AuditRow>,
}

impl Hub {
    pub async fn lineage(&self, golden_id: &str) -> Result<Lineage> {
        let g = self
            .store
            .golden(golden_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no golden record {golden_id}")))?;
        let members = self.store.members(golden_id).await?;
        // Records now and before, from the crosswalk's history.
        let mut records: BTreeMap<(String, String), SourceRecord> = BTreeMap::new();
        for l in self.store.linked_to(golden_id).await? {
            let e = records
                .entry((l.source.clone(), l.record_key.clone()))
                .or_insert_with(|| SourceRecord {
                    source: l.source,
                    record_key: l.record_key,
                    current: false,
                    linked_at: Some(l.at),
                    rule: None,
                    now_in: None,
                });
            e.rule = Some(l.rule);
        }
        for m in &members {
            records
                .entry(m.clone())
                .or_insert_with(|| SourceRecord {
                    source: m.0.clone(),
                    record_key: m.1.clone(),
                    current: true,
                    linked_at: None,
                    rule: None,
                    now_in: None,
                })
                .current = true;
        }
        for r in records.values_mut().filter(|r| !r.current) {
            r.now_in = Some(
                self.store
                    .link(&r.source, &r.record_key)
                    .await?
                    .map(|(_, l)| l.golden_id)
                    .unwrap_or_default(),
            );
        }
        // Fields: survivorship's contest among the members.
        let inputs = self.member_inputs(&members).await?;
        let mut contests = if g.entity.is_matched() {
            let all: Vec<usize> = (0..inputs.len()).collect();
            survivorship::contests(&inputs, &all, &self.config.resolve.survivorship)
        } else {
            BTreeMap::new()
        };
        let mut fields: Vec<FieldLineage> = g
            .provenance
            .iter()
            .map(|p| FieldLineage {
                field: p.field.clone(),
                chosen: chosen(&g.values, &p.field),
                provenance: Some(p.clone()),
                candidates: contests.remove(&p.field).unwrap_or_default(),
            })
            .collect();
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        let history = self.history(golden_id, &g, &members).await?;
        let deliveries = self
            .store
            .audit(&AuditFilter {
                kind: Some(AuditKind::Delivery),
                golden_id: Some(golden_id.to_owned()),
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        Ok(Lineage {
            golden_id: g.golden_id.clone(),
            entity: g.entity,
            version: g.version,
            retired_into: g.retired_into.clone(),
            records: records.into_values().collect(),
            fields,
            history,
            deliveries,
        })
    }

    async fn history(
        &self,
        golden_id: &str,
        g: &tombolo_core::GoldenRecord,
        members: &[(String, String)],
    ) -> Result<Vec<HistoryEntry>> {
        let mut out = Vec::new();
        for e in self.store.merge_events_of(golden_id).await? {
            let (event, detail) = if e.survivor == golden_id {
                (
                    "merge",
                    format!(
                        "{} ({} records) merged into this one ({} records)",
                        e.retired,
                        e.retired_members.len(),
                        e.survivor_members.len()
                    ),
                )
            } else {
                (
                    "merged_into",
                    format!(
                        "merged into {} ({} records with its {})",
                        e.survivor,
                        e.survivor_members.len(),
                        e.retired_members.len()
                    ),
                )
            };
            out.push(HistoryEntry {
                at: e.at,
                event: event.into(),
                id: Some(e.id),
                cause: e.cause,
                detail,
                undone_by: e.undone_by,
            });
        }
        for a in self.store.actions_naming(golden_id).await? {
            let sides: Vec<String> = a.sides.iter().map(|s| s.len().to_string()).collect();
            out.push(HistoryEntry {
                at: a.decided_at,
                event: format!("steward_{}", a.action.as_str()),
                id: Some(a.id),
                cause: a.decided_by,
                detail: format!(
                    "{} {} (records per side: {}){}: {}",
                    a.action.as_str(),
                    a.golden_ids.join(" "),
                    sides.join(", "),
                    if a.applied_at.is_some() {
                        ""
                    } else {
                        ", not applied yet"
                    },
                    a.reason
                ),
                undone_by: a.undone_by,
            });
        }
        if g.entity.is_matched() {
            for d in self.store.decisions(g.entity).await? {
                let here = |r: &(String, String)| members.contains(r);
                if here(&d.a) || here(&d.b) {
                    out.push(HistoryEntry {
                        at: d.decided_at,
                        event: "decision".into(),
                        id: None,
                        cause: d.decided_by,
                        detail: format!(
                            "{}/{} and {}/{}: {}: {}",
                            d.a.0,
                            d.a.1,
                            d.b.0,
                            d.b.1,
                            d.verdict.as_str(),
                            d.reason
                        ),
                        undone_by: None,
                    });
                }
            }
        }
        if let Some(into) = &g.retired_into {
            out.push(HistoryEntry {
                at: g.updated_at.clone(),
                event: "retired".into(),
                id: None,
                cause: "engine".into(),
                detail: if into.is_empty() {
                    "retired: no record is left behind it".into()
                } else {
                    format!("retired: follow {into}")
                },
                undone_by: None,
            });
        }
        out.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(out)
    }
}

/// The golden values of a field group (`address` holds `address.*`).
fn chosen(values: &BTreeMap<String, String>, group: &str) -> BTreeMap<String, String> {
    values
        .iter()
        .filter(|(f, _)| survivorship::group(f) == group)
        .map(|(f, v)| (f.clone(), v.clone()))
        .collect()
}
