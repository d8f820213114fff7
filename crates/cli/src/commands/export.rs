//! `export crosswalk|links|relations|places|golden` and `quarantine list`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tombolo_hub::{EntityKind, Hub, LinkRole};

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

/// Links from records of `from` to golden records of `to` as CSV.
pub async fn links(
    hub: &Hub,
    from: EntityKind,
    to: EntityKind,
    output: Option<PathBuf>,
) -> Result<()> {
    let role = match (from, to) {
        (_, EntityKind::Place) => LinkRole::Place,
        (EntityKind::House, EntityKind::Person) => LinkRole::Owner,
        (EntityKind::Event, EntityKind::Person) => LinkRole::Reporter,
        _ => anyhow::bail!(
            "no links from {from} to {to}: --to place (from any kind), --from house --to person (owners), --from event --to person (reporters)"
        ),
    };
    let rows = hub.record_links(role, Some(from)).await?;
    let out = open_output(output.as_ref())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["source", "record_key", "golden_id", "rule"])?;
    for l in &rows {
        w.write_record([
            l.source.as_str(),
            &tombolo_hub::export::cell(&l.record_key),
            l.golden_id.as_deref().unwrap_or_default(),
            &l.rule,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Relationships between golden records as CSV.
pub async fn relations(hub: &Hub, ended: bool, output: Option<PathBuf>) -> Result<()> {
    let out = open_output(output.as_ref())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "kind",
        "from",
        "to",
        "source",
        "record_key",
        "observed_at",
        "first_seen_at",
        "ended_at",
    ])?;
    for s in hub.relations(ended).await? {
        let r = &s.relation;
        w.write_record([
            r.kind.as_str(),
            &r.from,
            &r.to,
            &r.source,
            &tombolo_hub::export::cell(&r.record_key),
            r.observed_at.as_deref().unwrap_or_default(),
            &s.first_seen_at,
            s.ended_at.as_deref().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Golden places with their level and parent as CSV.
pub async fn places(hub: &Hub, output: Option<PathBuf>) -> Result<()> {
    let out = open_output(output.as_ref())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["golden_id", "level", "parent_golden_id"])?;
    for (g, level, parent) in hub.place_hierarchy().await? {
        w.write_record([g.as_str(), &level, parent.as_deref().unwrap_or_default()])?;
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
