//! `resolve`, `train`, `model`, `review` and `decide`: commands around resolution: re-resolve, retrain, move parameters between hubs, read the
//! review queue and record reviewers' decisions.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use tombolo_hub::admin::review::{ReviewFilter, Verdict};
use tombolo_hub::pipeline::EntityReport;
use tombolo_hub::EntityKind;
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
        /// `person` or `organization` (default: both).
        #[arg(long)]
        entity: Option<String>,
        /// Pairs with a record of this source.
        #[arg(long)]
        source: Option<String>,
        /// Score band: probability at least (organisations: share of fields that agree).
        #[arg(long)]
        min: Option<f64>,
        /// Score band: probability at most.
        #[arg(long)]
        max: Option<f64>,
        /// Pairs filed more than this many days ago.
        #[arg(long)]
        older_than_days: Option<u32>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One pair: both records side by side, where each sits now, and the explanation.
    Show { id: i64 },
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
    match what {
        ReviewCmd::List {
            status,
            entity,
            source,
            min,
            max,
            older_than_days,
            limit,
        } => {
            let entity = entity
                .map(|e| {
                    EntityKind::parse(&e)
                        .filter(|k| k.is_matched())
                        .ok_or_else(|| {
                            anyhow::anyhow!("--entity: person or organization, not {e:?}")
                        })
                })
                .transpose()?;
            let filter = ReviewFilter {
                entity,
                status: (status != "all").then_some(status),
                source,
                min,
                max,
                older_than_days,
                limit,
            };
            let (rows, total) = hub.review_queue(&filter).await?;
            if json {
                for r in &rows {
                    println!("{}", serde_json::to_string(r)?);
                }
                return Ok(());
            }
            for r in &rows {
                println!(
                    "#{:<6} {:<12} {:<8} p={:.6} {:<9} {}/{} ~ {}/{}",
                    r.id, r.entity, r.status, r.probability, r.reason, r.a.0, r.a.1, r.b.0, r.b.1
                );
            }
            println!("{} of {total} shown", rows.len());
        }
        ReviewCmd::Show { id } => {
            let d = hub.review_show(id).await?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
                return Ok(());
            }
            let side = |r: &(String, String), g: &Option<String>| {
                format!("{}/{} ({})", r.0, r.1, g.as_deref().unwrap_or("not linked"))
            };
            println!(
                "#{} {} {} p={:.6} {}\n  a: {}\n  b: {}",
                d.item.id,
                d.item.entity,
                d.item.reason,
                d.item.probability,
                d.item.status,
                side(&d.item.a, &d.a_golden),
                side(&d.item.b, &d.b_golden)
            );
            for f in &d.fields {
                println!(
                    "  {} {:<16} {:<32} {}",
                    if f.same { "=" } else { "≠" },
                    f.field,
                    f.a.as_deref().unwrap_or("-"),
                    f.b.as_deref().unwrap_or("-")
                );
            }
            if let Some(terms) = d.explanation["terms"].as_array() {
                println!("  comparison (weight per field):");
                for t in terms {
                    println!(
                        "    {:<14} {:<28} {:+.2}",
                        t["field"].as_str().unwrap_or(""),
                        t["level"].as_str().unwrap_or("missing"),
                        t["weight"].as_f64().unwrap_or(0.0)
                    );
                }
            }
        }
    }
    Ok(())
}

/// A source record by name.
pub type RecordArg = (String, String);

pub struct DecideArgs {
    /// One decision: verdict and the two records.
    pub one: Option<(VerdictArg, RecordArg, RecordArg)>,
    /// Decisions in bulk.
    pub file: Option<PathBuf>,
    pub by: String,
    pub reason: String,
}

pub async fn decide(hub: &Hub, d: DecideArgs, json: bool) -> Result<()> {
    if let Some(file) = &d.file {
        let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
        let n = hub
            .decide_file(&text, &d.by)
            .await
            .with_context(|| file.display().to_string())?;
        if json {
            println!("{}", serde_json::json!({ "recorded": n }));
        } else {
            println!("recorded {n} decisions; they apply from the next resolution");
        }
        return Ok(());
    }
    let Some((verdict, a, b)) = d.one else {
        anyhow::bail!("name a verdict and two records, or --file");
    };
    let verdict = match verdict {
        VerdictArg::Match => Verdict::Match,
        VerdictArg::Distinct => Verdict::Distinct,
    };
    hub.decide(verdict, &a, &b, &d.by, &d.reason).await?;
    if json {
        println!("{}", serde_json::json!({ "recorded": 1 }));
        return Ok(());
    }
    println!(
        "recorded: {}/{} and {}/{} are {}; it applies from the next resolution",
        a.0,
        a.1,
        b.0,
        b.1,
        match verdict {
            Verdict::Match => "the same",
            Verdict::Distinct => "different",
        }
    );
    Ok(())
}
