use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fellegi_sunter::{Thresholds, TrainingConfig};

/// `[resolve]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveConfig {
    /// Match probabilities that link a pair or send it to review.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// How the model is trained (on first resolution and by `tombolo train`).
    #[serde(default)]
    pub training: TrainingConfig,
    /// A blocking key shared by more records than this is ignored and reported (a blank name, a
    /// placeholder ID). Default 50.
    #[serde(default = "max_block")]
    pub max_block: usize,
    /// The city (or cities) the hub serves, e.g. `["合肥"]`: a leading `合肥` or `合肥市` is
    /// dropped when organisation names are compared.
    #[serde(default)]
    pub cities: Vec<String>,
    #[serde(default)]
    pub survivorship: SurvivorshipConfig,
}

impl Default for ResolveConfig {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            training: TrainingConfig::default(),
            max_block: max_block(),
            cities: Vec::new(),
            survivorship: SurvivorshipConfig::default(),
        }
    }
}

fn max_block() -> usize {
    50
}

/// `[resolve.survivorship]`: which source wins each golden field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipConfig {
    /// Sources in order of trust, most trusted first. Sources not listed rank after all listed
    /// ones, in name order. Between sources of equal rank, a valid value beats one with a
    /// validation issue, a typed value beats a derived one, a more complete address beats a
    /// less complete one, and then the most recent value wins.
    #[serde(default)]
    pub trust: Vec<String>,
    /// Per-field trust orders that override `trust` (e.g. `phone = ["grid", "hrss"]`).
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl SurvivorshipConfig {
    /// Rank of a source for a field: lower is more trusted.
    pub fn rank(&self, field: &str, source: &str) -> usize {
        let order = self.fields.get(field).unwrap_or(&self.trust);
        order
            .iter()
            .position(|s| s == source)
            .unwrap_or(order.len())
    }
}
