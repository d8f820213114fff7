//! A record in the unified schema, as the normaliser makes it and the store, the resolver and
//! the hub's services read it.

use std::collections::BTreeMap;

use crate::EntityKind;
use serde::{Deserialize, Serialize};

/// A value that failed validation: kept with its reason, never used for linking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub field: String,
    /// The raw value as the source had it (absent for cross-field conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    pub reason: String,
}

/// A source record in the unified schema: only the fields its mapping names, each in its
/// canonical form. Address parts are flattened as `address.<part>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedRecord {
    pub entity: EntityKind,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    pub values: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<FieldIssue>,
    /// Fields whose value was derived (e.g. birth date from the resident ID), not typed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<String>,
    /// The source marks the record as deleted (see the mapping's `deleted` marker): the hub
    /// withdraws it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl NormalizedRecord {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }
}
