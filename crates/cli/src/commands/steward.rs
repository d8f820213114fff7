//! `lineage`, `merge`, `split`, `unmerge`: a golden record's history, and stewards'
//! corrections of golden records by hand.

use anyhow::{bail, Result};
use tombolo_hub::admin::lineage::Lineage;
use tombolo_hub::admin::reconcile::shown;
use tombolo_hub::admin::steward::Recorded;
use tombolo_hub::Hub;

use super::print_json;

fn recorded(r: &Recorded, what: &str, json: bool) -> Result<()> {
    if json {
        return print_json(r);
    }
    let sides: Vec<String> = r.sides.iter().map(ToString::to_string).collect();
    println!(
        "action {}: {what} {} (records per side: {}); it applies from the next resolution, which republishes what changed",
        r.action,
        r.golden_ids.join(" "),
        sides.join(", ")
    );
    Ok(())
}

pub async fn merge(
    hub: &Hub,
    first: &str,
    second: &str,
    by: &str,
    reason: &str,
    json: bool,
) -> Result<()> {
    let r = hub.merge(first, second, by, reason).await?;
    recorded(&r, "merge", json)
}

/// `SOURCE:KEY` (the key may itself hold colons).
fn record_ref(text: &str) -> Result<(String, String)> {
    match text.split_once(':') {
        Some((s, k)) if !s.is_empty() && !k.is_empty() => Ok((s.to_owned(), k.to_owned())),
        _ => bail!("{text:?} is not SOURCE:KEY"),
    }
}

pub async fn split(
    hub: &Hub,
    golden: &str,
    records: &[String],
    by: &str,
    reason: &str,
    json: bool,
) -> Result<()> {
    let records = records
        .iter()
        .map(|r| record_ref(r))
        .collect::<Result<Vec<_>>>()?;
    let r = hub.split(golden, &records, by, reason).await?;
    recorded(&r, "split", json)
}

pub async fn unmerge(hub: &Hub, event: i64, by: &str, reason: &str, json: bool) -> Result<()> {
    let r = hub.unmerge(event, by, reason).await?;
    recorded(&r, "unmerge", json)
}

pub async fn lineage(hub: &Hub, golden: &str, json: bool) -> Result<()> {
    let l = hub.lineage(golden).await?;
    if json {
        return print_json(&l);
    }
    print_lineage(&l);
    Ok(())
}

fn print_lineage(l: &Lineage) {
    println!(
        "{} ({}), version {}{}",
        l.golden_id,
        l.entity,
        l.version,
        match l.retired_into.as_deref() {
            Some("") => " — retired".to_owned(),
            Some(into) => format!(" — retired into {into}"),
            None => String::new(),
        }
    );
    println!("\nsource records");
    for r in &l.records {
        let state = match (&r.current, r.now_in.as_deref()) {
            (true, _) => "now".to_owned(),
            (false, Some("")) => "before (withdrawn)".to_owned(),
            (false, Some(g)) => format!("before (now in {g})"),
            (false, None) => "before".to_owned(),
        };
        println!(
            "  {}/{}  {state}  linked {}  {}",
            r.source,
            r.record_key,
            r.linked_at.as_deref().unwrap_or("-"),
            r.rule.as_deref().unwrap_or("")
        );
    }
    println!("\nfields");
    for f in &l.fields {
        let value = shown(&f.field, &f.chosen);
        match &f.provenance {
            Some(p) => println!(
                "  {:<14} {value}  from {}/{} ({})",
                f.field, p.source, p.record_key, p.rule
            ),
            None => println!("  {:<14} {value}", f.field),
        }
        for c in f.candidates.iter().filter(|c| !c.chosen) {
            let v = shown(&f.field, &c.values);
            let why = c.lost.map_or("", |r| r.as_str());
            println!(
                "  {:<14}   beat {v} from {}/{} ({why})",
                "", c.source, c.record_key
            );
        }
    }
    println!("\nhistory");
    for h in &l.history {
        println!(
            "  {}  {}{}  {}  by {}{}",
            h.at,
            h.event,
            h.id.map(|i| format!(" #{i}")).unwrap_or_default(),
            h.detail,
            h.cause,
            h.undone_by
                .map(|u| format!("  (undone by action {u})"))
                .unwrap_or_default()
        );
    }
    println!("\ndeliveries ({})", l.deliveries.len());
    for d in &l.deliveries {
        println!(
            "  {}  {}  {}",
            d.at,
            d.department.as_deref().unwrap_or("-"),
            d.action
        );
    }
}
