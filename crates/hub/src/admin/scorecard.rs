//! Quality scorecards: per source and field, completeness, validity (by the validators'
//! issues) and agreement with the golden value; per source, duplicates inside it, freshness,
//! and how many golden records it shares with every other source (the same data entered
//! twice); the review and quarantine backlogs. A snapshot is kept after every run that changed
//! something, to compare over time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use tombolo_core::EntityKind;

use super::reconcile::disagrees;
use crate::{Hub, Result};

/// One field (group) of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCard {
    pub field: String,
    /// Live records with a value.
    pub present: u64,
    /// Of those, values without a validation issue.
    pub valid: u64,
    /// Values whose golden record has the field too (what agreement is measured on).
    pub compared: u64,
    /// Of those, values that do not disagree with the golden value.
    pub agree: u64,
    /// present / records.
    pub completeness: f64,
    /// valid / present.
    pub validity: f64,
    /// agree / compared.
    pub agreement: f64,
}

/// One source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCard {
    pub source: String,
    pub entity: EntityKind,
    /// The department that keeps it, when one is configured.
    pub department: Option<String>,
    /// Live records linked to golden records.
    pub records: u64,
    /// Golden records its records are in (people or organisations it knows).
    pub golden_records: u64,
    /// Records that share their golden record with another record of the same source.
    pub duplicates: u64,
    /// When the hub stored its latest change, and how long ago that was.
    pub last_change_at: Option<String>,
    pub freshness_hours: Option<f64>,
    pub fields: Vec<FieldCard>,
}

/// Golden records two sources share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub entity: EntityKind,
    pub a: String,
    pub b: String,
    pub shared: u64,
}

/// Everything a snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecards {
    pub taken_at: String,
    pub sources: Vec<SourceCard>,
    /// Every pair of sources of one kind (each pair once, `a` < `b`).
    pub overlap: Vec<Overlap>,
    /// Live golden records per kind.
    pub golden: BTreeMap<String, u64>,
    /// Open review items per kind.
    pub review_open: BTreeMap<String, u64>,
    /// Open quarantine entries per source.
    pub quarantine_open: BTreeMap<String, i64>,
    /// Open corrections per source and field.
    pub corrections_open: BTreeMap<String, BTreeMap<String, u64>>,
}

fn group(field: &str) -> &str {
    field.split('.').next().unwrap_or(field)
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

impl Hub {
    /// The scorecards as the store stands now.
    pub async fn scorecards(&self) -> Result<Scorecards> {
        let now = chrono::Utc::now();
        let last = self.store.last_changes().await?;
        let mut sources = Vec::new();
        let mut overlap = Vec::new();
        let mut golden = BTreeMap::new();
        let mut review_open = BTreeMap::new();
        for entity in self.entities().into_iter().filter(|e| e.is_matched()) {
            golden.insert(
                entity.as_str().to_owned(),
                self.store.golden_count(entity).await?,
            );
            let open = self.store.review(entity, Some("open")).await?.len() as u64;
            review_open.insert(entity.as_str().to_owned(), open);
            let (cards, pairs) = self.cards_of(entity, &last, now).await?;
            sources.extend(cards);
            overlap.extend(pairs);
        }
        let mut corrections_open: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for c in self.store.corrections(None, Some("open")).await? {
            *corrections_open
                .entry(c.source)
                .or_default()
                .entry(c.field)
                .or_default() += 1;
        }
        Ok(Scorecards {
            taken_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            sources,
            overlap,
            golden,
            review_open,
            quarantine_open: self.store.open_quarantine().await?,
            corrections_open,
        })
    }

    async fn cards_of(
        &self,
        entity: EntityKind,
        last: &BTreeMap<String, String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<SourceCard>, Vec<Overlap>)> {
        let inputs = self.inputs(entity).await?;
        let golden_of: HashMap<(String, String), String> = self
            .store
            .crosswalk(entity)
            .await?
            .into_iter()
            .map(|l| ((l.source, l.record_key), l.golden_id))
            .collect();
        let goldens: HashMap<String, BTreeMap<String, String>> = self
            .store
            .goldens(entity, false)
            .await?
            .into_iter()
            .map(|g| (g.golden_id, g.values))
            .collect();
        // Golden id → source → records of it.
        let mut holders: HashMap<&str, BTreeMap<&str, u64>> = HashMap::new();
        let mut cards: BTreeMap<&str, (u64, BTreeMap<String, [u64; 4]>)> = BTreeMap::new();
        for src in self
            .config
            .sources
            .iter()
            .filter(|s| s.mapping.entity == entity)
        {
            let fields: BTreeMap<String, [u64; 4]> = src
                .mapping
                .fields
                .keys()
                .map(|f| (group(f).to_owned(), [0; 4]))
                .collect();
            cards.insert(src.name.as_str(), (0, fields));
        }
        for input in &inputs {
            let Some(g) = golden_of.get(&(input.source.clone(), input.record.key.clone())) else {
                continue;
            };
            *holders
                .entry(g.as_str())
                .or_default()
                .entry(input.source.as_str())
                .or_default() += 1;
            let Some((records, fields)) = cards.get_mut(input.source.as_str()) else {
                continue;
            };
            *records += 1;
            let mut by_group: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
            for (f, v) in input.record.values() {
                by_group
                    .entry(group(f))
                    .or_default()
                    .insert(f.to_owned(), v.to_owned());
            }
            let golden_values = goldens.get(g.as_str());
            for (field, counts) in fields.iter_mut() {
                let Some(mine) = by_group.get(field.as_str()) else {
                    continue;
                };
                counts[0] += 1;
                if !input.record.issues.iter().any(|i| group(&i.field) == field) {
                    counts[1] += 1;
                }
                let theirs: BTreeMap<String, String> = golden_values
                    .map(|v| {
                        v.iter()
                            .filter(|(k, _)| group(k) == field)
                            .map(|(k, x)| (k.clone(), x.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                if !theirs.is_empty() {
                    counts[2] += 1;
                    if !disagrees(field, mine, &theirs) {
                        counts[3] += 1;
                    }
                }
            }
        }
        let mut golden_records: BTreeMap<&str, u64> = BTreeMap::new();
        let mut duplicates: BTreeMap<&str, u64> = BTreeMap::new();
        let mut shared: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for by_source in holders.values() {
            for (&s, &n) in by_source {
                *golden_records.entry(s).or_default() += 1;
                if n > 1 {
                    *duplicates.entry(s).or_default() += n;
                }
            }
            let names: BTreeSet<&str> = by_source.keys().copied().collect();
            for a in &names {
                for b in names
                    .range::<&str, _>((std::ops::Bound::Excluded(*a), std::ops::Bound::Unbounded))
                {
                    *shared.entry((*a, *b)).or_default() += 1;
                }
            }
        }
        let names: Vec<&str> = cards.keys().copied().collect();
        let mut pairs = Vec::new();
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                pairs.push(Overlap {
                    entity,
                    a: (*a).to_owned(),
                    b: (*b).to_owned(),
                    shared: shared.get(&(*a, *b)).copied().unwrap_or(0),
                });
            }
        }
        let out = cards
            .into_iter()
            .map(|(source, (records, fields))| {
                let last_change_at = last.get(source).cloned();
                let freshness_hours = last_change_at.as_deref().and_then(|at| {
                    chrono::DateTime::parse_from_rfc3339(at).ok().map(|t| {
                        (now - t.with_timezone(&chrono::Utc)).num_seconds() as f64 / 3600.0
                    })
                });
                let department = self
                    .config
                    .source(source)
                    .ok()
                    .and_then(|s| self.config.keeper(s))
                    .map(|d| d.name.clone());
                SourceCard {
                    source: source.to_owned(),
                    entity,
                    department,
                    records,
                    golden_records: golden_records.get(source).copied().unwrap_or(0),
                    duplicates: duplicates.get(source).copied().unwrap_or(0),
                    last_change_at,
                    freshness_hours,
                    fields: fields
                        .into_iter()
                        .map(|(field, [present, valid, compared, agree])| FieldCard {
                            field,
                            present,
                            valid,
                            compared,
                            agree,
                            completeness: share(present, records),
                            validity: share(valid, present),
                            agreement: share(agree, compared),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok((out, pairs))
    }

    /// Takes and keeps a snapshot after a run that `changed` something, or when none is kept
    /// yet. Returns its id.
    pub async fn snapshot_scorecards(&self, changed: bool) -> Result<Option<i64>> {
        if !changed && self.store.last_snapshot_seq().await?.is_some() {
            return Ok(None);
        }
        let t = std::time::Instant::now();
        let mark = self.store.change_mark().await?;
        let cards = self.scorecards().await?;
        let id = self
            .store
            .save_snapshot(mark, &serde_json::to_string(&cards)?)
            .await?;
        tracing::info!(
            snapshot = id,
            scorecards_ms = t.elapsed().as_millis() as u64,
            "scorecards kept"
        );
        Ok(Some(id))
    }

    /// Every snapshot kept, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<Scorecards>> {
        self.store
            .snapshots()
            .await?
            .into_iter()
            .map(|s| Ok(serde_json::from_str(&s.data)?))
            .collect()
    }
}
