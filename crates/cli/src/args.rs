//! The arguments of the command groups that take subcommands or shared values (exports,
//! audit, keys, quarantine, entity kinds): what `main.rs` parses, kept apart from it.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use tombolo_hub::audit::AuditKind;
use tombolo_hub::EntityKind;

#[derive(Debug, Subcommand, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Export {
    /// The crosswalk as CSV: source,record_key,golden_id.
    Crosswalk {
        #[arg(long, value_enum)]
        entity: Entity,
        /// Output file (standard output when absent).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Links from records of one kind to golden records of another, as CSV
    /// source,record_key,golden_id,rule (golden_id empty where the evidence did not suffice;
    /// rule says why): `--to place` where addresses put records, `--from house --to person`
    /// owners, `--from event --to person` reporters.
    Links {
        #[arg(long, value_enum)]
        from: Entity,
        #[arg(long, value_enum)]
        to: Entity,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Relationships between golden records as CSV kind,from,to,source,record_key,observed_at,
    /// first_seen_at,ended_at (lives_at, owns, works_for, happened_at, reported_by, located_at).
    Relations {
        /// Include relationships no record asserts any more.
        #[arg(long)]
        ended: bool,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Golden places as CSV golden_id,level,parent_golden_id.
    Places {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Golden records as JSON lines, ordered by golden id.
    Golden {
        #[arg(long, value_enum)]
        entity: Entity,
        /// Include retired records (merged into others).
        #[arg(long)]
        retired: bool,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditCmd {
    /// Recompute every entry's hash and link: an entry edited, removed or reordered is found.
    /// Prints the chain's head (keep it elsewhere: a trail cut short at its end is told only
    /// by a head seen before).
    Verify,
}

#[derive(Debug, Subcommand, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysCmd {
    /// Creates the key file of `[store.encryption]` with a new key, for a store that holds no
    /// sealed value yet (never over an existing file).
    Init,
    /// The keyring's key ids and, per sealed column, how many values each key sealed.
    Status,
    /// Re-encrypts every sealed value under the current key. With a key file, first adds a new
    /// key to it; with a key in the environment, add the new key last there before running.
    Rotate {
        /// After every value is resealed, remove the older keys from the key file.
        #[arg(long)]
        drop_old: bool,
    },
}

#[derive(Debug, Subcommand, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quarantine {
    /// List quarantined input, newest first.
    List {
        #[arg(long)]
        source: Option<String>,
        /// Include entries resolved by a later accepted version of the record.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entity {
    Person,
    #[value(alias = "organisation", alias = "org")]
    Organization,
    Place,
    House,
    #[value(alias = "incident")]
    Event,
}

impl From<Entity> for EntityKind {
    fn from(e: Entity) -> Self {
        match e {
            Entity::Person => EntityKind::Person,
            Entity::Organization => EntityKind::Organization,
            Entity::Place => EntityKind::Place,
            Entity::House => EntityKind::House,
            Entity::Event => EntityKind::Event,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKindArg {
    Delivery,
    Grant,
    Admin,
}

impl From<AuditKindArg> for AuditKind {
    fn from(k: AuditKindArg) -> Self {
        match k {
            AuditKindArg::Delivery => AuditKind::Delivery,
            AuditKindArg::Grant => AuditKind::Grant,
            AuditKindArg::Admin => AuditKind::Admin,
        }
    }
}
