//! Unsupervised training, as Splink does it: `u` from random pairs, `m` by
//! expectation-maximisation over blocked pairs (one session per blocking rule, each leaving out
//! the comparisons its rule forces to agree), the prior from the pairs that share an identifier,
//! and term frequencies of names. No labels are read.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::index::Index;
use super::model::{ComparisonParams, Model, SessionInfo, TermFrequencies, TrainingInfo, FLOOR};
use super::schema::{position, Gamma, Schema, MISSING};

/// `[resolve.training]`: how parameters are estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Random pairs drawn to estimate `u`. Default 2,000,000.
    pub random_pairs: u64,
    /// Most EM iterations per session. Default 40.
    pub max_iterations: u32,
    /// EM stops when no parameter moves more than this. Default 1e-5.
    pub tolerance: f64,
    /// Seed of the random pair sampler (training is repeatable). Default 42.
    pub seed: u64,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            random_pairs: 2_000_000,
            max_iterations: 40,
            tolerance: 1e-5,
            seed: 42,
        }
    }
}

/// Level counts of one comparison over a set of pairs.
fn level_counts<S: Schema>(schema: &S, recs: &[S::Rec], pairs: &[(u32, u32)]) -> Vec<Vec<u64>> {
    let comps = schema.comparisons();
    let empty = || {
        comps
            .iter()
            .map(|c| vec![0u64; c.levels.len()])
            .collect::<Vec<_>>()
    };
    pairs
        .par_chunks(4096)
        .map(|chunk| {
            let mut counts = empty();
            for &(i, j) in chunk {
                let g = schema.gamma(&recs[i as usize], &recs[j as usize]);
                for (c, &l) in g.iter().enumerate().take(comps.len()) {
                    if l != MISSING {
                        counts[c][usize::from(l)] += 1;
                    }
                }
            }
            counts
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p += q;
                }
            }
            a
        })
}

/// `u` per comparison level, from random pairs (add-one smoothed).
fn estimate_u<S: Schema>(
    schema: &S,
    recs: &[S::Rec],
    config: &TrainingConfig,
) -> (Vec<Vec<f64>>, u64) {
    let n = recs.len() as u64;
    let all = n * n.saturating_sub(1) / 2;
    let want = config.random_pairs.min(all);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut pairs = Vec::with_capacity(want as usize);
    while (pairs.len() as u64) < want {
        let i = rng.random_range(0..n) as u32;
        let j = rng.random_range(0..n) as u32;
        if i != j {
            pairs.push((i.min(j), i.max(j)));
        }
    }
    let counts = level_counts(schema, recs, &pairs);
    let u = counts
        .iter()
        .map(|levels| {
            let total: u64 = levels.iter().sum();
            levels
                .iter()
                .map(|&c| ((c as f64 + 1.0) / (total as f64 + levels.len() as f64)).max(FLOOR))
                .collect()
        })
        .collect();
    (u, want)
}

/// Comparison vectors of a session's pairs, with the fixed comparisons blanked, counted.
fn patterns<S: Schema>(
    schema: &S,
    recs: &[S::Rec],
    pairs: &[(u32, u32)],
    fixed: &[usize],
) -> Vec<(Gamma, u64)> {
    let map = pairs
        .par_chunks(4096)
        .map(|chunk| {
            let mut m: HashMap<Gamma, u64> = HashMap::new();
            for &(i, j) in chunk {
                let mut g = schema.gamma(&recs[i as usize], &recs[j as usize]);
                for &f in fixed {
                    g[f] = MISSING;
                }
                *m.entry(g).or_default() += 1;
            }
            m
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    let mut v: Vec<(Gamma, u64)> = map.into_iter().collect();
    v.sort_unstable();
    v
}

/// EM with `u` fixed: estimates `m` of the free comparisons and the share of matches.
fn em(
    patterns: &[(Gamma, u64)],
    u: &[Vec<f64>],
    m: &mut [Vec<f64>],
    free: &[bool],
    config: &TrainingConfig,
) -> (u32, bool, f64) {
    let mut lambda = 0.5;
    let total: f64 = patterns.iter().map(|p| p.1 as f64).sum();
    for it in 1..=config.max_iterations {
        let mut mass = 0.0;
        let mut acc: Vec<Vec<f64>> = m.iter().map(|l| vec![0.0; l.len()]).collect();
        for (g, count) in patterns {
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for (c, &l) in g.iter().enumerate().take(m.len()) {
                if l != MISSING && free[c] {
                    pm *= m[c][usize::from(l)];
                    pu *= u[c][usize::from(l)];
                }
            }
            let p = if pm + pu > 0.0 { pm / (pm + pu) } else { 0.0 };
            let w = p * *count as f64;
            mass += w;
            for (c, &l) in g.iter().enumerate().take(m.len()) {
                if l != MISSING && free[c] {
                    acc[c][usize::from(l)] += w;
                }
            }
        }
        let mut delta: f64 = 0.0;
        let new_lambda = (mass / total.max(1.0)).clamp(FLOOR, 1.0 - FLOOR);
        delta = delta.max((new_lambda - lambda).abs());
        lambda = new_lambda;
        for (c, levels) in acc.iter().enumerate() {
            if !free[c] {
                continue;
            }
            let sum: f64 = levels.iter().sum();
            if sum <= 0.0 {
                continue;
            }
            for (l, v) in levels.iter().enumerate() {
                let next = (v / sum).max(FLOOR);
                delta = delta.max((next - m[c][l]).abs());
                m[c][l] = next;
            }
        }
        if delta < config.tolerance {
            return (it, true, lambda);
        }
    }
    (config.max_iterations, false, lambda)
}

/// Trains a model on the records at hand.
pub fn train<S: Schema>(
    schema: &S,
    recs: &[S::Rec],
    index: &Index,
    config: &TrainingConfig,
) -> Model {
    let comps = schema.comparisons();
    let mut model = Model::initial(comps, 1e-4);
    let (u, random_pairs) = estimate_u(schema, recs, config);
    let mut m_sum: Vec<Vec<f64>> = comps.iter().map(|c| vec![0.0; c.levels.len()]).collect();
    let mut m_n = vec![0u32; comps.len()];
    let mut info = TrainingInfo {
        records: recs.len() as u64,
        random_pairs,
        sessions: Vec::new(),
    };
    for session in schema.sessions() {
        let pairs = index.rule_pairs(session.rule);
        let fixed: Vec<usize> = session
            .fixes
            .iter()
            .filter_map(|f| position(comps, f))
            .collect();
        let free: Vec<bool> = (0..comps.len()).map(|c| !fixed.contains(&c)).collect();
        let pats = patterns(schema, recs, &pairs, &fixed);
        let mut m: Vec<Vec<f64>> = model
            .comparisons
            .iter()
            .map(|c| c.levels.iter().map(|l| l.m).collect())
            .collect();
        let (iterations, converged, share) = if pairs.is_empty() {
            (0, false, 0.0)
        } else {
            em(&pats, &u, &mut m, &free, config)
        };
        if !pairs.is_empty() {
            for c in (0..comps.len()).filter(|&c| free[c]) {
                for (l, v) in m[c].iter().enumerate() {
                    m_sum[c][l] += v;
                }
                m_n[c] += 1;
            }
        }
        info.sessions.push(SessionInfo {
            rule: session.rule.to_owned(),
            pairs: pairs.len() as u64,
            iterations,
            converged,
            match_share: share,
        });
    }
    for (c, params) in model.comparisons.iter_mut().enumerate() {
        for (l, level) in params.levels.iter_mut().enumerate() {
            level.u = u[c][l];
            if m_n[c] > 0 {
                level.m = (m_sum[c][l] / f64::from(m_n[c])).max(FLOOR);
            }
        }
    }
    model.prior = prior(schema, recs.len(), index, &model.comparisons, &info);
    model.tf = term_frequencies(schema, recs);
    model.info = info;
    model
}

/// The prior: the share of all pairs that agree on the anchor identifier, divided by how often
/// matches agree on it. Without an anchor: the matches EM found, over all pairs.
fn prior<S: Schema>(
    schema: &S,
    n: usize,
    index: &Index,
    comparisons: &[ComparisonParams],
    info: &TrainingInfo,
) -> f64 {
    let all = (n as f64) * (n as f64 - 1.0) / 2.0;
    if all <= 0.0 {
        return 0.5;
    }
    if let Some((rule, field)) = schema.anchor() {
        let (agree, present) = index.rule_agreement(rule);
        let m = position(schema.comparisons(), field)
            .and_then(|c| comparisons.get(c))
            .and_then(|c| c.levels.first())
            .map_or(1.0, |l| l.m);
        let both = present as f64 * (present as f64 - 1.0) / 2.0;
        if agree > 0 && both > 0.0 {
            return ((agree as f64 / both) / m.max(0.01)).clamp(FLOOR, 0.5);
        }
    }
    let found = info
        .sessions
        .iter()
        .map(|s| s.match_share * s.pairs as f64)
        .fold(0.0, f64::max);
    (found / all).clamp(FLOOR, 0.5)
}

fn term_frequencies<S: Schema>(schema: &S, recs: &[S::Rec]) -> Option<TermFrequencies> {
    let field = schema.tf_field()?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut records = 0;
    for r in recs {
        if let Some(v) = schema.tf_value(r) {
            records += 1;
            *counts.entry(v.to_owned()).or_default() += 1;
        }
    }
    counts.retain(|_, n| *n > 1);
    Some(TermFrequencies {
        field: field.to_owned(),
        records,
        counts,
    })
}
