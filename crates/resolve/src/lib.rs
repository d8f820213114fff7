//! The resolution stage: which source records describe the same real-world entity, which golden
//! id that entity keeps, and which value of each field survives.
//!
//! * [`linking`]: the linking rules (deterministic in this version: shared valid resident ID;
//!   shared name and mobile phone; shared credit code or organisation code), with the hard
//!   constraint that two different valid identifiers are never joined.
//! * [`ids`]: stable golden ids across re-resolution (merges keep an id and retire the other,
//!   splits leave the id with the larger part).
//! * [`survivorship`]: per-field choice of value (source trust order, then recency) with
//!   provenance.
//! * [`compare`] and [`blocking`]: graded field comparisons and capped blocking keys, the
//!   building blocks of probabilistic (Fellegi–Sunter) matching.

pub mod blocking;
pub mod compare;
mod config;
mod error;
pub mod ids;
pub mod linking;
pub mod survivorship;
mod unionfind;

use std::collections::BTreeMap;

use tombolo_core::{EntityKind, Link, Resolution};
use tombolo_normalize::NormalizedRecord;

pub use config::{ResolveConfig, SurvivorshipConfig};
pub use error::{Error, Result};

/// A source record to resolve.
#[derive(Debug, Clone)]
pub struct Input {
    pub source: String,
    pub record: NormalizedRecord,
}

/// What [`resolve`] produced.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub resolution: Resolution,
    /// Linking keys skipped because too many records shared them (key, records).
    pub oversized: Vec<(String, usize)>,
}

/// Resolves all records of one entity kind. `previous` is the current crosswalk
/// (`(source, key) → golden id`), used to keep golden ids stable.
pub fn resolve(
    entity: EntityKind,
    records: &[Input],
    previous: &BTreeMap<(String, String), String>,
    config: &ResolveConfig,
    now: &str,
) -> Result<Resolved> {
    let clusters = linking::cluster(entity, records, config);
    let assignment = ids::assign(entity, records, &clusters.groups, previous);
    let mut links = Vec::with_capacity(records.len());
    let mut goldens = Vec::with_capacity(clusters.groups.len());
    for (ci, members) in clusters.groups.iter().enumerate() {
        let id = &assignment.ids[ci];
        for &m in members {
            links.push(Link {
                source: records[m].source.clone(),
                record_key: records[m].record.key.clone(),
                golden_id: id.clone(),
                rule: clusters.rules[m].clone(),
            });
        }
        let mut g = survivorship::golden(entity, id, records, members, &config.survivorship, now)?;
        g.merged_from = assignment.merged_from.get(id).cloned().unwrap_or_default();
        goldens.push(g);
    }
    links.sort();
    Ok(Resolved {
        resolution: Resolution {
            entity,
            links,
            goldens,
            retired: assignment.retired,
        },
        oversized: clusters.oversized,
    })
}
