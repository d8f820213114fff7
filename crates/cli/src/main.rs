//! `tombolo`: the admin CLI of the Tombolo data-integration hub. This file parses the command
//! line and dispatches; each command group is a file of `commands/`, over `tombolo-hub`.

mod args;
mod commands;

/// Many small allocations (one per value of a million records): mimalloc keeps the peak
/// resident memory close to what is live.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde::Serialize;
use tombolo_hub::admin::find::Query;
use tombolo_hub::audit::AuditFilter;
use tombolo_hub::{Config, Hub};

use args::{AuditCmd, AuditKindArg, Entity, Export, KeysCmd, Quarantine};
use commands::{audit, config, export, inspect, keys, reconcile, resolution, run, steward};

/// Tombolo joins departmental "information islands" into one shared base of records.
#[derive(Debug, Parser)]
#[command(name = "tombolo", version, about)]
struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "TOMBOLO_CONFIG",
        default_value = "tombolo.toml"
    )]
    config: PathBuf,
    /// Store URL, overriding `[store] url` (`sqlite:PATH` or `postgres://…`).
    #[arg(long, global = true, env = "TOMBOLO_STORE")]
    store: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (repeat for more).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Command {
    /// Pull every enabled source, resolve golden records and publish them.
    Run {
        /// Keep running on the configured schedule until interrupted.
        #[arg(long)]
        follow: bool,
        /// Seconds between runs with --follow (default: `[run] follow_interval_secs`).
        #[arg(long)]
        interval: Option<u64>,
        /// Store and resolve, but leave the outbox for a later run.
        #[arg(long)]
        no_publish: bool,
    },
    /// Pull one source (then resolve and publish).
    Pull {
        source: String,
        #[arg(long)]
        no_publish: bool,
    },
    /// Publish what the outbox holds.
    Publish,
    /// Per source: pulled, accepted, quarantined, checkpoint, last error; per entity: golden records.
    Status,
    /// Export data from the store.
    Export {
        #[command(subcommand)]
        what: Export,
    },
    /// Work with quarantined input.
    Quarantine {
        #[command(subcommand)]
        what: Quarantine,
    },
    /// Check the configuration file and print what each source reads.
    Check,
    /// The audit trail, newest first: deliveries, grant changes, admin actions.
    /// `--person GOLDEN_ID`: the deliveries that carried that golden record (which department,
    /// which fields and treatments, when, for what purpose, under which grant version).
    Audit {
        /// `verify`: walk the whole trail and check its hash chain (exit 1 when broken).
        #[command(subcommand)]
        what: Option<AuditCmd>,
        #[arg(long, value_enum)]
        kind: Option<AuditKindArg>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        person: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Every message of a topic the hub publishes, from the beginning, decoded into JSON lines
    /// (`partition`, `offset`, `key`, `value`): a hub topic with its schema file, a department
    /// topic (`….dept.<name>`) with the schema derived from that department's grant.
    Tail {
        topic: String,
        /// Stop after this many messages.
        #[arg(long)]
        max: Option<u64>,
        /// Stop when nothing arrives for this many seconds.
        #[arg(long, default_value_t = 10)]
        idle: u64,
    },
    /// The data catalogue, from the configuration: per source the columns read and the
    /// unified fields they feed, per department its purpose and what it may receive (field,
    /// classification, treatment). Markdown, or JSON with --json.
    Catalog,
    /// The Kafka ACLs each department's principal needs (read and describe its own topics, use
    /// consumer groups named `<department>.…`), as `kafka-acls.sh` commands or, with --json,
    /// as bindings.
    Acls {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Encryption at rest: which keys the store's values are sealed under, and rotation.
    Keys {
        #[command(subcommand)]
        what: KeysCmd,
    },
    /// The Avro schema (JSON) of a kind's topic: the schema file, or with --department the
    /// schema derived from that department's grant, which its topic carries.
    Schema {
        entity: Entity,
        /// A configured department.
        #[arg(long)]
        department: Option<String>,
    },
    /// Why a source record sits in its golden record: the linking rule, the field-by-field
    /// comparison with every other member, and where each golden value came from.
    Explain { source: String, record_key: String },
    /// Golden records whose records hold a resident ID, a phone or a name (with --birth-date,
    /// only people born that day), with their sources, through the keyed identifier index.
    /// Exit 1 when none is found.
    #[command(group(clap::ArgGroup::new("by").required(true).args(["resident_id", "phone", "name"])))]
    Find {
        #[arg(long)]
        resident_id: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, requires = "name")]
        birth_date: Option<String>,
    },
    /// Where a golden record comes from: its source records now and before, each field's
    /// chosen value with its source and the values it beat (and why), its merges, splits and
    /// retirements with their causes (merge events carry the id `unmerge` takes), and every
    /// delivery of it to a department.
    Lineage { golden_id: String },
    /// Merge SECOND into FIRST (any kind; places: two addresses of one place): one golden record under FIRST's id
    /// from the next resolution on, SECOND retired with a redirect. Kept through retraining
    /// and re-runs; `unmerge` undoes it.
    Merge {
        first: String,
        second: String,
        /// Why (kept with the action).
        #[arg(long)]
        reason: String,
        /// Who decided (default: the audit's actor, `TOMBOLO_ACTOR` or the user).
        #[arg(long)]
        by: Option<String>,
    },
    /// Take records out of a golden record into one of their own (the records left keep the
    /// id), from the next resolution on.
    Split {
        golden_id: String,
        /// The records to take out, `SOURCE:KEY,…`.
        #[arg(long, value_delimiter = ',', required = true)]
        records: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Undo a merge, the engine's or a steward's (`lineage` lists merge events with their
    /// ids): from the next resolution on, each side is a golden record under the id it had
    /// before, kept apart.
    Unmerge {
        event_id: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// A source against the hub: its rows read now (same, changed since the last pull, not
    /// pulled yet, quarantined; records the hub holds that the source no longer has), and the
    /// fields where its values lose to another source's in their golden records, recorded as
    /// corrections. `--export FILE`: the department's worklist (CSV), the winning value shown
    /// only where its grant has the field in clear.
    Reconcile {
        source: String,
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Corrections sent to departments: list them, or dispute one.
    Corrections {
        #[command(subcommand)]
        what: commands::reconcile::CorrectionsCmd,
    },
    /// The quality scorecards now: per source and field completeness, validity and agreement
    /// with the golden value; duplicates inside each source, freshness, overlap between
    /// sources, backlogs. (`run` keeps a snapshot after every run that changed something.)
    Scorecard,
    /// The islands report: DIR/index.html (one static page, charts as inline SVG, no script)
    /// and DIR/report.json (the same figures).
    Report {
        #[arg(long)]
        out: PathBuf,
    },
    /// Blocking report for the probabilistic matcher: candidate pairs per key, oversized keys,
    /// and with --truth the pair completeness (share of true pairs that share a key).
    /// Resolve again without pulling: incremental (what changed since the last resolution)
    /// unless --full.
    Resolve {
        #[arg(long)]
        full: bool,
    },
    /// Retrain the matching parameters on the records stored now and resolve everything with
    /// them. Reviewers' decisions still apply.
    Train,
    /// The matching parameters in force.
    Model {
        #[command(subcommand)]
        what: commands::resolution::ModelCmd,
    },
    /// The review queue: pairs the engine could not decide on its own.
    Review {
        #[command(subcommand)]
        what: commands::resolution::ReviewCmd,
    },
    /// Record a reviewer's decision on two records (people or organisations); it overrides the
    /// engine from the next resolution on, through retraining and re-runs. With --file, many
    /// decisions from a CSV (`review_id,verdict,reason` or
    /// `a_source,a_key,b_source,b_key,verdict,reason`): every line is checked first, and one bad
    /// line records nothing.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["verdict", "file"])))]
    Decide {
        #[arg(value_enum, requires_all = ["a_source", "a_key", "b_source", "b_key", "reason"])]
        verdict: Option<commands::resolution::VerdictArg>,
        a_source: Option<String>,
        a_key: Option<String>,
        b_source: Option<String>,
        b_key: Option<String>,
        /// Decisions in bulk from this CSV file.
        #[arg(long, conflicts_with = "verdict")]
        file: Option<PathBuf>,
        /// Who decided.
        #[arg(long)]
        by: String,
        /// Why (kept with the decision).
        #[arg(long)]
        reason: Option<String>,
    },
    Blocking {
        /// Largest block a key may form before it is skipped.
        #[arg(long, default_value_t = 50)]
        max_block: usize,
        /// Ground truth CSV (source,record_key,entity_id) to measure pair completeness.
        #[arg(long)]
        truth: Option<PathBuf>,
    },
}

fn init_logging(verbose: u8, json: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOMBOLO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours on a terminal only: a log written to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The name an admin command is audited under; `None` for commands that only read.
fn admin_action(c: &Command) -> Option<&'static str> {
    Some(match c {
        Command::Run { .. } => "run",
        Command::Pull { .. } => "pull",
        Command::Publish => "publish",
        Command::Resolve { .. } => "resolve",
        Command::Train => "train",
        Command::Model {
            what: resolution::ModelCmd::Import { .. },
        } => "model import",
        Command::Decide { .. } => "decide",
        Command::Merge { .. } => "merge",
        Command::Split { .. } => "split",
        Command::Unmerge { .. } => "unmerge",
        Command::Reconcile { .. } => "reconcile",
        Command::Corrections {
            what: commands::reconcile::CorrectionsCmd::Dispute { .. },
        } => "corrections dispute",
        Command::Keys {
            what: KeysCmd::Rotate { .. },
        } => "keys rotate",
        _ => return None,
    })
}

/// Commands that need no store.
fn without_store(cli: &Cli, config: &Config) -> Option<Result<()>> {
    Some(match &cli.command {
        Command::Check => config::check(config, cli.json),
        Command::Catalog => config::catalog(config, cli.json),
        Command::Acls { output } => config::acls(config, output.as_ref(), cli.json),
        Command::Schema { entity, department } => {
            config::schema(config, (*entity).into(), department.as_deref())
        }
        _ => return None,
    })
}

async fn real_main(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    if let Some(done) = without_store(&cli, &config) {
        done?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Keys {
        what: KeysCmd::Init,
    } = &cli.command
    {
        keys::init(&config, cli.store.as_deref(), cli.json).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut hub = Hub::open(config, cli.store.as_deref()).await?;
    let actor = tombolo_hub::audit::actor();
    if let Command::Run {
        follow: true,
        interval,
        no_publish,
    } = cli.command
    {
        let detail = serde_json::json!({ "command": &cli.command });
        let every = interval.unwrap_or(hub.config.run.follow_interval_secs);
        let every = Duration::from_secs(every.max(1));
        run::follow(&mut hub, &actor, &detail, every, !no_publish, cli.json).await?;
        hub.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    // One writer per store: every command that writes holds the store's writer lock until it
    // ends, and is audited with what it was asked (the parsed command, as JSON).
    let lock = match admin_action(&cli.command) {
        Some(action) => {
            let publishes = matches!(
                cli.command,
                Command::Run { .. } | Command::Pull { .. } | Command::Publish
            );
            let detail = serde_json::json!({ "command": &cli.command });
            Some(hub.begin_admin(&actor, action, &detail, publishes).await?)
        }
        None => None,
    };
    let code = dispatch(&hub, cli.command, cli.json).await?;
    // Unlocked before the process ends: on PostgreSQL the lock is the session's, and a
    // session the server has not yet seen close still holds it for the next command.
    if let Some(lock) = lock {
        lock.release().await;
    }
    hub.close().await;
    Ok(code)
}

async fn dispatch(hub: &Hub, command: Command, json: bool) -> Result<ExitCode> {
    match command {
        Command::Run { no_publish, .. } => {
            let report = run::run_once(hub, &[], json, !no_publish).await?;
            return Ok(run::exit_code(&report));
        }
        Command::Pull { source, no_publish } => {
            let report = run::run_once(hub, &[source], json, !no_publish).await?;
            return Ok(run::exit_code(&report));
        }
        Command::Publish => run::publish(hub, json).await?,
        Command::Status => run::status(hub, json).await?,
        Command::Export {
            what: Export::Crosswalk { entity, output },
        } => export::crosswalk(hub, entity.into(), output).await?,
        Command::Export {
            what: Export::Links { from, to, output },
        } => export::links(hub, from.into(), to.into(), output).await?,
        Command::Export {
            what: Export::Places { output },
        } => export::places(hub, output).await?,
        Command::Export {
            what: Export::Relations { ended, output },
        } => export::relations(hub, ended, output).await?,
        Command::Export {
            what:
                Export::Golden {
                    entity,
                    retired,
                    output,
                },
        } => export::golden(hub, entity.into(), retired, output).await?,
        Command::Quarantine {
            what: Quarantine::List { source, all, limit },
        } => export::quarantine(hub, source, all, limit, json).await?,
        Command::Check
        | Command::Catalog
        | Command::Schema { .. }
        | Command::Acls { .. }
        | Command::Keys {
            what: KeysCmd::Init,
        } => {}
        Command::Keys {
            what: KeysCmd::Status,
        } => keys::show(hub, None, json).await?,
        Command::Keys {
            what: KeysCmd::Rotate { drop_old },
        } => keys::show(hub, Some(drop_old), json).await?,
        Command::Tail { topic, max, idle } => audit::tail(hub, &topic, max, idle).await?,
        Command::Audit {
            what: Some(AuditCmd::Verify),
            ..
        } => audit::verify(hub, json).await?,
        Command::Audit {
            what: None,
            kind,
            department,
            person,
            limit,
        } => {
            let filter = AuditFilter {
                kind: kind.map(Into::into),
                department,
                golden_id: person,
                limit,
            };
            audit::list(hub, &filter, json).await?
        }
        Command::Lineage { golden_id } => steward::lineage(hub, &golden_id, json).await?,
        Command::Scorecard => reconcile::scorecard(hub, json).await?,
        Command::Report { out } => reconcile::report(hub, &out, json).await?,
        Command::Reconcile { source, export } => {
            reconcile::reconcile(hub, &source, export, json).await?
        }
        Command::Corrections { what } => {
            let by = match &what {
                commands::reconcile::CorrectionsCmd::Dispute { by, .. } => by.clone(),
                commands::reconcile::CorrectionsCmd::List { .. } => None,
            };
            reconcile::corrections(hub, what, by_or_actor(by), json).await?
        }
        Command::Merge {
            first,
            second,
            reason,
            by,
        } => steward::merge(hub, &first, &second, &by_or_actor(by), &reason, json).await?,
        Command::Split {
            golden_id,
            records,
            reason,
            by,
        } => steward::split(hub, &golden_id, &records, &by_or_actor(by), &reason, json).await?,
        Command::Unmerge {
            event_id,
            reason,
            by,
        } => steward::unmerge(hub, event_id, &by_or_actor(by), &reason, json).await?,
        Command::Explain { source, record_key } => {
            inspect::explain(hub, &source, &record_key, json).await?
        }
        Command::Find {
            resident_id,
            phone,
            name,
            birth_date,
        } => {
            let query = match (resident_id, phone, name) {
                (Some(id), _, _) => Query::ResidentId(id),
                (_, Some(phone), _) => Query::Phone(phone),
                (_, _, name) => Query::Name {
                    name: name.unwrap_or_default(),
                    birth_date,
                },
            };
            return inspect::find(hub, &query, json).await;
        }
        Command::Blocking { max_block, truth } => {
            inspect::blocking(hub, max_block, truth, json).await?
        }
        Command::Resolve { full } => resolution::print_entities(&hub.resolve(full).await?, json)?,
        Command::Train => resolution::print_entities(&hub.train().await?, json)?,
        Command::Model { what } => resolution::model(hub, what, json).await?,
        Command::Review { what } => resolution::review(hub, what, json).await?,
        Command::Decide {
            verdict,
            a_source,
            a_key,
            b_source,
            b_key,
            file,
            by,
            reason,
        } => {
            let one = match (verdict, a_source, a_key, b_source, b_key) {
                (Some(v), Some(a), Some(ak), Some(b), Some(bk)) => Some((v, (a, ak), (b, bk))),
                _ => None,
            };
            resolution::decide(
                hub,
                resolution::DecideArgs {
                    one,
                    file,
                    by,
                    reason: reason.unwrap_or_default(),
                },
                json,
            )
            .await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who a steward's command is recorded as having been decided by.
fn by_or_actor(by: Option<String>) -> String {
    by.unwrap_or_else(tombolo_hub::audit::actor)
}

/// Another process holds the store's writer lock.
fn is_locked(e: &anyhow::Error) -> bool {
    e.downcast_ref::<tombolo_hub::Error>()
        .is_some_and(tombolo_hub::Error::is_locked)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.json);
    match real_main(cli).await {
        Ok(code) => code,
        Err(e) => {
            // Every cause, each once (some errors repeat their cause in their own message).
            let root: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!("tombolo: {}", tombolo_hub::error_chain(root));
            if is_locked(&e) {
                ExitCode::from(4)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The CLI is a front end: of Tombolo's crates it depends on the hub alone, so domain
    /// logic cannot creep back into it.
    #[test]
    fn the_cli_depends_on_the_hub_alone() {
        let manifest = include_str!("../Cargo.toml");
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap_or_default();
        let ours: Vec<&str> = deps
            .lines()
            .filter_map(|l| l.split(['.', ' ', '=']).next())
            .filter(|name| name.starts_with("tombolo-"))
            .collect();
        assert_eq!(ours, ["tombolo-hub"], "{deps}");
        assert!(deps.contains("clap."));
    }
}
