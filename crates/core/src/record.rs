use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One record as a connector pulled it: its key in the source system and the columns the
/// mapping asked for, as text (`None` for SQL NULL, an empty cell or a JSON null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRecord {
    pub key: String,
    pub fields: BTreeMap<String, Option<String>>,
    /// The source's own modification time, when it has one (ISO 8601 text).
    pub observed_at: Option<String>,
}

impl RawRecord {
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            fields: BTreeMap::new(),
            observed_at: None,
        }
    }

    pub fn with(mut self, column: &str, value: Option<&str>) -> Self {
        self.fields
            .insert(column.to_owned(), value.map(str::to_owned));
        self
    }

    /// The non-blank value of a column.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields
            .get(column)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.trim().is_empty())
    }
}

/// A piece of input that could not even be read as a record (a truncated CSV line, bytes that
/// are not in the declared encoding, a page that is not JSON). It is quarantined, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malformed {
    /// The record key when it could be read, otherwise a locator such as `file.csv:17`.
    pub key: String,
    pub reason: String,
    /// A short excerpt of the offending input, for the operator.
    pub excerpt: String,
}

/// What a connector yields for each unit of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    Record(RawRecord),
    Malformed(Malformed),
}

/// A batch of pulled items and the checkpoint that is valid once the batch is stored.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub items: Vec<Pulled>,
    /// Connector-specific resume state; the pipeline saves it in the same transaction as the
    /// batch, so a checkpoint never runs ahead of what is stored.
    pub checkpoint: Option<serde_json::Value>,
}
