//! Fellegi–Sunter parameters and scoring. A pair's match weight is the prior log-odds plus, for
//! each comparison where both sides have a value, `log2(m / u)` of the level the pair reached
//! (`m`: how often matches reach it, `u`: how often non-matches do). The weight becomes a match
//! probability `1 / (1 + 2^-weight)`. The exact level of the name comparison is adjusted by term
//! frequency: agreeing on a rare name is stronger evidence than agreeing on a common one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::schema::{Gamma, MISSING};
use crate::compare::Comparison;

/// Probabilities are kept inside `[FLOOR, 1 - FLOOR]` so that no level is an absolute veto.
pub const FLOOR: f64 = 1e-6;

/// One level of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub name: String,
    pub m: f64,
    pub u: f64,
}

impl Level {
    pub fn weight(&self) -> f64 {
        (self.m.max(FLOOR) / self.u.max(FLOOR)).log2()
    }
}

/// The levels of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub field: String,
    pub levels: Vec<Level>,
}

/// Term frequencies of one field's values among the training records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermFrequencies {
    pub field: String,
    /// Records the frequencies were counted over.
    pub records: u64,
    /// Values seen more than once, with their counts (a value not listed was seen at most once).
    pub counts: HashMap<String, u64>,
}

impl TermFrequencies {
    /// The probability that a random record has `value`.
    pub fn frequency(&self, value: &str) -> f64 {
        let n = self.counts.get(value).copied().unwrap_or(1) as f64;
        n / (self.records.max(1) as f64)
    }
}

/// How the parameters were obtained.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub records: u64,
    pub random_pairs: u64,
    /// Per session: rule, pairs, iterations run, converged.
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub rule: String,
    pub pairs: u64,
    pub iterations: u32,
    pub converged: bool,
    /// Share of the session's pairs EM judged to be matches.
    pub match_share: f64,
}

/// Trained parameters of one entity kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Prior probability that two random records are the same entity.
    pub prior: f64,
    pub comparisons: Vec<ComparisonParams>,
    #[serde(default)]
    pub tf: Option<TermFrequencies>,
    #[serde(default)]
    pub info: TrainingInfo,
}

/// One comparison's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub field: String,
    /// `None` when a side lacks the value (no weight).
    pub level: Option<String>,
    pub weight: f64,
    /// The values compared (filled in by the engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<String>,
}

/// A scored pair, as stored with a link or a review item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub terms: Vec<Term>,
    pub weight: f64,
    pub probability: f64,
}

/// The probability that matches a match weight.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

impl Model {
    /// An untrained model: m favours agreement, u favours disagreement (used as EM's start).
    pub fn initial(comparisons: &[Comparison], prior: f64) -> Self {
        Self {
            prior,
            comparisons: comparisons
                .iter()
                .map(|c| {
                    let n = c.levels.len();
                    ComparisonParams {
                        field: c.field.to_owned(),
                        levels: c
                            .levels
                            .iter()
                            .enumerate()
                            .map(|(i, name)| {
                                let (m, u) = if i == 0 {
                                    (0.9, 0.05)
                                } else if i + 1 == n {
                                    (0.1 / (n - 1) as f64, 0.9)
                                } else {
                                    (0.1 / (n - 1) as f64, 0.05 / (n - 2).max(1) as f64)
                                };
                                Level {
                                    name: (*name).to_owned(),
                                    m,
                                    u,
                                }
                            })
                            .collect(),
                    }
                })
                .collect(),
            tf: None,
            info: TrainingInfo::default(),
        }
    }

    pub fn prior_weight(&self) -> f64 {
        let p = self.prior.clamp(FLOOR, 1.0 - FLOOR);
        (p / (1.0 - p)).log2()
    }

    /// Weight of level `level` of comparison `c`, with the term-frequency adjustment of the
    /// exact level when `tf_value` is given.
    fn level_weight(&self, c: usize, level: usize, tf_value: Option<&str>) -> f64 {
        let Some(l) = self.comparisons.get(c).and_then(|p| p.levels.get(level)) else {
            return 0.0;
        };
        match (&self.tf, tf_value) {
            (Some(tf), Some(v)) if level == 0 && tf.field == self.comparisons[c].field => {
                let u = tf.frequency(v).max(FLOOR);
                (l.m.max(FLOOR) / u).log2()
            }
            _ => l.weight(),
        }
    }

    /// The match weight of a comparison vector (`tf_value`: the shared value of the
    /// term-frequency field, when the pair agrees on it exactly).
    pub fn weight(&self, gamma: &Gamma, tf_value: Option<&str>) -> f64 {
        let mut w = self.prior_weight();
        for (c, &level) in gamma.iter().enumerate().take(self.comparisons.len()) {
            if level != MISSING {
                w += self.level_weight(c, usize::from(level), tf_value);
            }
        }
        w
    }

    /// The weight of a vector, term by term.
    pub fn explain(&self, gamma: &Gamma, tf_value: Option<&str>) -> Explanation {
        let mut terms = Vec::with_capacity(self.comparisons.len());
        for (c, &level) in gamma.iter().enumerate().take(self.comparisons.len()) {
            let p = &self.comparisons[c];
            if level == MISSING {
                terms.push(Term {
                    field: p.field.clone(),
                    level: None,
                    weight: 0.0,
                    left: None,
                    right: None,
                });
            } else {
                terms.push(Term {
                    field: p.field.clone(),
                    level: p.levels.get(usize::from(level)).map(|l| l.name.clone()),
                    weight: self.level_weight(c, usize::from(level), tf_value),
                    left: None,
                    right: None,
                });
            }
        }
        let weight = self.prior_weight() + terms.iter().map(|t| t.weight).sum::<f64>();
        Explanation {
            prior_weight: self.prior_weight(),
            terms,
            weight,
            probability: probability(weight),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{NAME, SEX};

    #[test]
    fn weights_add_up_and_missing_is_neutral() {
        let mut m = Model::initial(&[NAME, SEX], 0.001);
        m.comparisons[1].levels[0].m = 0.98;
        m.comparisons[1].levels[0].u = 0.5;
        let mut g = [MISSING; 8];
        g[1] = 0;
        let e = m.explain(&g, None);
        assert_eq!(e.terms[0].level, None);
        assert!((e.weight - (m.prior_weight() + (0.98f64 / 0.5).log2())).abs() < 1e-9);
        assert!((m.weight(&g, None) - e.weight).abs() < 1e-12);
        assert!(e.probability > 0.0 && e.probability < 0.01);
    }

    #[test]
    fn rare_names_weigh_more_than_common_ones() {
        let mut m = Model::initial(&[NAME], 0.001);
        m.tf = Some(TermFrequencies {
            field: "name".into(),
            records: 10_000,
            counts: HashMap::from([("王伟".to_owned(), 40)]),
        });
        let mut g = [MISSING; 8];
        g[0] = 0;
        let common = m.weight(&g, Some("王伟"));
        let rare = m.weight(&g, Some("欧阳翠花"));
        assert!(rare > common + 5.0, "{rare} vs {common}");
    }

    #[test]
    fn probability_is_logistic_in_base_two() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!((probability(10.0) - 1024.0 / 1025.0).abs() < 1e-12);
    }
}
