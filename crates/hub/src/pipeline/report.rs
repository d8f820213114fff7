//! What a run did: per source, per entity kind, and the whole.

use serde::Serialize;
use std::collections::BTreeMap;
use tombolo_core::{EntityKind, ErrorClass};
use tombolo_publish::PublishStats;
use tombolo_store::apply::ApplyOutcome;
use tombolo_store::status::RunCounts;

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub entity: EntityKind,
    #[serde(flatten)]
    pub counts: RunCounts,
    /// What the connector read, in the source's own units (files with their encoding and
    /// physical lines, pages, rows), to reconcile the counts with the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    pub error: Option<String>,
    /// What kind of failure stopped the source: `transient` (still failing after its retries:
    /// try again later) or `fatal` (the config or the source must change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    pub seconds: f64,
}

/// What pulling one source did: its counts and what its connector read.
#[derive(Debug, Clone, Default)]
pub struct SourceRun {
    pub counts: RunCounts,
    pub input: Option<serde_json::Value>,
}

/// What resolving one entity kind did.
#[derive(Debug, Clone, Serialize)]
pub struct EntityReport {
    pub entity: EntityKind,
    pub records: u64,
    pub golden_records: u64,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Records re-clustered (all of them in a full resolution).
    pub records_resolved: u64,
    pub pairs_scored: u64,
    /// Pairs filed for review by this resolution.
    pub review_items: u64,
    /// The parameters used (people).
    pub model_id: Option<i64>,
    pub timings: tombolo_resolve::Timings,
    /// Writing golden records, crosswalk, review queue and outbox.
    pub store_ms: u64,
    #[serde(flatten)]
    pub outcome: ApplyOutcome,
    /// Linking keys skipped because too many records shared them.
    pub oversized_keys: Vec<(String, usize)>,
    /// The parameters in force were trained on fewer than half the records stored now (a
    /// source was down at the first run, say): `tombolo train` would learn them again.
    pub stale_model: bool,
    /// Places, houses and incidents: links from records to golden records of other kinds, per
    /// role (`place`, `owner`, `reporter`), counted per rule (`registry`, `phone`, or why
    /// there is none: `ambiguous: 2 places fit`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, BTreeMap<String, u64>>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub sources: Vec<SourceReport>,
    pub entities: Vec<EntityReport>,
    /// `None` when no broker is configured (the outbox keeps everything).
    pub published: Option<PublishStats>,
    /// Why publishing failed (the outbox keeps what was not sent); the report is still given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_error: Option<String>,
    pub outbox_backlog: u64,
    pub seconds: f64,
}

impl RunReport {
    pub fn failed_sources(&self) -> usize {
        self.sources.iter().filter(|s| s.error.is_some()).count()
    }

    /// Sources stopped by a fatal error.
    pub fn fatal_sources(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| s.error_class == Some(ErrorClass::Fatal))
            .count()
    }
}
