//! One resolution run: records in, crosswalk, golden records, review items out.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tombolo_core::{EntityKind, GoldenRecord, Link, Partial, Resolution};

use crate::fellegi_sunter::{
    self as fs, Decision, Engine, Explanation, Index, Model, ReviewReason, Schema, Verdict,
};
use crate::ids::Previous;
use crate::person::{name_forms, PersonRec, PersonSchema};
use crate::{ids, linking, survivorship, Error, Input, ResolveConfig, Result};
use tombolo_core::fields::id;
use tombolo_normalize::NormalizedRecord;

/// A source record by name.
pub type RecordRef = (String, String);

/// A reviewer's decision about two records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualDecision {
    pub a: RecordRef,
    pub b: RecordRef,
    pub verdict: Verdict,
}

/// What a resolution is asked to do. The records, config, clock and model (`'a`) are
/// borrowed by the [`Resolved`] it gives; the rest (`'p`) only while resolving.
#[derive(Clone, Copy)]
pub struct Request<'a, 'p> {
    pub entity: EntityKind,
    /// Every live record of the kind.
    pub records: &'a [Input],
    /// The current crosswalk, `(source, key) → golden id`, for stable ids.
    pub previous: &'p dyn Previous,
    pub config: &'a ResolveConfig,
    pub now: &'a str,
    /// Trained parameters (people). `None`: trained here on `records`.
    pub model: Option<&'a Model>,
    pub decisions: &'p [ManualDecision],
    /// `None`: resolve everything. `Some`: only what these records (new, changed or gone)
    /// affect; the rest of the crosswalk stands.
    pub changed: Option<&'p BTreeSet<RecordRef>>,
}

impl std::fmt::Debug for Request<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("entity", &self.entity)
            .field("records", &self.records.len())
            .field("changed", &self.changed.map(BTreeSet::len))
            .finish_non_exhaustive()
    }
}

/// The pair that ties a record to its golden record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkEvidence {
    /// The other record of the pair.
    pub with: RecordRef,
    /// A reviewer decided this pair.
    pub manual: bool,
    pub explanation: Explanation,
}

/// A pair for a reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub a: RecordRef,
    pub b: RecordRef,
    pub reason: ReviewReason,
    pub explanation: Explanation,
}

/// What [`resolve`] produced: the clusters with their golden ids. Golden records and links
/// are computed cluster range by cluster range ([`Resolved::chunk`]) as they are written, so
/// that a resolution of a million records never holds them all at once.
#[derive(Debug)]
pub struct Resolved<'a> {
    entity: EntityKind,
    records: Cow<'a, [Input]>,
    config: &'a ResolveConfig,
    now: &'a str,
    groups: Vec<Vec<usize>>,
    ids: Vec<String>,
    merged_from: BTreeMap<String, Vec<String>>,
    /// Organisations: the rule that linked each record.
    rules: HashMap<usize, String>,
    /// People: the pair that ties each linked record to its cluster.
    ties: HashMap<usize, Tie>,
    given: Option<&'a Model>,
    /// Retired golden id → the id it was merged into.
    pub retired: BTreeMap<String, String>,
    /// `None`: every record of the kind was resolved; `Some`: only these.
    pub partial: Option<Partial>,
    /// Blocking keys skipped because too many records shared them (key, records).
    pub oversized: Vec<(String, usize)>,
    pub review: Vec<ReviewItem>,
    /// The model, when this resolution trained it.
    pub trained: Option<Model>,
    /// Pairs scored and records re-clustered.
    pub pairs_scored: u64,
    pub records_resolved: u64,
    pub timings: Timings,
}

/// The strongest pair between a record and another member of its cluster: what its link
/// evidence is computed from.
#[derive(Debug, Clone)]
struct Tie {
    other: u32,
    manual: bool,
    gamma: crate::fellegi_sunter::Gamma,
    /// The value whose frequency adjusted the weight, if any.
    tf: Option<Box<str>>,
}

/// Where a resolution spent its time, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Cleaning names, pinyin, blocking keys and the index.
    pub prepare_ms: u64,
    /// Estimating the parameters (0 when they were given).
    pub train_ms: u64,
    /// Scoring candidate pairs and clustering them.
    pub match_ms: u64,
    /// Golden ids (survivorship and link evidence are computed as they are written).
    pub golden_ms: u64,
}

fn ms(t: std::time::Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

fn record_key(r: &Input) -> (&str, &str) {
    (r.source.as_str(), r.record.key.as_str())
}

fn canonical(records: &[Input]) -> Cow<'_, [Input]> {
    let key = record_key;
    if records.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        Cow::Borrowed(records)
    } else {
        let mut v = records.to_vec();
        v.sort_by(|a, b| key(a).cmp(&key(b)));
        Cow::Owned(v)
    }
}

struct Clustered {
    /// The records re-clustered (all, or the closure of the changes).
    nodes: Vec<usize>,
    groups: Vec<Vec<usize>>,
    rules: HashMap<usize, String>,
    ties: HashMap<usize, Tie>,
    review: Vec<ReviewItem>,
    oversized: Vec<(String, usize)>,
    trained: Option<Model>,
    scored: u64,
    timings: Timings,
}

fn people(req: &Request<'_, '_>, recs: &[Input]) -> Clustered {
    let mut timings = Timings::default();
    let t = std::time::Instant::now();
    // Simplified form and pinyin once per distinct name: sources share most names.
    let names: HashSet<&str> = recs.iter().filter_map(|r| r.record.get(id::NAME)).collect();
    let forms: HashMap<&str, (String, String)> =
        names.into_par_iter().map(|n| (n, name_forms(n))).collect();
    let prepared: Vec<PersonRec> = recs
        .par_iter()
        .map(|r| {
            PersonRec::prepare_with(&r.record, &|n| {
                forms.get(n).cloned().unwrap_or_else(|| name_forms(n))
            })
        })
        .collect();
    drop(forms);
    let schema = PersonSchema;
    let index = Index::build(&schema, &prepared, req.config.max_block);
    timings.prepare_ms = ms(t);
    let t = std::time::Instant::now();
    let trained = match req.model {
        Some(_) => None,
        None => Some(fs::train(&schema, &prepared, &index, &req.config.training)),
    };
    let Some(model) = trained.as_ref().or(req.model) else {
        unreachable!("a model was given or trained")
    };
    timings.train_ms = ms(t);
    let t = std::time::Instant::now();
    // Records by name, for decisions and changes (a full run without decisions needs none).
    let position: HashMap<(&str, &str), usize> =
        if req.decisions.is_empty() && req.changed.is_none() {
            HashMap::new()
        } else {
            recs.iter()
                .enumerate()
                .map(|(i, r)| ((r.source.as_str(), r.record.key.as_str()), i))
                .collect()
        };
    let find = |r: &RecordRef| position.get(&(r.0.as_str(), r.1.as_str())).copied();
    let decisions: Vec<Decision> = req
        .decisions
        .iter()
        .filter_map(|d| {
            Some(Decision {
                a: find(&d.a)? as u32,
                b: find(&d.b)? as u32,
                verdict: d.verdict,
            })
        })
        .collect();
    let engine = Engine::new(
        &schema,
        &prepared,
        model,
        &index,
        &decisions,
        req.config.thresholds,
    );
    let outcome = match req.changed {
        None => engine.full(),
        Some(changed) => {
            let mut by_golden: HashMap<&str, Vec<u32>> = HashMap::new();
            for (i, r) in recs.iter().enumerate() {
                if let Some(g) = req.previous.golden(&r.source, &r.record.key) {
                    by_golden.entry(g).or_default().push(i as u32);
                }
            }
            let mut seeds = Vec::new();
            for c in changed {
                match find(c) {
                    Some(i) => seeds.push(i as u32),
                    // A record that is gone: its former cluster-mates are re-resolved.
                    None => {
                        if let Some(g) = req.previous.golden(&c.0, &c.1) {
                            seeds.extend(by_golden.get(g).into_iter().flatten());
                        }
                    }
                }
            }
            let previous = |x: u32| -> Vec<u32> {
                let r = &recs[x as usize];
                req.previous
                    .golden(&r.source, &r.record.key)
                    .and_then(|g| by_golden.get(g))
                    .cloned()
                    .unwrap_or_default()
            };
            engine.incremental(&seeds, &previous)
        }
    };
    timings.match_ms = ms(t);
    let key = |i: u32| -> RecordRef {
        let r = &recs[i as usize];
        (r.source.clone(), r.record.key.clone())
    };
    let tf_field = PersonSchema
        .tf_field()
        .and_then(|f| fs::schema::position(PersonSchema.comparisons(), f));
    let ties = outcome
        .evidence
        .iter()
        .map(|(&node, s)| {
            let other = if s.i == node { s.j } else { s.i };
            let tf = tf_field
                .filter(|&c| s.gamma[c] == 0)
                .and_then(|_| PersonSchema.tf_value(&prepared[s.i as usize]))
                .map(Box::from);
            let tie = Tie {
                other,
                manual: s.manual,
                gamma: s.gamma,
                tf,
            };
            (node as usize, tie)
        })
        .collect();
    let review = outcome
        .review
        .iter()
        .map(|(s, reason)| ReviewItem {
            a: key(s.i),
            b: key(s.j),
            reason: *reason,
            explanation: engine.explain(s),
        })
        .collect();
    Clustered {
        nodes: outcome.nodes.iter().map(|&n| n as usize).collect(),
        groups: outcome
            .groups
            .iter()
            .map(|g| g.iter().map(|&n| n as usize).collect())
            .collect(),
        rules: HashMap::new(),
        ties,
        review,
        oversized: index.oversized.clone(),
        trained,
        scored: outcome.scored,
        timings,
    }
}

fn organisations(req: &Request<'_, '_>, recs: &[Input]) -> Clustered {
    let c = linking::cluster(req.entity, recs, req.config.max_block, &req.config.cities);
    let mut rules: HashMap<usize, String> = c.rules.into_iter().enumerate().collect();
    let mut groups = c.groups;
    let mut decided: HashSet<(usize, usize)> = HashSet::new();
    if !req.decisions.is_empty() {
        let decisions = crate::overrides::positions(recs, req.decisions);
        for d in decisions.iter().filter(|d| d.verdict == Verdict::Match) {
            for i in [d.a, d.b] {
                rules.insert(i as usize, "manual".to_owned());
            }
        }
        decided.extend(decisions.iter().map(|d| {
            let (a, b) = (d.a as usize, d.b as usize);
            (a.min(b), a.max(b))
        }));
        groups = crate::overrides::apply(groups, &decisions);
    }
    // Pairs a reviewer decided, or that decisions put in one cluster, are not asked again.
    let mut cluster_of = vec![0usize; recs.len()];
    for (ci, g) in groups.iter().enumerate() {
        for &i in g {
            cluster_of[i] = ci;
        }
    }
    let key = |i: usize| -> RecordRef { (recs[i].source.clone(), recs[i].record.key.clone()) };
    let review = c
        .review
        .into_iter()
        .filter(|&(a, b, _)| cluster_of[a] != cluster_of[b] && !decided.contains(&(a, b)))
        .map(|(a, b, conflict)| ReviewItem {
            a: key(a),
            b: key(b),
            reason: if conflict {
                ReviewReason::Conflict
            } else {
                ReviewReason::Uncertain
            },
            explanation: linking::explain(&recs[a], &recs[b]),
        })
        .collect();
    Clustered {
        nodes: (0..recs.len()).collect(),
        rules,
        groups,
        ties: HashMap::new(),
        review,
        oversized: c.oversized,
        trained: None,
        scored: 0,
        timings: Timings::default(),
    }
}

/// How the model scores two person records, term by term, with the values compared.
pub fn explain_people(model: &Model, a: &NormalizedRecord, b: &NormalizedRecord) -> Explanation {
    let (pa, pb) = (PersonRec::prepare(&a.into()), PersonRec::prepare(&b.into()));
    let gamma = PersonSchema.gamma(&pa, &pb);
    let tf = (gamma[0] == 0).then_some(pa.simplified()).flatten();
    let mut e = model.explain(&gamma, tf);
    for (c, t) in e.terms.iter_mut().enumerate() {
        t.left = PersonSchema.show(&pa, c);
        t.right = PersonSchema.show(&pb, c);
    }
    e
}

/// Resolves the records of one entity kind: clusters and golden ids. Golden records and links
/// come from [`Resolved::chunk`] (or [`Resolved::into_resolution`], all at once).
pub fn resolve<'a>(req: &Request<'a, '_>) -> Result<Resolved<'a>> {
    let records = canonical(req.records);
    let recs: &[Input] = &records;
    let clustered = match req.entity {
        EntityKind::Person => people(req, recs),
        EntityKind::Organization => organisations(req, recs),
        e @ (EntityKind::Place | EntityKind::House | EntityKind::Event) => {
            return Err(Error::NotMatched(e))
        }
    };
    let t = std::time::Instant::now();
    let assignment = ids::assign(req.entity, recs, &clustered.groups, req.previous);
    let partial = req.changed.map(|changed| {
        let mut records: BTreeSet<RecordRef> = clustered
            .nodes
            .iter()
            .map(|&i| (recs[i].source.clone(), recs[i].record.key.clone()))
            .collect();
        records.extend(changed.iter().cloned());
        let goldens = records
            .iter()
            .filter_map(|r| req.previous.golden(&r.0, &r.1).map(str::to_owned))
            .collect();
        Partial { records, goldens }
    });
    let records_resolved = clustered.nodes.len() as u64;
    let mut timings = clustered.timings;
    timings.golden_ms = ms(t);
    Ok(Resolved {
        entity: req.entity,
        records,
        config: req.config,
        now: req.now,
        groups: clustered.groups,
        ids: assignment.ids,
        merged_from: assignment.merged_from,
        rules: clustered.rules,
        ties: clustered.ties,
        given: req.model,
        retired: assignment.retired,
        partial,
        oversized: clustered.oversized,
        review: clustered.review,
        trained: clustered.trained,
        pairs_scored: clustered.scored,
        records_resolved,
        timings,
    })
}

impl Resolved<'_> {
    /// Clusters (golden records) resolved.
    pub fn clusters(&self) -> usize {
        self.groups.len()
    }

    /// The golden ids of the clusters, in cluster order.
    pub fn golden_ids(&self) -> &[String] {
        &self.ids
    }

    /// Golden records (survivorship with provenance) and the links of their members, for the
    /// clusters in `range`.
    pub fn chunk(&self, range: Range<usize>) -> Result<(Vec<GoldenRecord>, Vec<Link>)> {
        let range = range.start.min(self.groups.len())..range.end.min(self.groups.len());
        let recs: &[Input] = &self.records;
        let goldens = self.groups[range.clone()]
            .par_iter()
            .zip(self.ids[range.clone()].par_iter())
            .map(|(members, id)| {
                let mut g = survivorship::golden(
                    self.entity,
                    id,
                    recs,
                    members,
                    &self.config.survivorship,
                    self.now,
                )?;
                g.merged_from = self.merged_from.get(id).cloned().unwrap_or_default();
                Ok(g)
            })
            .collect::<Result<Vec<_>>>()?;
        let links = self.groups[range.clone()]
            .par_iter()
            .zip(self.ids[range].par_iter())
            .flat_map_iter(|(members, id)| {
                members.iter().map(move |&m| {
                    let (rule, evidence) = self.why(m, members.len())?;
                    Ok(Link {
                        source: recs[m].source.clone(),
                        record_key: recs[m].record.key.clone(),
                        golden_id: id.clone(),
                        rule,
                        evidence,
                    })
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((goldens, links))
    }

    /// The rule that put record `m` in its cluster of `size`, and the evidence as JSON.
    fn why(&self, m: usize, size: usize) -> Result<(String, Option<String>)> {
        if size == 1 {
            return Ok(("singleton".to_owned(), None));
        }
        let model = self.trained.as_ref().or(self.given);
        if let (Some(tie), Some(model)) = (self.ties.get(&m), model) {
            // The values are in the records; `tombolo explain` shows them beside the weights.
            let explanation = model.explain(&tie.gamma, tie.tf.as_deref());
            let rule = if tie.manual {
                "manual".to_owned()
            } else {
                format!("probabilistic p={:.6}", explanation.probability)
            };
            let other = &self.records[tie.other as usize];
            let evidence = LinkEvidence {
                with: (other.source.clone(), other.record.key.clone()),
                manual: tie.manual,
                explanation,
            };
            return Ok((rule, Some(serde_json::to_string(&evidence)?)));
        }
        let rule = self
            .rules
            .get(&m)
            .cloned()
            .unwrap_or_else(|| "transitive".to_owned());
        Ok((rule, None))
    }

    /// The whole resolution at once (small sets and tests).
    pub fn into_resolution(self) -> Result<Resolution> {
        let (goldens, mut links) = self.chunk(0..self.groups.len())?;
        links.sort();
        Ok(Resolution {
            entity: self.entity,
            links,
            goldens,
            retired: self.retired,
            partial: self.partial,
        })
    }
}

#[cfg(test)]
mod tests;
