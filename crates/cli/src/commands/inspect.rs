//! `explain`, `blocking` and `find`: why the engine decided as it did, and where a resident is.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use tombolo_hub::admin::blocking::BlockingReport;
use tombolo_hub::admin::explain::Explanation;
use tombolo_hub::admin::find::{Findings, Query};
use tombolo_hub::Hub;

use super::print_json;

/// `find`: exit 1 when no golden record holds what was asked.
pub async fn find(hub: &Hub, query: &Query, json: bool) -> Result<ExitCode> {
    let f = hub.find(query).await?;
    if json {
        print_json(&f)?;
    } else {
        print_findings(&f);
    }
    Ok(if f.found.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_findings(f: &Findings) {
    if !f.complete {
        eprintln!(
            "warning: the identifier index is not complete under the current key; \
             any writing command (run, pull, resolve) builds it"
        );
    }
    for g in &f.found {
        let sources: Vec<String> = g
            .members
            .iter()
            .map(|m| format!("{}:{}", m.source, m.record_key))
            .collect();
        println!(
            "{} ({}) {}",
            g.golden_id,
            g.entity.as_str(),
            sources.join(" ")
        );
    }
    for r in &f.unresolved {
        println!("{}:{} (not resolved yet)", r.source, r.record_key);
    }
    if f.found.is_empty() {
        eprintln!("nothing found");
    }
}

/// `explain SOURCE KEY`.
pub async fn explain(hub: &Hub, source: &str, key: &str, json: bool) -> Result<()> {
    let e = hub.explain(source, key).await?;
    if json {
        return print_json(&e);
    }
    print_explanation(&e);
    Ok(())
}

fn print_explanation(e: &Explanation) {
    println!(
        "{}/{} → {} ({} members), linked by: {}",
        e.source, e.record_key, e.golden_id, e.members, e.rule
    );
    for i in &e.issues {
        println!(
            "  issue on {}: {} {}",
            i.field,
            i.reason,
            i.raw
                .as_deref()
                .map(|r| format!("(raw {r:?})"))
                .unwrap_or_default()
        );
    }
    for l in &e.links {
        println!(
            "  {} → {} ({})",
            l.role.as_str(),
            l.golden_id.as_deref().unwrap_or("none"),
            l.rule
        );
    }
    if let Some(ev) = &e.evidence {
        println!(
            "  tied by the pair with {}/{}{}",
            ev["with"][0].as_str().unwrap_or(""),
            ev["with"][1].as_str().unwrap_or(""),
            if ev["manual"].as_bool() == Some(true) {
                " (a reviewer's decision)"
            } else {
                ""
            }
        );
    }
    for c in &e.comparisons {
        let score = match (c.weight, c.probability) {
            (Some(w), Some(p)) => format!(
                ": prior {:+.2} + fields = weight {w:+.2}, probability {p:.6}",
                c.prior_weight.unwrap_or_default()
            ),
            _ => ":".to_owned(),
        };
        println!("  vs {}/{}{score}", c.source, c.record_key);
        for f in &c.fields {
            let weight = f.weight.map(|w| format!("{w:+7.2}")).unwrap_or_default();
            println!(
                "    {:<12} {:<24} {:<24} {:<26} {weight}",
                f.field,
                f.this.as_deref().unwrap_or("-"),
                f.other.as_deref().unwrap_or("-"),
                f.level
            );
        }
    }
    println!("  golden values:");
    for p in &e.provenance {
        let value = e
            .golden_values
            .get(&p.field)
            .map(String::as_str)
            .unwrap_or("(parts)");
        println!(
            "    {:<22} {:<40} from {}/{} ({})",
            p.field, value, p.source, p.record_key, p.rule
        );
    }
}

/// `blocking`.
pub async fn blocking(
    hub: &Hub,
    max_block: usize,
    truth: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let report = hub.blocking(max_block, truth.as_deref()).await?;
    if json {
        return print_json(&report);
    }
    print_blocking(&report);
    Ok(())
}

fn print_blocking(r: &BlockingReport) {
    println!(
        "{} person records, {} candidate pairs (max block {})",
        r.records, r.candidate_pairs, r.max_block
    );
    for (k, s) in &r.keys {
        println!(
            "  {k:<26} {:>9} pairs  {:>4} oversized keys skipped",
            s.pairs, s.oversized_keys
        );
    }
    for (k, n) in r.oversized.iter().take(10) {
        println!("  oversized: {k} ({n} records)");
    }
    if let Some(c) = r.pair_completeness {
        println!("pair completeness: {c:.4}");
    }
}
