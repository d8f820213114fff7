//! `check`: the config compiled, and per source what it reads; a warning when the key column
//! is personal data (record keys are stored in clear).

use serde::Serialize;
use tombolo_core::fields;
use tombolo_core::{Classification, EntityKind};
use tombolo_normalize::Mapping;

use crate::{Config, Result};

/// One source as the config defines it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceCheck {
    pub source: String,
    pub connector: &'static str,
    pub entity: EntityKind,
    pub key: String,
    /// `(column, field)` pairs the mapping reads.
    pub reads: Vec<(String, String)>,
    pub warning: Option<String>,
}

/// Compiles every source's mapping (an error names the first that does not compile).
pub fn check(config: &Config) -> Result<Vec<SourceCheck>> {
    let codes = config.code_tables();
    let mut out = Vec::new();
    for s in &config.sources {
        let m = Mapping::compile(&s.mapping, &codes)?;
        let key = s.connector.key_column();
        let warning = m
            .feeds()
            .iter()
            .filter(|(from, _)| from == key)
            .filter_map(|(_, target)| fields::spec(m.entity(), target))
            .find(|spec| {
                matches!(
                    spec.classification,
                    Classification::Personal | Classification::Sensitive
                )
            })
            .map(|spec| {
                format!(
                    "the key column is mapped to {} ({}): record keys are stored in clear, so \
                     this personal data is in clear in the store; key the source by a \
                     surrogate column if it has one",
                    spec.name,
                    format!("{:?}", spec.classification).to_lowercase()
                )
            });
        out.push(SourceCheck {
            source: s.name.clone(),
            connector: s.connector.kind(),
            entity: m.entity(),
            key: key.to_owned(),
            reads: m.feeds(),
            warning,
        });
    }
    Ok(out)
}
