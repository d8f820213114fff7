//! `tombolo`: the admin CLI of the Tombolo data-integration hub.

mod admin;

/// Many small allocations (one per value of a million records): mimalloc keeps the peak
/// resident memory close to what is live.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::MultiProgress;
use tombolo_core::EntityKind;
use tombolo_hub::pipeline::RunReport;
use tombolo_hub::{Config, Hub};
use tombolo_publish::feeds::Feeds;
use tombolo_publish::grants::PseudonymKeys;
use tombolo_publish::tail::Decoder;
use tombolo_store::audit::{AuditFilter, AuditKind};
use tombolo_store::lock::Holder;

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

#[derive(Debug, Subcommand)]
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
        what: admin::ModelCmd,
    },
    /// The review queue: pairs the engine could not decide on its own.
    Review {
        #[command(subcommand)]
        what: admin::ReviewCmd,
    },
    /// Record a reviewer's decision on two person records; it overrides the engine from the
    /// next resolution on, through retraining and re-runs.
    Decide {
        #[arg(value_enum)]
        verdict: admin::VerdictArg,
        a_source: String,
        a_key: String,
        b_source: String,
        b_key: String,
        /// Who decided.
        #[arg(long)]
        by: String,
        /// Why (kept with the decision).
        #[arg(long)]
        reason: String,
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

#[derive(Debug, Subcommand)]
enum Export {
    /// The crosswalk as CSV: source,record_key,golden_id.
    Crosswalk {
        #[arg(long, value_enum)]
        entity: Entity,
        /// Output file (standard output when absent).
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

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Recompute every entry's hash and link: an entry edited, removed or reordered is found.
    /// Prints the chain's head (keep it elsewhere: a trail cut short at its end is told only
    /// by a head seen before).
    Verify,
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
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

#[derive(Debug, Subcommand)]
enum Quarantine {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Entity {
    Person,
    #[value(alias = "organisation", alias = "org")]
    Organization,
}

impl From<Entity> for EntityKind {
    fn from(e: Entity) -> Self {
        match e {
            Entity::Person => EntityKind::Person,
            Entity::Organization => EntityKind::Organization,
        }
    }
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
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn print_run(report: &RunReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
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

async fn run_once(hub: &Hub, only: &[String], json: bool, publish: bool) -> Result<RunReport> {
    let progress =
        (!json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(MultiProgress::new);
    let report = hub.run(only, progress.as_ref(), publish).await?;
    print_run(&report, json)?;
    Ok(report)
}

async fn status(hub: &Hub, json: bool) -> Result<()> {
    let sources = hub.store.status().await?;
    let mut golden = serde_json::Map::new();
    for e in EntityKind::ALL {
        golden.insert(e.as_str().into(), hub.store.golden_count(e).await?.into());
    }
    let backlog = hub.store.outbox_backlog().await?;
    let publish = hub.store.publish_status().await?.map(|(at, published, error)| {
        serde_json::json!({ "last_run_at": at, "published": published, "last_error": error })
    });
    if json {
        println!(
            "{}",
            serde_json::json!({ "sources": sources, "golden_records": golden, "outbox_backlog": backlog, "publish": publish })
        );
        return Ok(());
    }
    if let Some(p) = &publish {
        println!(
            "last publication {}: {} messages{}",
            p["last_run_at"].as_str().unwrap_or_default(),
            p["published"],
            p["last_error"]
                .as_str()
                .map(|e| format!(", failed: {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "{:<12} {:<13} {:>8} {:>9} {:>12} {:<26} checkpoint / last error",
        "source", "entity", "pulled", "accepted", "quarantined", "last run"
    );
    for s in &sources {
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
    for (e, n) in &golden {
        println!("golden {e}: {n}");
    }
    println!("outbox backlog: {backlog}");
    Ok(())
}

async fn export_crosswalk(hub: &Hub, entity: EntityKind, output: Option<PathBuf>) -> Result<()> {
    let links = hub.store.crosswalk(entity).await?;
    let out = open_output(&output)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["source", "record_key", "golden_id", "rule"])?;
    for l in &links {
        w.write_record([
            l.source.as_str(),
            &tombolo_hub::export::cell(&l.record_key),
            &l.golden_id,
            &l.rule,
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn open_output(output: &Option<PathBuf>) -> Result<Box<dyn Write>> {
    Ok(match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}

async fn export_golden(
    hub: &Hub,
    entity: EntityKind,
    retired: bool,
    output: Option<PathBuf>,
) -> Result<()> {
    let mut out = open_output(&output)?;
    for g in hub.store.goldens(entity, retired).await? {
        writeln!(out, "{}", serde_json::to_string(&g)?)?;
    }
    out.flush()?;
    Ok(())
}

async fn quarantine_list(
    hub: &Hub,
    source: Option<String>,
    all: bool,
    limit: i64,
    json: bool,
) -> Result<()> {
    let rows = hub.store.quarantine(source.as_deref(), all, limit).await?;
    if json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(());
    }
    for r in &rows {
        println!(
            "#{} {} {} [{}] {}\n    {}",
            r.id, r.source, r.record_key, r.error_class, r.reason, r.excerpt
        );
    }
    if rows.is_empty() {
        println!("quarantine is empty");
    }
    Ok(())
}

async fn explain(hub: &Hub, source: &str, key: &str, json: bool) -> Result<()> {
    let (entity, link) = hub
        .store
        .link(source, key)
        .await?
        .with_context(|| format!("no record {source}/{key} in the crosswalk"))?;
    let record = hub
        .store
        .record(source, key)
        .await?
        .with_context(|| format!("record {source}/{key} is not stored"))?;
    let golden = hub
        .store
        .golden(&link.golden_id)
        .await?
        .with_context(|| format!("golden record {} is missing", link.golden_id))?;
    let model: Option<tombolo_resolve::fs::Model> = match hub.store.model(entity).await? {
        Some(m) => Some(serde_json::from_str(&m.params)?),
        None => None,
    };
    let evidence: Option<serde_json::Value> = link
        .evidence
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?;
    let mut comparisons = Vec::new();
    for m in &golden.members {
        if m.source == source && m.record_key == key {
            continue;
        }
        let Some(other) = hub.store.record(&m.source, &m.record_key).await? else {
            continue;
        };
        let g = |r: &tombolo_normalize::NormalizedRecord, f: &str| r.get(f).map(str::to_owned);
        let mut fields = Vec::new();
        if let (EntityKind::Person, Some(model)) = (entity, &model) {
            let e = tombolo_resolve::explain_people(model, &record, &other);
            for t in &e.terms {
                fields.push(serde_json::json!({
                    "field": t.field, "this": t.left, "other": t.right,
                    "level": t.level.as_deref().unwrap_or("missing"), "weight": t.weight,
                }));
            }
            comparisons.push(serde_json::json!({
                "source": m.source, "record_key": m.record_key, "fields": fields,
                "prior_weight": e.prior_weight, "weight": e.weight, "probability": e.probability,
            }));
            continue;
        } else {
            for f in ["name", "credit_code", "org_code", "legal_rep"] {
                let (a, b) = (g(&record, f), g(&other, f));
                let level = match (&a, &b) {
                    (Some(x), Some(y)) if x == y => "exact",
                    (Some(_), Some(_)) => "different",
                    _ => "missing",
                };
                fields
                    .push(serde_json::json!({ "field": f, "this": a, "other": b, "level": level }));
            }
        }
        comparisons.push(
            serde_json::json!({ "source": m.source, "record_key": m.record_key, "fields": fields }),
        );
    }
    let out = serde_json::json!({
        "source": source, "record_key": key, "entity": entity, "golden_id": link.golden_id, "rule": link.rule,
        "evidence": evidence, "record": record.values, "issues": record.issues, "members": golden.members.len(),
        "comparisons": comparisons, "provenance": golden.provenance,
    });
    if json {
        println!("{out}");
        return Ok(());
    }
    println!(
        "{source}/{key} → {} ({} members), linked by: {}",
        link.golden_id,
        golden.members.len(),
        link.rule
    );
    for i in &record.issues {
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
    if let Some(e) = &evidence {
        println!(
            "  tied by the pair with {}/{}{}",
            e["with"][0].as_str().unwrap_or(""),
            e["with"][1].as_str().unwrap_or(""),
            if e["manual"].as_bool() == Some(true) {
                " (a reviewer's decision)"
            } else {
                ""
            }
        );
    }
    for c in &comparisons {
        let score = match (c["weight"].as_f64(), c["probability"].as_f64()) {
            (Some(w), Some(p)) => format!(
                ": prior {:+.2} + fields = weight {w:+.2}, probability {p:.6}",
                c["prior_weight"].as_f64().unwrap_or_default()
            ),
            _ => ":".to_owned(),
        };
        println!(
            "  vs {}/{}{score}",
            c["source"].as_str().unwrap_or(""),
            c["record_key"].as_str().unwrap_or("")
        );
        for f in c["fields"].as_array().into_iter().flatten() {
            let weight = f["weight"]
                .as_f64()
                .map(|w| format!("{w:+7.2}"))
                .unwrap_or_default();
            println!(
                "    {:<12} {:<24} {:<24} {:<26} {weight}",
                f["field"].as_str().unwrap_or(""),
                f["this"].as_str().unwrap_or("-"),
                f["other"].as_str().unwrap_or("-"),
                f["level"].as_str().unwrap_or("")
            );
        }
    }
    println!("  golden values:");
    for p in &golden.provenance {
        let value = golden
            .values
            .get(&p.field)
            .map(String::as_str)
            .unwrap_or("(parts)");
        println!(
            "    {:<22} {:<40} from {}/{} ({})",
            p.field, value, p.source, p.record_key, p.rule
        );
    }
    Ok(())
}

async fn blocking_report(
    hub: &Hub,
    max_block: usize,
    truth: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    use tombolo_resolve::blocking::{pair_completeness, person_index, PERSON_RULES};
    let stored = hub.store.records(EntityKind::Person).await?;
    let records: Vec<&tombolo_normalize::NormalizedRecord> =
        stored.iter().map(|s| &s.record).collect();
    let index = person_index(records.iter().copied(), max_block);
    let mut per_key = std::collections::BTreeMap::new();
    for rule in PERSON_RULES {
        let prefix = format!("{rule}=");
        let oversized = index
            .oversized
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .count();
        per_key.insert(rule, (index.rule_pairs(rule).len(), oversized));
    }
    let pairs = index.pairs();
    let completeness = match truth {
        Some(path) => {
            let mut map = std::collections::HashMap::new();
            let mut rdr = csv::Reader::from_path(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            for row in rdr.records() {
                let row = row?;
                map.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
            }
            let ids: Vec<String> = stored
                .iter()
                .map(|s| {
                    map.get(&(s.source.clone(), s.record.key.clone()))
                        .cloned()
                        .unwrap_or_else(|| format!("unknown:{}:{}", s.source, s.record.key))
                })
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            Some(pair_completeness(&refs, &pairs))
        }
        None => None,
    };
    if json {
        let keys: serde_json::Map<String, serde_json::Value> = per_key
            .iter()
            .map(|(k, (p, o))| {
                (
                    (*k).to_owned(),
                    serde_json::json!({ "pairs": p, "oversized_keys": o }),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "records": records.len(), "candidate_pairs": pairs.len(), "keys": keys,
                                "oversized": index.oversized, "pair_completeness": completeness })
        );
        return Ok(());
    }
    println!(
        "{} person records, {} candidate pairs (max block {max_block})",
        records.len(),
        pairs.len()
    );
    for (k, (p, o)) in &per_key {
        println!("  {k:<26} {p:>9} pairs  {o:>4} oversized keys skipped");
    }
    for (k, n) in index.oversized.iter().take(10) {
        println!("  oversized: {k} ({n} records)");
    }
    if let Some(c) = completeness {
        println!("pair completeness: {c:.4}");
    }
    Ok(())
}

fn check(config: &Config, json: bool) -> Result<()> {
    let codes = config.code_tables();
    let mut out = Vec::new();
    for s in &config.sources {
        let m = tombolo_normalize::Mapping::compile(&s.mapping, &codes)?;
        // Record keys are stored in clear (the hub finds rows by them): a key column that is
        // personal data (a resident ID, a phone) puts it in clear in the store.
        let key = s.connector.key_column();
        let warning = m
            .feeds()
            .iter()
            .filter(|(from, _)| from == key)
            .filter_map(|(_, target)| tombolo_normalize::fields::spec(m.entity(), target))
            .find(|spec| {
                matches!(
                    spec.classification,
                    tombolo_core::Classification::Personal
                        | tombolo_core::Classification::Sensitive
                )
            })
            .map(|spec| {
                format!(
                    "the key column is mapped to {} ({}): record keys are stored in clear, so \
                     this personal data is in clear in the store; key the source by a \
                     surrogate column if it has one",
                    spec.name,
                    format!("{:?}", spec.classification).to_lowercase()
                )
            });
        out.push(serde_json::json!({
            "source": s.name, "connector": s.connector.kind(), "entity": m.entity(),
            "key": key, "reads": m.feeds(), "warning": warning,
        }));
    }
    if json {
        println!("{}", serde_json::Value::Array(out));
    } else {
        for s in &out {
            println!(
                "{} ({}, {}): key {}, reads {}",
                s["source"], s["connector"], s["entity"], s["key"], s["reads"]
            );
            if let Some(w) = s["warning"].as_str() {
                println!("  warning: {w}");
            }
        }
        println!("config OK: {} sources", config.sources.len());
    }
    Ok(())
}

async fn real_main(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    if let Command::Check = cli.command {
        check(&config, cli.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Catalog = cli.command {
        let catalog = tombolo_hub::catalog::Catalog::of(&config)?;
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&catalog)?);
        } else {
            print!("{}", catalog.markdown());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Acls { output } = &cli.command {
        acls(&config, output.as_ref(), cli.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Schema { entity, department } = &cli.command {
        println!(
            "{}",
            schema_of(&config, (*entity).into(), department.as_deref())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Keys {
        what: KeysCmd::Init,
    } = &cli.command
    {
        keys_init(&config, cli.store.as_deref(), cli.json).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let interval = config.run.follow_interval_secs;
    let lock_wait = Duration::from_secs(config.store.lock_wait_secs);
    let mut hub = Hub::open(config, cli.store.as_deref()).await?;
    let actor = tombolo_hub::audit::actor();
    let follow = matches!(cli.command, Command::Run { follow: true, .. });
    // One writer per store: every command that writes holds the store's writer lock until it
    // ends (`run --follow` takes it for each round).
    let _lock = match admin_action(&cli.command) {
        Some(action) if !follow => Some(
            hub.store
                .lock_writer(
                    &Holder {
                        command: action.into(),
                    },
                    lock_wait,
                )
                .await?,
        ),
        _ => None,
    };
    if _lock.is_some() {
        // Content hashes from before the store's keyring keyed them (audit L1), keyed once.
        hub.store.rehash_contents().await?;
    }
    // Grants as configured now, recorded by the commands that publish only (a read-only command
    // with another config must not create a grant version): a change is versioned and audited
    // before anything runs.
    if matches!(
        cli.command,
        Command::Run { .. } | Command::Pull { .. } | Command::Publish
    ) {
        hub.record_grants(&actor).await?;
    }
    if let Some(action) = admin_action(&cli.command) {
        let detail = serde_json::json!({ "command": format!("{:?}", cli.command) });
        hub.store
            .audit_admin(&actor, action, &detail.to_string())
            .await?;
    }
    match cli.command {
        Command::Run {
            follow: false,
            no_publish,
            ..
        } => {
            let report = run_once(&hub, &[], cli.json, !no_publish).await?;
            if report.publish_error.is_some() {
                return Ok(ExitCode::FAILURE);
            }
            if report.failed_sources() > 0 {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Run {
            follow: true,
            interval: every,
            no_publish,
        } => {
            let every = Duration::from_secs(every.unwrap_or(interval).max(1));
            loop {
                let round = async {
                    let lock = hub
                        .store
                        .lock_writer(
                            &Holder {
                                command: "run --follow".into(),
                            },
                            lock_wait,
                        )
                        .await?;
                    // The keyring as it is now: a rotation between rounds is followed, never
                    // undone by a key this process still held in memory.
                    hub.refresh_keyring().await?;
                    hub.store.rehash_contents().await?;
                    let result = run_once(&hub, &[], cli.json, !no_publish).await;
                    lock.release().await;
                    result
                };
                if let Err(e) = round.await {
                    tracing::error!(error = %e, "run failed; retrying at the next interval");
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
        }
        Command::Pull { source, no_publish } => {
            let report = run_once(&hub, &[source], cli.json, !no_publish).await?;
            if report.publish_error.is_some() {
                return Ok(ExitCode::FAILURE);
            }
            if report.failed_sources() > 0 {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Publish => {
            let stats = match hub.publish().await {
                Ok(s) => {
                    if let Some(s) = &s {
                        hub.store.record_publish(s.published, None).await?;
                    }
                    s
                }
                Err(e) => {
                    let msg = tombolo_core::redact::urls_in(&e.to_string());
                    hub.store.record_publish(0, Some(&msg)).await?;
                    return Err(e.into());
                }
            };
            if cli.json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                match stats {
                    Some(s) => println!("published {} messages", s.published),
                    None => println!("no [kafka] configured"),
                }
            }
        }
        Command::Status => status(&hub, cli.json).await?,
        Command::Export {
            what: Export::Crosswalk { entity, output },
        } => export_crosswalk(&hub, entity.into(), output).await?,
        Command::Export {
            what:
                Export::Golden {
                    entity,
                    retired,
                    output,
                },
        } => export_golden(&hub, entity.into(), retired, output).await?,
        Command::Quarantine {
            what: Quarantine::List { source, all, limit },
        } => quarantine_list(&hub, source, all, limit, cli.json).await?,
        Command::Check | Command::Catalog | Command::Schema { .. } | Command::Acls { .. } => {}
        Command::Keys { what } => keys(&hub, what, cli.json).await?,
        Command::Tail { topic, max, idle } => {
            let Some(kafka) = &hub.config.kafka else {
                anyhow::bail!("tail needs a [kafka] section in the config");
            };
            // Only the schemas are needed: no keys, no grant versions.
            let departments: Vec<_> = hub
                .config
                .departments
                .iter()
                .map(|d| (d.clone(), 0))
                .collect();
            let feeds = Feeds::new(kafka, &departments, PseudonymKeys::default(), "")?;
            let decoder = Decoder::for_topic(&topic, &feeds)?;
            let mut stdout = std::io::stdout().lock();
            let idle = Duration::from_secs(idle);
            tombolo_publish::tail::tail(kafka, &topic, &decoder, max, idle, |v| {
                writeln!(stdout, "{v}").map_err(|e| tombolo_publish::Error::Config(e.to_string()))
            })
            .await?;
        }
        Command::Audit {
            what: Some(AuditCmd::Verify),
            ..
        } => {
            let report = hub.store.verify_audit().await?;
            if cli.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "{} entries; head {} {}",
                    report.entries, report.head_n, report.head_hash
                );
            }
            if let Some(problem) = report.problem {
                anyhow::bail!("the audit trail is broken: {problem}");
            }
        }
        Command::Audit {
            what: None,
            kind,
            department,
            person,
            limit,
        } => {
            let rows = hub
                .audit(&AuditFilter {
                    kind: kind.map(Into::into),
                    department,
                    golden_id: person,
                    limit,
                })
                .await?;
            tombolo_hub::audit::print(&rows, cli.json)?
        }
        Command::Explain { source, record_key } => {
            explain(&hub, &source, &record_key, cli.json).await?
        }
        Command::Resolve { full } => admin::print_entities(&hub.resolve(full).await?, cli.json)?,
        Command::Train => admin::print_entities(&hub.train().await?, cli.json)?,
        Command::Model { what } => admin::model(&hub, what, cli.json).await?,
        Command::Review { what } => admin::review(&hub, what, cli.json).await?,
        Command::Decide {
            verdict,
            a_source,
            a_key,
            b_source,
            b_key,
            by,
            reason,
        } => {
            admin::decide(
                &hub,
                admin::DecideArgs {
                    verdict,
                    a: (a_source, a_key),
                    b: (b_source, b_key),
                    by,
                    reason,
                },
            )
            .await?
        }
        Command::Blocking { max_block, truth } => {
            blocking_report(&hub, max_block, truth, cli.json).await?
        }
    }
    hub.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `tombolo acls`.
fn acls(config: &Config, output: Option<&PathBuf>, json: bool) -> Result<()> {
    let Some(kafka) = &config.kafka else {
        anyhow::bail!("acls needs a [kafka] section in the config");
    };
    let (bindings, unnamed) = tombolo_publish::acl::department_acls(kafka, &config.departments);
    for d in unnamed {
        eprintln!("department {d} names no principal: its feed cannot be restricted");
    }
    let text = if json {
        serde_json::to_string_pretty(&bindings)? + "\n"
    } else {
        tombolo_publish::acl::kafka_acls_script(&bindings, &kafka.brokers)
    };
    let mut out = open_output(&output.cloned())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `tombolo keys init`: a key file for a store without sealed values.
async fn keys_init(config: &Config, store_url: Option<&str>, json: bool) -> Result<()> {
    let Some(path) = config
        .store
        .encryption
        .as_ref()
        .and_then(|e| e.key_file.as_ref())
    else {
        anyhow::bail!("keys init creates the key_file of [store.encryption]; none is configured");
    };
    let store = Hub::open_store(config, store_url).await?;
    let sealed = store.sealed_samples().await?;
    anyhow::ensure!(
        sealed.is_empty(),
        "the store already holds sealed values: restore its key file instead of making a new key"
    );
    let id = tombolo_hub::secrets::init_key_file(path)?;
    store
        .audit_admin(
            &tombolo_hub::audit::actor(),
            "keys init",
            &serde_json::json!({ "key": id }).to_string(),
        )
        .await?;
    if json {
        println!("{}", serde_json::json!({ "key": id, "file": path }));
    } else {
        println!(
            "created key {id} in {} (back it up apart from the store)",
            path.display()
        );
    }
    Ok(())
}

/// `tombolo keys status|rotate`.
async fn keys(hub: &Hub, what: KeysCmd, json: bool) -> Result<()> {
    let Some(encryption) = &hub.config.store.encryption else {
        anyhow::bail!("the store is not encrypted: configure [store.encryption] first");
    };
    let mut out = serde_json::Map::new();
    let (store, usage) = match what {
        KeysCmd::Status => (hub.store.clone(), hub.store.key_usage().await?),
        KeysCmd::Init => anyhow::bail!("keys init runs before the store is opened"),
        KeysCmd::Rotate { drop_old } => {
            if let Some(path) = &encryption.key_file {
                let id = tombolo_hub::secrets::add_key(path)?;
                eprintln!("added key {id} to {}", path.display());
            }
            let ring = tombolo_hub::secrets::keyring(encryption, false)?;
            let current = ring.current_id().to_owned();
            let store = hub.store.clone().with_keyring(ring);
            let report = store.reseal().await?;
            // Verified before any old key is dropped.
            let usage = store.key_usage().await?;
            let left: u64 = usage
                .values()
                .flat_map(|c| c.iter())
                .filter(|(id, _)| **id != current)
                .map(|(_, n)| n)
                .sum();
            anyhow::ensure!(left == 0, "{left} values are still under older keys");
            out.insert("resealed".into(), serde_json::to_value(&report)?);
            let store = if drop_old {
                match &encryption.key_file {
                    Some(path) => tombolo_hub::secrets::drop_old_keys(path)?,
                    None => anyhow::bail!("--drop-old edits a key file; remove old keys from the environment yourself"),
                }
                // The keyring as it is now in the file.
                store.with_keyring(tombolo_hub::secrets::keyring(encryption, false)?)
            } else {
                store
            };
            (store, usage)
        }
    };
    let ring = store.keyring();
    out.insert(
        "current".into(),
        ring.map(|k| k.current_id()).unwrap_or_default().into(),
    );
    out.insert(
        "keys".into(),
        serde_json::to_value(ring.map(|k| k.ids()).unwrap_or_default())?,
    );
    out.insert("usage".into(), serde_json::to_value(usage)?);
    if json {
        println!("{}", serde_json::Value::Object(out));
        return Ok(());
    }
    println!(
        "current key: {}  (keyring: {})",
        out["current"], out["keys"]
    );
    if let Some(r) = out.get("resealed") {
        println!("resealed: {r}");
    }
    for (column, counts) in out["usage"].as_object().into_iter().flatten() {
        println!("{column:<26} {counts}");
    }
    Ok(())
}

/// The schema text of `entity`'s hub topic, or of a department's topic.
fn schema_of(config: &Config, entity: EntityKind, department: Option<&str>) -> Result<String> {
    let Some(name) = department else {
        return Ok(tombolo_publish::avro::schema_text(entity)?.to_owned());
    };
    let Some(d) = config.departments.iter().find(|d| d.name == name) else {
        anyhow::bail!("no department named {name:?} in the config");
    };
    match tombolo_publish::grants::schema::department_schema(d, entity)? {
        Some(text) => Ok(text),
        None => anyhow::bail!("department {name} receives nothing of kind {entity}"),
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
            what: admin::ModelCmd::Import { .. },
        } => "model import",
        Command::Decide { .. } => "decide",
        Command::Keys {
            what: KeysCmd::Rotate { .. },
        } => "keys rotate",
        Command::Keys {
            what: KeysCmd::Init,
        } => "keys init",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AuditKindArg {
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

/// Another process holds the store's writer lock.
fn is_locked(e: &anyhow::Error) -> bool {
    use tombolo_store::Error::Locked;
    matches!(e.downcast_ref::<tombolo_store::Error>(), Some(Locked(_)))
        || matches!(
            e.downcast_ref::<tombolo_hub::Error>(),
            Some(tombolo_hub::Error::Store(Locked(_)))
        )
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.json);
    match real_main(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tombolo: {e:#}");
            if is_locked(&e) {
                ExitCode::from(4)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
