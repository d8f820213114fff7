//! `export crosswalk|golden` and `quarantine list`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tombolo_hub::{EntityKind, Hub};

use super::{open_output, print_json};

/// The crosswalk as CSV (cells that a spreadsheet would run as formulas made inert).
pub async fn crosswalk(hub: &Hub, entity: EntityKind, output: Option<PathBuf>) -> Result<()> {
    let out = open_output(output.as_ref())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["source", "record_key", "golden_id", "rule"])?;
    for l in &hub.crosswalk(entity).await? {
        w.write_record([
            l.source.as_str(),
            &tombolo_hub::export::cell(&l.record_key),
            &l.golden_id,
            &l.rule,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Golden records as JSON lines.
pub async fn golden(
    hub: &Hub,
    entity: EntityKind,
    retired: bool,
    output: Option<PathBuf>,
) -> Result<()> {
    let mut out = open_output(output.as_ref())?;
    for g in hub.goldens(entity, retired).await? {
        writeln!(out, "{}", serde_json::to_string(&g)?)?;
    }
    out.flush()?;
    Ok(())
}

/// `quarantine list`.
pub async fn quarantine(
    hub: &Hub,
    source: Option<String>,
    all: bool,
    limit: i64,
    json: bool,
) -> Result<()> {
    let rows = hub.quarantine(source.as_deref(), all, limit).await?;
    if json {
        return print_json(&rows);
    }
    for r in &rows {
        println!(
            "#{} {} {} [{}] {}\n    {}",
            r.id, r.source, r.record_key, r.error_class, r.reason, r.excerpt
        );
    }
    if rows.is_empty() {
        println!("quarantine is empty");
    }
    Ok(())
}
