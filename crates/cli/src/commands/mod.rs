//! The commands, one file per group. Each calls the hub (`tombolo-hub`) and renders what it
//! returns: as text, or as JSON with `--json` (the report's own serialisation).
//!
//! * [`run`]: `run`, `pull`, `publish`, `status`.
//! * [`resolution`]: `resolve`, `train`, `model`, `review`, `decide`.
//! * [`inspect`]: `explain`, `blocking`, `find`.
//! * [`reconcile`]: `reconcile`, `corrections list|dispute`.
//! * [`steward`]: `lineage`, `merge`, `split`, `unmerge`.
//! * [`export`]: `export crosswalk|golden`, `quarantine list`.
//! * [`config`]: `check`, `catalog`, `acls`, `schema`.
//! * [`keys`]: `keys init|status|rotate`.
//! * [`audit`]: `audit [verify]`, `tail`.

pub mod audit;
pub mod config;
pub mod export;
pub mod inspect;
pub mod keys;
pub mod reconcile;
pub mod resolution;
pub mod run;
pub mod steward;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

/// Prints a report as one line of JSON.
pub fn print_json<T: Serialize + ?Sized>(report: &T) -> Result<()> {
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

/// A file to write, or standard output.
pub fn open_output(output: Option<&PathBuf>) -> Result<Box<dyn Write>> {
    Ok(match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}
