//! `check`, `catalog`, `acls` and `schema`: what the configuration defines, without the store.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use tombolo_hub::admin::{check, topics};
use tombolo_hub::{Config, EntityKind};

use super::{open_output, print_json};

/// `check`.
pub fn check(config: &Config, json: bool) -> Result<()> {
    let sources = check::check(config)?;
    if json {
        return print_json(&sources);
    }
    for s in &sources {
        let reads: Vec<String> = s.reads.iter().map(|(c, f)| format!("{c}→{f}")).collect();
        println!(
            "{} ({}, {}): key {}, reads {}",
            s.source,
            s.connector,
            s.entity,
            s.key,
            reads.join(", ")
        );
        if let Some(w) = &s.warning {
            println!("  warning: {w}");
        }
    }
    println!("config OK: {} sources", config.sources.len());
    Ok(())
}

/// `catalog`: Markdown, or the catalogue as JSON.
pub fn catalog(config: &Config, json: bool) -> Result<()> {
    let catalog = tombolo_hub::catalog::Catalog::of(config)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&catalog)?);
    } else {
        print!("{}", catalog.markdown());
    }
    Ok(())
}

/// `acls`.
pub fn acls(config: &Config, output: Option<&PathBuf>, json: bool) -> Result<()> {
    let (text, unnamed) = topics::acls(config, json)?;
    for d in unnamed {
        eprintln!("department {d} names no principal: its feed cannot be restricted");
    }
    let mut out = open_output(output)?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `schema`.
pub fn schema(config: &Config, entity: EntityKind, department: Option<&str>) -> Result<()> {
    println!("{}", topics::schema_of(config, entity, department)?);
    Ok(())
}
