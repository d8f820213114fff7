//! `reconcile SOURCE [--export FILE]`, `corrections list|dispute`: a source against the hub,
//! the department's worklist of values that lost, and its answers; `scorecard` and `report`:
//! how far the islands are joined.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use tombolo_hub::admin::reconcile::Reconciliation;
use tombolo_hub::export::cell;
use tombolo_hub::Hub;

use super::{open_output, print_json};

#[derive(Debug, Subcommand, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorrectionsCmd {
    /// Corrections, newest first.
    List {
        #[arg(long)]
        source: Option<String>,
        /// `open`, `fixed`, `withdrawn`, `disputed` (default: all).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The department says its value is right: the correction is disputed and the pair (its
    /// record, the record whose value won) goes to the review queue.
    Dispute {
        id: i64,
        #[arg(long)]
        reason: String,
        /// Who disputes (default: the audit's actor).
        #[arg(long)]
        by: Option<String>,
    },
}

/// The worklist a department receives: its own records' values that lost.
fn export(r: &Reconciliation, to: &PathBuf) -> Result<()> {
    let mut w = open_output(Some(to))?;
    writeln!(
        w,
        "correction,record_key,golden_id,field,your_value,winning_value,winning_source,why,other_sources_disagreeing"
    )?;
    for c in &r.conflicts {
        let winning = match &c.winning_value {
            Some(v) => v.clone(),
            None => format!("(not shown: {} other sources disagree)", c.disagreeing),
        };
        let cells = [
            c.correction.to_string(),
            c.record_key.clone(),
            c.golden_id.clone(),
            c.field.clone(),
            c.value.clone(),
            winning,
            c.winning_source.clone(),
            c.why.clone(),
            c.disagreeing.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|v| csv_cell(&cell(v))).collect();
        writeln!(w, "{}", line.join(","))?;
    }
    w.flush()?;
    Ok(())
}

/// A CSV field, quoted when it needs to be.
fn csv_cell(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

pub async fn reconcile(hub: &Hub, source: &str, to: Option<PathBuf>, json: bool) -> Result<()> {
    // A progress bar while the source is read, on a terminal.
    let bar = if !json && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>10} {bar:30} {pos:>7}/{len:7} {per_sec:>12} reading the source",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(source.to_owned());
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let r = hub.reconcile(source, &bar).await?;
    if let Some(to) = &to {
        export(&r, to)?;
    }
    if json {
        return print_json(&r);
    }
    let s = &r.source_side;
    println!(
        "{} ({}): {} rows read now: {} same, {} changed since the last pull, {} not pulled yet, {} back after a withdrawal, {} quarantined; {} held by the hub only (deleted at the source), {} withdrawn",
        r.source, r.entity, s.read, s.same, s.changed, s.new, s.reappeared, s.quarantined, s.only_in_hub, s.withdrawn
    );
    for (status, keys) in &s.examples {
        println!("  {status}: {}", keys.join(", "));
    }
    println!(
        "{} values lose to another source's ({} corrections opened now); department: {}",
        r.conflicts.len(),
        r.opened,
        r.department
            .as_deref()
            .unwrap_or("none configured (winning values not shown)")
    );
    for (field, n) in &r.by_field {
        println!("  {field:<12} {n}");
    }
    if let Some(to) = to {
        println!("worklist written to {}", to.display());
    }
    Ok(())
}

pub async fn corrections(hub: &Hub, what: CorrectionsCmd, by: String, json: bool) -> Result<()> {
    match what {
        CorrectionsCmd::List {
            source,
            status,
            limit,
        } => {
            let rows = hub
                .corrections(source.as_deref(), status.as_deref())
                .await?;
            if json {
                for r in rows.iter().take(limit) {
                    println!("{}", serde_json::to_string(r)?);
                }
                return Ok(());
            }
            for r in rows.iter().take(limit) {
                println!(
                    "#{:<6} {:<9} {}/{} {:<12} lost to {}/{} ({}) in {}",
                    r.id,
                    r.status,
                    r.source,
                    r.record_key,
                    r.field,
                    r.winner_source,
                    r.winner_key,
                    r.reason,
                    r.golden_id
                );
            }
            println!("{} of {} shown", rows.len().min(limit), rows.len());
        }
        CorrectionsCmd::Dispute { id, reason, .. } => {
            let c = hub.dispute(id, &by, &reason).await?;
            if json {
                return print_json(&c);
            }
            println!(
                "correction {id} disputed: {}/{} and {}/{} are in the review queue",
                c.source, c.record_key, c.winner_source, c.winner_key
            );
        }
    }
    Ok(())
}

pub async fn scorecard(hub: &Hub, json: bool) -> Result<()> {
    let s = hub.scorecards().await?;
    if json {
        return print_json(&s);
    }
    for c in &s.sources {
        println!(
            "{} ({}): {} records in {} golden records, {} duplicates inside the source, last change {}",
            c.source,
            c.entity,
            c.records,
            c.golden_records,
            c.duplicates,
            c.last_change_at.as_deref().unwrap_or("-")
        );
        for f in &c.fields {
            println!(
                "  {:<14} completeness {:>6.1}%  validity {:>6.1}%  agreement {:>6.1}%",
                f.field,
                f.completeness * 100.0,
                f.validity * 100.0,
                f.agreement * 100.0
            );
        }
    }
    for o in s.overlap.iter().filter(|o| o.shared > 0) {
        println!(
            "{} ∩ {} ({}): {} golden records",
            o.a, o.b, o.entity, o.shared
        );
    }
    Ok(())
}

pub async fn report(hub: &Hub, out: &std::path::Path, json: bool) -> Result<()> {
    let (r, page) = hub.report(out).await?;
    if json {
        return print_json(&serde_json::json!({ "page": page, "snapshots": r.trend.len() }));
    }
    println!(
        "report written: {} (figures in {}), {} snapshots in the trend",
        page.display(),
        out.join("report.json").display(),
        r.trend.len()
    );
    Ok(())
}
