use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[resolve]` in the config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveConfig {
    /// Link people who share a cleaned name and a valid mobile number (and no conflicting
    /// resident ID). Default: true.
    #[serde(default = "yes")]
    pub link_name_phone: bool,
    #[serde(default)]
    pub survivorship: SurvivorshipConfig,
}

fn yes() -> bool {
    true
}

/// `[resolve.survivorship]`: which source wins each golden field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipConfig {
    /// Sources in order of trust, most trusted first. Sources not listed rank after all listed
    /// ones, in name order. Between sources of equal rank, the most recent value wins.
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
