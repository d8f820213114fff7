//! `resolve`, `train`, `model`, `review` and `decide`: commands around resolution: re-resolve, retrain, move parameters between hubs, read the
//! review queue and record reviewers' decisions.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use tombolo_hub::admin::review::Verdict;
use tombolo_hub::pipeline::EntityReport;
use tombolo_hub::Hub;

#[derive(Debug, Subcommand, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelCmd {
    /// The parameters in force: prior, m, u and weight of every comparison level.
    Show,
    /// Write the parameters in force as JSON.
    Export {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Put parameters exported from another hub (or an earlier training) in force.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewCmd {
    /// Pairs in the review queue, most probable first.
    List {
        /// `open` (default), `match`, `distinct` or `all`.
        #[arg(long, default_value = "open")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictArg {
    /// The two records are the same person.
    Match,
    /// The two records are different people.
    Distinct,
}

pub fn print_entities(reports: &[EntityReport], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(reports)?);
        return Ok(());
    }
    for e in reports {
        println!(
            "{:<12} {} resolution of {} records ({} pairs scored): {} golden records ({} new, {} updated, {} retired), {} for review",
            e.entity,
            e.mode,
            e.records_resolved,
            e.pairs_scored,
            e.golden_records,
            e.outcome.created,
            e.outcome.updated,
            e.outcome.retired,
            e.review_items
        );
    }
    Ok(())
}

pub async fn model(hub: &Hub, what: ModelCmd, json: bool) -> Result<()> {
    match what {
        ModelCmd::Show => {
            let (id, m) = hub.model_in_force().await?;
            if json {
                println!("{}", serde_json::json!({ "id": id, "model": m }));
                return Ok(());
            }
            println!(
                "person parameters #{id}: prior {:.3e} ({:+.2} bits), trained on {} records, {} random pairs",
                m.prior,
                m.prior_weight(),
                m.info.records,
                m.info.random_pairs
            );
            for s in &m.info.sessions {
                println!(
                    "  EM on {:<22} {:>8} pairs, {:>2} iterations{}, match share {:.4}",
                    s.rule,
                    s.pairs,
                    s.iterations,
                    if s.converged { "" } else { " (not converged)" },
                    s.match_share
                );
            }
            for c in &m.comparisons {
                println!("  {}", c.field);
                for l in &c.levels {
                    println!(
                        "    {:<28} m {:.6}  u {:.3e}  weight {:+7.2}",
                        l.name,
                        l.m,
                        l.u,
                        l.weight()
                    );
                }
            }
            if let Some(tf) = &m.tf {
                println!(
                    "  term frequencies of {}: {} records, {} repeated values",
                    tf.field,
                    tf.records,
                    tf.counts.len()
                );
            }
        }
        ModelCmd::Export { output } => {
            let (_, m) = hub.model_in_force().await?;
            let text = serde_json::to_string_pretty(&m)?;
            match output {
                Some(p) => std::fs::write(&p, text).with_context(|| p.display().to_string())?,
                None => println!("{text}"),
            }
        }
        ModelCmd::Import { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
            let id = hub
                .import_model(&text)
                .await
                .with_context(|| file.display().to_string())?;
            println!("parameters #{id} in force; the next resolution re-resolves everything");
        }
    }
    Ok(())
}

pub async fn review(hub: &Hub, what: ReviewCmd, json: bool) -> Result<()> {
    let ReviewCmd::List { status, limit } = what;
    let filter = (status != "all").then_some(status.as_str());
    let rows = hub.review_queue(filter).await?;
    if json {
        for r in rows.iter().take(limit) {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    for r in rows.iter().take(limit) {
        println!(
            "#{:<6} {:<8} p={:.6} {:<9} {}/{} ~ {}/{}",
            r.id, r.status, r.probability, r.reason, r.a.0, r.a.1, r.b.0, r.b.1
        );
    }
    println!("{} of {} shown", rows.len().min(limit), rows.len());
    Ok(())
}

pub struct DecideArgs {
    pub verdict: VerdictArg,
    pub a: (String, String),
    pub b: (String, String),
    pub by: String,
    pub reason: String,
}

pub async fn decide(hub: &Hub, d: DecideArgs) -> Result<()> {
    let verdict = match d.verdict {
        VerdictArg::Match => Verdict::Match,
        VerdictArg::Distinct => Verdict::Distinct,
    };
    hub.decide(verdict, &d.a, &d.b, &d.by, &d.reason).await?;
    println!(
        "recorded: {}/{} and {}/{} are {}; it applies from the next resolution",
        d.a.0,
        d.a.1,
        d.b.0,
        d.b.1,
        match verdict {
            Verdict::Match => "the same person",
            Verdict::Distinct => "different people",
        }
    );
    Ok(())
}
