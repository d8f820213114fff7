//! Scoring and clustering. Pairs at or above the link threshold are joined, strongest first,
//! unless that would put two different hard identifiers (or two records a reviewer declared
//! distinct) in one cluster; manual "same entity" decisions are applied before any scored pair.
//! Pairs between the review and the link threshold, and refused strong pairs, go to review.
//!
//! The clusters are a function of the records, the model and the decisions only: records are
//! indexed in a canonical order and pairs are applied in an order that does not depend on
//! arrival. Incremental resolution re-clusters the closure of the changed records (everything
//! reachable from them through links and through their previous clusters), which yields the
//! clusters a full resolution would.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::model::{Explanation, Model};
use super::schema::{position, Gamma, Schema};
use crate::unionfind::UnionFind;

/// `[resolve.thresholds]`: match probabilities that decide a pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Pairs at or above this probability are linked. Default 0.95.
    pub link: f64,
    /// Pairs at or above this probability (and below `link`) go to the review queue.
    /// Default 0.5.
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            link: 0.95,
            review: 0.5,
        }
    }
}

fn weight_of(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

/// A reviewer's verdict on a pair, which overrides the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Match,
    Distinct,
}

/// A manual decision between records `a` and `b` (indices into the record slice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub a: u32,
    pub b: u32,
    pub verdict: Verdict,
}

/// A scored pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub i: u32,
    pub j: u32,
    pub weight: f64,
    pub gamma: Gamma,
    /// A manual match (not scored by the model).
    pub manual: bool,
}

/// Why a pair sits in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Between the review and the link threshold.
    Uncertain,
    /// Above the link threshold but refused: linking would join two different identifiers or
    /// two records declared distinct.
    Conflict,
}

/// What clustering found for the records it considered.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The records considered, ascending.
    pub nodes: Vec<u32>,
    /// Clusters of those records, each ascending, ordered by first member.
    pub groups: Vec<Vec<u32>>,
    /// For each clustered record that has one: the strongest pair to another member.
    pub evidence: HashMap<u32, Scored>,
    pub review: Vec<(Scored, ReviewReason)>,
    /// Pairs scored.
    pub scored: u64,
}

/// The engine over one set of prepared records.
#[derive(Debug)]
pub struct Engine<'a, S: Schema> {
    pub schema: &'a S,
    pub recs: &'a [S::Rec],
    pub model: &'a Model,
    pub index: &'a Index,
    pub decisions: &'a [Decision],
    pub thresholds: Thresholds,
    tf: Option<usize>,
    /// Pairs a reviewer decided, `(smaller, larger)`: never filed for review again.
    decided: HashSet<(u32, u32)>,
}

impl<'a, S: Schema> Engine<'a, S> {
    pub fn new(
        schema: &'a S,
        recs: &'a [S::Rec],
        model: &'a Model,
        index: &'a Index,
        decisions: &'a [Decision],
        thresholds: Thresholds,
    ) -> Self {
        let tf = schema
            .tf_field()
            .and_then(|f| position(schema.comparisons(), f));
        let decided = decisions
            .iter()
            .map(|d| (d.a.min(d.b), d.a.max(d.b)))
            .collect();
        Self {
            schema,
            recs,
            model,
            index,
            decisions,
            thresholds,
            tf,
            decided,
        }
    }

    fn tf_value(&self, i: u32, gamma: &Gamma) -> Option<&str> {
        let c = self.tf?;
        (gamma[c] == 0)
            .then(|| self.schema.tf_value(&self.recs[i as usize]))
            .flatten()
    }

    pub fn score(&self, i: u32, j: u32) -> Scored {
        let gamma = self
            .schema
            .gamma(&self.recs[i as usize], &self.recs[j as usize]);
        let weight = self.model.weight(&gamma, self.tf_value(i, &gamma));
        Scored {
            i,
            j,
            weight,
            gamma,
            manual: false,
        }
    }

    /// A pair's score term by term (levels and weights only: what a link stores).
    pub fn weights(&self, s: &Scored) -> Explanation {
        self.model.explain(&s.gamma, self.tf_value(s.i, &s.gamma))
    }

    /// A pair's score term by term, with the values compared.
    pub fn explain(&self, s: &Scored) -> Explanation {
        let mut e = self.weights(s);
        for (c, t) in e.terms.iter_mut().enumerate() {
            t.left = self.schema.show(&self.recs[s.i as usize], c);
            t.right = self.schema.show(&self.recs[s.j as usize], c);
        }
        e
    }

    /// Resolves every record.
    pub fn full(&self) -> Outcome {
        let pairs = self.index.pairs();
        let scored: Vec<Scored> = pairs.par_iter().map(|&(i, j)| self.score(i, j)).collect();
        let nodes: Vec<u32> = (0..self.recs.len() as u32).collect();
        self.cluster(nodes, scored)
    }

    /// Resolves the closure of `seeds`: records reachable through links (pairs at or above the
    /// link threshold, manual matches) and through `previous` clusters (record → its previous
    /// cluster's members). The result covers exactly the closure.
    pub fn incremental(&self, seeds: &[u32], previous: &dyn Fn(u32) -> Vec<u32>) -> Outcome {
        let link = weight_of(self.thresholds.link);
        let mut manual: HashMap<u32, Vec<u32>> = HashMap::new();
        for d in self
            .decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Match)
        {
            manual.entry(d.a).or_default().push(d.b);
            manual.entry(d.b).or_default().push(d.a);
        }
        let mut seen: BTreeSet<u32> = BTreeSet::new();
        let mut queue: VecDeque<u32> = VecDeque::new();
        for &s in seeds {
            if seen.insert(s) {
                queue.push_back(s);
            }
        }
        let mut done: HashSet<(u32, u32)> = HashSet::new();
        let mut scored = Vec::new();
        while let Some(x) = queue.pop_front() {
            let mut next = previous(x);
            next.extend(manual.get(&x).into_iter().flatten().copied());
            for nb in self.index.neighbours(x) {
                let key = (x.min(nb), x.max(nb));
                if !done.insert(key) {
                    continue;
                }
                let s = self.score(key.0, key.1);
                if s.weight >= link {
                    next.push(nb);
                }
                scored.push(s);
            }
            for n in next {
                if seen.insert(n) {
                    queue.push_back(n);
                }
            }
        }
        let nodes: Vec<u32> = seen.into_iter().collect();
        let inside: HashSet<u32> = nodes.iter().copied().collect();
        let (within, across): (Vec<Scored>, Vec<Scored>) = scored
            .into_iter()
            .partition(|s| inside.contains(&s.i) && inside.contains(&s.j));
        let mut out = self.cluster(nodes, within);
        // Pairs leaving the closure are below the link threshold; the uncertain ones still
        // belong in the review queue.
        let review = weight_of(self.thresholds.review);
        out.scored += across.len() as u64;
        out.review.extend(
            across
                .into_iter()
                .filter(|s| s.weight >= review && !self.decided(s.i, s.j))
                .map(|s| (s, ReviewReason::Uncertain)),
        );
        out
    }

    fn decided(&self, i: u32, j: u32) -> bool {
        self.decided.contains(&(i.min(j), i.max(j)))
    }

    fn cluster(&self, nodes: Vec<u32>, mut scored: Vec<Scored>) -> Outcome {
        let local: HashMap<u32, usize> = nodes.iter().enumerate().map(|(l, &n)| (n, l)).collect();
        let mut uf = UnionFind::new(
            nodes
                .iter()
                .map(|&n| self.schema.hard_id(&self.recs[n as usize])),
        );
        let both = |d: &Decision| Some((*local.get(&d.a)?, *local.get(&d.b)?));
        for d in self.decisions {
            if let (Verdict::Distinct, Some((a, b))) = (d.verdict, both(d)) {
                uf.forbid(a, b);
            }
        }
        let mut manual = Vec::new();
        for d in self.decisions {
            if let (Verdict::Match, Some((a, b))) = (d.verdict, both(d)) {
                uf.union_forced(a, b);
                manual.push(Scored {
                    i: d.a.min(d.b),
                    j: d.a.max(d.b),
                    weight: f64::INFINITY,
                    gamma: self
                        .schema
                        .gamma(&self.recs[d.a as usize], &self.recs[d.b as usize]),
                    manual: true,
                });
            }
        }
        let link = weight_of(self.thresholds.link);
        let review = weight_of(self.thresholds.review);
        scored.sort_unstable_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then(a.i.cmp(&b.i))
                .then(a.j.cmp(&b.j))
        });
        let mut out = Outcome {
            scored: scored.len() as u64,
            ..Default::default()
        };
        for s in scored.iter().filter(|s| s.weight >= link) {
            // A refused union is a hard constraint at work; the pair goes to review below.
            uf.union(local[&s.i], local[&s.j]);
        }
        let mut groups: HashMap<usize, Vec<u32>> = HashMap::new();
        for (l, &n) in nodes.iter().enumerate() {
            groups.entry(uf.find(l)).or_default().push(n);
        }
        let root_of: Vec<usize> = (0..nodes.len()).map(|l| uf.find(l)).collect();
        let same = |a: u32, b: u32| root_of[local[&a]] == root_of[local[&b]];
        for s in manual
            .iter()
            .chain(scored.iter().filter(|s| s.weight >= link))
        {
            if !same(s.i, s.j) {
                continue;
            }
            for end in [s.i, s.j] {
                let better = out.evidence.get(&end).is_none_or(|e| s.weight > e.weight);
                if better {
                    out.evidence.insert(end, *s);
                }
            }
        }
        for s in &scored {
            if s.weight < review || same(s.i, s.j) || self.decided(s.i, s.j) {
                continue;
            }
            let reason = if s.weight >= link {
                ReviewReason::Conflict
            } else {
                ReviewReason::Uncertain
            };
            out.review.push((*s, reason));
        }
        let mut groups: Vec<Vec<u32>> = groups.into_values().collect();
        for g in &mut groups {
            g.sort_unstable();
        }
        groups.sort_unstable_by_key(|g| g[0]);
        out.groups = groups;
        out.nodes = nodes;
        out
    }
}
