//! Quality scorecards: per source and field, completeness, validity (by the validators'
//! issues) and agreement with the golden value; per source, duplicates inside it, freshness,
//! and how many golden records it shares with every other source (the same data entered
//! twice); the review and quarantine backlogs. A snapshot is kept after every run that changed
//! something, to compare over time.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tombolo_core::EntityKind;

use tombolo_resolve::survivorship::group;

use super::reconcile::parts_disagree;
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
        let counts = self.store.open_review_counts().await?;
        let mut review_open = BTreeMap::new();
        for entity in self.entities().into_iter().filter(|e| e.is_matched()) {
            golden.insert(
                entity.as_str().to_owned(),
                self.store.golden_count(entity).await?,
            );
            let open = counts.get(entity.as_str()).copied().unwrap_or(0);
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

    /// The cards of one kind's sources and the overlap between them, in one pass: the records
    /// ordered by golden id, met by the golden records streamed in the same order (a million of
    /// either are never held in maps).
    async fn cards_of(
        &self,
        entity: EntityKind,
        last: &BTreeMap<String, String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<SourceCard>, Vec<Overlap>)> {
        let (inputs, links) = tokio::try_join!(self.inputs(entity), async {
            Ok(self.store.previous_links(entity).await?)
        })?;
        let mut names: Vec<&str> = self
            .config
            .sources
            .iter()
            .filter(|s| s.mapping.entity == entity)
            .map(|s| s.name.as_str())
            .collect();
        names.sort_unstable();
        let n = names.len();
        let index_of: HashMap<&str, usize> =
            names.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        // Each source's field groups, as its mapping names them.
        let fields: Vec<Vec<String>> = names
            .iter()
            .map(|name| {
                let mut f: Vec<String> = self
                    .config
                    .sources
                    .iter()
                    .filter(|s| s.name == *name)
                    .flat_map(|s| s.mapping.fields.keys().map(|k| group(k).to_owned()))
                    .collect();
                f.sort();
                f.dedup();
                f
            })
            .collect();
        // present, valid, compared, agree per source and field.
        let mut counts: Vec<Vec<[u64; 4]>> = fields.iter().map(|f| vec![[0; 4]; f.len()]).collect();
        let (mut records, mut golden_records, mut duplicates) =
            (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
        let mut shared = vec![vec![0u64; n]; n];
        let mut order: Vec<(&str, u32)> = inputs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                links
                    .golden(&r.source, &r.record.key)
                    .map(|g| (g, i as u32))
            })
            .collect();
        order.sort_unstable();
        let mut at = 0;
        self.store
            .visit_goldens(entity, |g| {
                let id = g.golden_id.as_str();
                while at < order.len() && order[at].0 < id {
                    at += 1;
                }
                let start = at;
                while at < order.len() && order[at].0 == id {
                    at += 1;
                }
                let mut here: Vec<(usize, u64)> = Vec::new();
                let golden: Vec<(&str, &str)> = g
                    .values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                for &(_, i) in &order[start..at] {
                    let r = &inputs[i as usize];
                    let Some(&si) = index_of.get(r.source.as_str()) else {
                        continue;
                    };
                    records[si] += 1;
                    match here.iter_mut().find(|(s, _)| *s == si) {
                        Some((_, k)) => *k += 1,
                        None => here.push((si, 1)),
                    }
                    let mut values: Vec<(&str, &str)> = r.record.values().collect();
                    values.sort_unstable();
                    for (fi, field) in fields[si].iter().enumerate() {
                        let mine: Vec<(&str, &str)> = values
                            .iter()
                            .copied()
                            .filter(|(f, _)| group(f) == field)
                            .collect();
                        if mine.is_empty() {
                            continue;
                        }
                        let c = &mut counts[si][fi];
                        c[0] += 1;
                        if !r.record.issues.iter().any(|x| group(&x.field) == field) {
                            c[1] += 1;
                        }
                        let theirs: Vec<(&str, &str)> = golden
                            .iter()
                            .copied()
                            .filter(|(f, _)| group(f) == field)
                            .collect();
                        if !theirs.is_empty() {
                            c[2] += 1;
                            if !parts_disagree(field, &mine, &theirs) {
                                c[3] += 1;
                            }
                        }
                    }
                }
                here.sort_unstable();
                for (x, &(a, k)) in here.iter().enumerate() {
                    golden_records[a] += 1;
                    if k > 1 {
                        duplicates[a] += k;
                    }
                    for &(b, _) in &here[x + 1..] {
                        shared[a][b] += 1;
                    }
                }
            })
            .await?;
        let mut pairs = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                pairs.push(Overlap {
                    entity,
                    a: names[a].to_owned(),
                    b: names[b].to_owned(),
                    shared: shared[a][b],
                });
            }
        }
        let cards = names
            .iter()
            .enumerate()
            .map(|(si, source)| {
                let last_change_at = last.get(*source).cloned();
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
                    source: (*source).to_owned(),
                    entity,
                    department,
                    records: records[si],
                    golden_records: golden_records[si],
                    duplicates: duplicates[si],
                    last_change_at,
                    freshness_hours,
                    fields: fields[si]
                        .iter()
                        .zip(&counts[si])
                        .map(|(field, &[present, valid, compared, agree])| FieldCard {
                            field: field.clone(),
                            present,
                            valid,
                            compared,
                            agree,
                            completeness: share(present, records[si]),
                            validity: share(valid, present),
                            agreement: share(agree, compared),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok((cards, pairs))
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
