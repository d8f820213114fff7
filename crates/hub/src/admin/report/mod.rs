//! `report --out DIR`: the islands report. One static HTML page (`index.html`, charts as inline
//! SVG, no script, readable from a file) and the same figures as JSON (`report.json`): people
//! and organisations per department, the overlap between every pair of sources (how much is
//! entered twice), the scorecards, conflicts per field and source, the review, quarantine and
//! correction backlogs, and the trend over the stored snapshots.

mod html;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tombolo_core::EntityKind;

use super::scorecard::Scorecards;
use crate::{Error, Hub, Result};

/// One source's counts in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFigures {
    pub source: String,
    pub department: Option<String>,
    /// Live records linked to golden records.
    pub records: u64,
    /// Golden records (people or organisations) it holds records of.
    pub golden_records: u64,
    /// Records sharing their golden record with another record of the same source.
    pub duplicates: u64,
}

/// One kind: its sources and the overlap between them.
#[derive(Debug, Clone, Serialize)]
pub struct KindFigures {
    pub entity: EntityKind,
    pub golden_records: u64,
    pub sources: Vec<SourceFigures>,
    /// `overlap[i][j]`: golden records sources `i` and `j` share (the diagonal: the source's
    /// own golden records).
    pub overlap: Vec<Vec<u64>>,
}

/// One point of the trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub taken_at: String,
    pub golden: BTreeMap<String, u64>,
    pub review_open: u64,
    pub quarantine_open: i64,
    pub corrections_open: u64,
    /// Share of compared values that agree with their golden value, over every source and
    /// field.
    pub agreement: f64,
}

/// The report's figures (`report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub kinds: Vec<KindFigures>,
    pub scorecards: Scorecards,
    /// Source → field → values that disagree with their golden value.
    pub conflicts: BTreeMap<String, BTreeMap<String, u64>>,
    pub trend: Vec<TrendPoint>,
}

/// Agreement over all sources and fields of a snapshot.
fn agreement(s: &Scorecards) -> f64 {
    let (agree, compared) = s
        .sources
        .iter()
        .flat_map(|c| &c.fields)
        .fold((0u64, 0u64), |(a, c), f| (a + f.agree, c + f.compared));
    if compared == 0 {
        0.0
    } else {
        agree as f64 / compared as f64
    }
}

fn point(s: &Scorecards) -> TrendPoint {
    TrendPoint {
        taken_at: s.taken_at.clone(),
        golden: s.golden.clone(),
        review_open: s.review_open.values().sum(),
        quarantine_open: s.quarantine_open.values().sum(),
        corrections_open: s.corrections_open.values().flat_map(BTreeMap::values).sum(),
        agreement: agreement(s),
    }
}

/// The report's figures from the scorecards now and the snapshots kept.
pub fn figures(now: Scorecards, snapshots: &[Scorecards]) -> Report {
    let mut kinds = Vec::new();
    for (entity, golden) in &now.golden {
        let Some(entity) = EntityKind::parse(entity) else {
            continue;
        };
        let cards: Vec<_> = now.sources.iter().filter(|c| c.entity == entity).collect();
        let names: Vec<&str> = cards.iter().map(|c| c.source.as_str()).collect();
        let mut overlap = vec![vec![0u64; names.len()]; names.len()];
        for (i, c) in cards.iter().enumerate() {
            overlap[i][i] = c.golden_records;
        }
        for o in now.overlap.iter().filter(|o| o.entity == entity) {
            let (Some(i), Some(j)) = (
                names.iter().position(|n| *n == o.a),
                names.iter().position(|n| *n == o.b),
            ) else {
                continue;
            };
            overlap[i][j] = o.shared;
            overlap[j][i] = o.shared;
        }
        kinds.push(KindFigures {
            entity,
            golden_records: *golden,
            sources: cards
                .iter()
                .map(|c| SourceFigures {
                    source: c.source.clone(),
                    department: c.department.clone(),
                    records: c.records,
                    golden_records: c.golden_records,
                    duplicates: c.duplicates,
                })
                .collect(),
            overlap,
        });
    }
    let conflicts = now
        .sources
        .iter()
        .map(|c| {
            (
                c.source.clone(),
                c.fields
                    .iter()
                    .map(|f| (f.field.clone(), f.compared - f.agree))
                    .collect(),
            )
        })
        .collect();
    // The snapshots kept (one per run that changed something); the scorecards now when none is.
    let mut trend: Vec<TrendPoint> = snapshots.iter().map(point).collect();
    if trend.is_empty() {
        trend.push(point(&now));
    }
    Report {
        generated_at: now.taken_at.clone(),
        kinds,
        conflicts,
        trend,
        scorecards: now,
    }
}

impl Hub {
    /// Writes the report into `dir` (created if needed): `index.html` and `report.json`.
    /// Returns the figures and the page's path.
    pub async fn report(&self, dir: &Path) -> Result<(Report, PathBuf)> {
        let now = self.scorecards().await?;
        let snapshots = self.snapshots().await?;
        let report = figures(now, &snapshots);
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Refused(format!("cannot create {}: {e}", dir.display())))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| Error::Refused(format!("cannot write {}: {e}", path.display())))?;
            Ok::<_, Error>(path)
        };
        write("report.json", serde_json::to_string_pretty(&report)?)?;
        let page = write("index.html", html::page(&report))?;
        Ok((report, page))
    }
}
