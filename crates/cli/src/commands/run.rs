//! `run`, `pull`, `publish` and `status`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use indicatif::MultiProgress;
use tombolo_hub::admin::status::StatusReport;
use tombolo_hub::pipeline::RunReport;
use tombolo_hub::Hub;

use super::print_json;

/// One run of the named sources (all enabled ones when `only` is empty), printed; a progress
/// bar per source on a terminal.
pub async fn run_once(hub: &Hub, only: &[String], json: bool, publish: bool) -> Result<RunReport> {
    let progress =
        (!json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(MultiProgress::new);
    let report = hub.run(only, progress.as_ref(), publish).await?;
    print_run(&report, json)?;
    Ok(report)
}

/// `run --follow`: audited once, then each source on its own schedule until interrupted
/// (`Hub::follow`: a source that fails transiently is tried again after its backoff, not at
/// the next round of all sources), each round printed.
pub async fn follow(
    hub: &mut Hub,
    actor: &str,
    detail: &serde_json::Value,
    every: Duration,
    publish: bool,
    json: bool,
) -> Result<()> {
    hub.begin_admin(actor, "run", detail, true)
        .await?
        .release()
        .await;
    let print = |round: &tombolo_hub::Result<RunReport>| match round {
        Ok(report) => {
            if let Err(e) = print_run(report, json) {
                tracing::error!(error = %e, "could not print the round's report");
            }
        }
        Err(e) => {
            let chain = tombolo_hub::error_chain(e);
            tracing::error!(error = %chain, "the round failed; its sources are tried again after their backoff");
        }
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    hub.follow(every, publish, print, stop).await;
    Ok(())
}

/// The exit code of a run, by the class of what went wrong: 1 when publishing failed, 3 when
/// a source was stopped by a fatal error (the config or the source must change), 5 when the
/// only failures were transient (still failing after their retries: run again later). Bad
/// input is quarantined and counted, never a failure.
pub fn exit_code(report: &RunReport) -> ExitCode {
    if report.publish_error.is_some() {
        ExitCode::FAILURE
    } else if report.fatal_sources() > 0 {
        ExitCode::from(3)
    } else if report.failed_sources() > 0 {
        ExitCode::from(5)
    } else {
        ExitCode::SUCCESS
    }
}

/// `publish`: the outbox to the broker, recorded in the status either way.
pub async fn publish(hub: &Hub, json: bool) -> Result<()> {
    let stats = hub.publish_recorded().await?;
    if json {
        return print_json(&stats);
    }
    match stats {
        Some(s) => println!("published {} messages", s.published),
        None => println!("no [kafka] configured"),
    }
    Ok(())
}

pub fn print_run(report: &RunReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    println!(
        "{:<12} {:>8} {:>9} {:>12} {:>6} {:>8} {:>10} {:>8}  error",
        "source", "pulled", "accepted", "quarantined", "new", "changed", "unchanged", "deleted"
    );
    for s in &report.sources {
        let c = &s.counts;
        println!(
            "{:<12} {:>8} {:>9} {:>12} {:>6} {:>8} {:>10} {:>8}  {}",
            s.source,
            c.pulled,
            c.accepted,
            c.quarantined,
            c.outcome.new,
            c.outcome.changed,
            c.outcome.unchanged,
            c.outcome.deleted,
            s.error.as_deref().unwrap_or("")
        );
    }
    for e in &report.entities {
        println!(
            "{:<12} {} records -> {} golden records ({} new, {} updated, {} retired; {} resolution of {} records, {} pairs scored, {} for review)",
            e.entity,
            e.records,
            e.golden_records,
            e.outcome.created,
            e.outcome.updated,
            e.outcome.retired,
            e.mode,
            e.records_resolved,
            e.pairs_scored,
            e.review_items
        );
    }
    match &report.published {
        Some(p) => {
            let topics: Vec<String> = p
                .by_topic
                .iter()
                .map(|(t, n)| format!("{t}: {n}"))
                .collect();
            println!(
                "published {} messages{}{}",
                p.published,
                if topics.is_empty() { "" } else { " — " },
                topics.join(", ")
            );
        }
        None => match &report.publish_error {
            Some(e) => println!(
                "publishing failed: {e}; outbox backlog {} (sent at the next run or `tombolo publish`)",
                report.outbox_backlog
            ),
            None => println!("not published; outbox backlog {}", report.outbox_backlog),
        },
    }
    println!("done in {:.1}s", report.seconds);
    Ok(())
}

/// `status`.
pub async fn status(hub: &Hub, json: bool) -> Result<()> {
    let report = hub.status().await?;
    if json {
        return print_json(&report);
    }
    print_status(&report);
    Ok(())
}

fn print_status(report: &StatusReport) {
    if let Some(p) = &report.publish {
        println!(
            "last publication {}: {} messages{}",
            p.last_run_at,
            p.published,
            p.last_error
                .as_deref()
                .map(|e| format!(", failed: {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "{:<12} {:<13} {:>8} {:>9} {:>12} {:<26} checkpoint / last error",
        "source", "entity", "pulled", "accepted", "quarantined", "last run"
    );
    for s in &report.sources {
        let cp = s
            .checkpoint
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default();
        let cp: String = if cp.chars().count() > 60 {
            cp.chars().take(60).collect::<String>() + "…"
        } else {
            cp
        };
        println!(
            "{:<12} {:<13} {:>8} {:>9} {:>12} {:<26} {}{}",
            s.source,
            s.entity,
            s.total_pulled,
            s.total_accepted,
            s.total_quarantined,
            s.last_run_at.as_deref().unwrap_or("-"),
            cp,
            s.last_error
                .as_deref()
                .map(|e| format!("  ERROR: {e}"))
                .unwrap_or_default()
        );
    }
    for (e, n) in &report.golden_records {
        println!("golden {e}: {n}");
    }
    println!("outbox backlog: {}", report.outbox_backlog);
}
