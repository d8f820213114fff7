//! The pipeline: pull → normalise → store (with checkpoint) → resolve → outbox → publish.

use std::collections::BTreeSet;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use tombolo_core::{EntityKind, ErrorClass, Pulled, RawRecord};
use tombolo_normalize::Mapping;
use tombolo_publish::feeds::{today, Feeds};
use tombolo_publish::grants::DepartmentConfig;
use tombolo_publish::kafka::KafkaSink;
use tombolo_publish::publisher::{drain, PublishStats};
use tombolo_resolve::fs::{Model, Verdict};
use tombolo_resolve::ids::Previous;
use tombolo_resolve::{ManualDecision, Request};
use tombolo_store::apply::{ApplyOutcome, PreviousLinks};
use tombolo_store::records::QuarantineEntry;
use tombolo_store::resolution::{NewReview, ResolveState};
use tombolo_store::status::RunCounts;
use tombolo_store::Store;

use crate::config::SourceConfig;
use crate::{Config, Error, Result};

/// A blocking key (`rule=value`) with its value withheld: `rule=…`.
pub fn withheld(key: &str) -> String {
    match key.split_once('=') {
        Some((rule, _)) => format!("{rule}=…"),
        None => "…".to_owned(),
    }
}

/// The store's crosswalk as the resolver reads it.
struct Links(PreviousLinks);

impl Previous for Links {
    fn golden(&self, source: &str, key: &str) -> Option<&str> {
        self.0.golden(source, key)
    }

    fn golden_ids(&self) -> Vec<&str> {
        self.0.golden_ids()
    }
}

/// The process's peak resident memory so far, in MiB (Linux; 0 elsewhere), for the log.
fn peak_memory_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Clusters whose golden records and links are computed and written together.
const WRITE_CLUSTERS: usize = 4_000;

/// What one source's run did.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub entity: EntityKind,
    #[serde(flatten)]
    pub counts: RunCounts,
    /// What the connector read, in the source's own units (files with their encoding and
    /// physical lines, pages, rows), to reconcile the counts with the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    pub error: Option<String>,
    pub seconds: f64,
}

/// What pulling one source did: its counts and what its connector read.
#[derive(Debug, Clone, Default)]
pub struct SourceRun {
    pub counts: RunCounts,
    pub input: Option<serde_json::Value>,
}

/// What resolving one entity kind did.
#[derive(Debug, Clone, Serialize)]
pub struct EntityReport {
    pub entity: EntityKind,
    pub records: u64,
    pub golden_records: u64,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Records re-clustered (all of them in a full resolution).
    pub records_resolved: u64,
    pub pairs_scored: u64,
    /// Pairs filed for review by this resolution.
    pub review_items: u64,
    /// The parameters used (people).
    pub model_id: Option<i64>,
    pub timings: tombolo_resolve::Timings,
    /// Writing golden records, crosswalk, review queue and outbox.
    pub store_ms: u64,
    #[serde(flatten)]
    pub outcome: ApplyOutcome,
    /// Linking keys skipped because too many records shared them.
    pub oversized_keys: Vec<(String, usize)>,
    /// The parameters in force were trained on fewer than half the records stored now (a
    /// source was down at the first run, say): `tombolo train` would learn them again.
    pub stale_model: bool,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub sources: Vec<SourceReport>,
    pub entities: Vec<EntityReport>,
    /// `None` when no broker is configured (the outbox keeps everything).
    pub published: Option<PublishStats>,
    /// Why publishing failed (the outbox keeps what was not sent); the report is still given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_error: Option<String>,
    pub outbox_backlog: u64,
    pub seconds: f64,
}

impl RunReport {
    pub fn failed_sources(&self) -> usize {
        self.sources.iter().filter(|s| s.error.is_some()).count()
    }
}

/// The hub: a config and its store.
#[derive(Debug)]
pub struct Hub {
    pub config: Config,
    pub store: Store,
}

fn excerpt(r: &RawRecord) -> String {
    let text = serde_json::to_string(&r.fields).unwrap_or_default();
    if text.chars().count() > 240 {
        text.chars().take(240).collect::<String>() + "…"
    } else {
        text
    }
}

impl Hub {
    /// Opens the store named by the config (or by `store_url`) without its keyring.
    pub async fn open_store(config: &Config, store_url: Option<&str>) -> Result<Store> {
        let url = store_url
            .map(str::to_owned)
            .unwrap_or_else(|| config.store.url.clone());
        if let Some(path) = url.strip_prefix("sqlite:") {
            let file = path
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default();
            if let Some(dir) = std::path::Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                crate::secrets::private_dir(dir)?;
            }
        }
        let store = Store::open(&url).await?;
        if store_url.is_some() && url.contains('@') && tombolo_core::redact::url(&url) != url {
            tracing::warn!("the store URL given on the command line carries a password, which the process list shows: set TOMBOLO_STORE or [store] url with ${{VAR}} instead");
        }
        Ok(store)
    }

    /// Opens the store named by the config (or by `store_url`), with its keyring.
    pub async fn open(config: Config, store_url: Option<&str>) -> Result<Self> {
        let mut store = Self::open_store(&config, store_url).await?;
        match &config.store.encryption {
            Some(e) => {
                let ring = crate::secrets::store_keyring(&store, e).await?;
                store = store.with_keyring(ring);
            }
            None => tracing::warn!(
                "the store is not encrypted at rest: configure [store.encryption] (docs/privacy.md)"
            ),
        }
        Ok(Self { config, store })
    }

    /// Reads the keyring again (between rounds of `run --follow`), checked against the store
    /// as at start, so a key rotated meanwhile is used and a dropped one is never sealed with.
    pub async fn refresh_keyring(&mut self) -> Result<()> {
        if let Some(e) = &self.config.store.encryption {
            let ring = crate::secrets::store_keyring(&self.store, e).await?;
            self.store = self.store.clone().with_keyring(ring);
        }
        Ok(())
    }

    /// Pulls one source into the store. Bad input is quarantined; a source-level failure, or
    /// a store error while writing a batch, stops this source (its checkpoint stays at the
    /// last stored batch), is recorded in its status and returned.
    pub async fn pull(&self, src: &SourceConfig, bar: &ProgressBar) -> (SourceRun, Option<Error>) {
        let mut run = SourceRun::default();
        let result = self.pull_into(src, bar, &mut run).await;
        (run, result.err())
    }

    async fn pull_into(
        &self,
        src: &SourceConfig,
        bar: &ProgressBar,
        run: &mut SourceRun,
    ) -> Result<()> {
        let mapping = Mapping::compile(&src.mapping, &self.config.code_tables())?;
        let checkpoint = self.store.checkpoint(&src.name).await?;
        let entity = mapping.entity();
        let result = self
            .pull_batches(
                src,
                &mapping,
                checkpoint,
                &mut run.counts,
                &mut run.input,
                bar,
            )
            .await;
        let message = result.as_ref().err().map(|e| e.to_string());
        if let Err(e) = self
            .store
            .finish_run(&src.name, entity, run.counts, message.as_deref())
            .await
        {
            tracing::error!(source = %src.name, "could not record the end of the run: {e}");
            if result.is_ok() {
                return Err(e.into());
            }
        }
        result
    }

    async fn pull_batches(
        &self,
        src: &SourceConfig,
        mapping: &Mapping,
        checkpoint: Option<serde_json::Value>,
        counts: &mut RunCounts,
        input: &mut Option<serde_json::Value>,
        bar: &ProgressBar,
    ) -> Result<()> {
        let source_err = |error: tombolo_core::SourceError| Error::Source {
            source_name: src.name.clone(),
            error,
        };
        let mut source = src
            .connector
            .open(mapping.columns(), checkpoint)
            .await
            .map_err(source_err)?;
        if let Some(n) = source.size_hint() {
            bar.set_length(n);
        }
        loop {
            let next = source.next_batch().await;
            *input = source.input_report();
            let batch = match next.map_err(source_err)? {
                Some(b) => b,
                None => break,
            };
            if let Some(n) = source.size_hint() {
                bar.set_length(n);
            }
            let mut accepted = Vec::with_capacity(batch.items.len());
            let mut quarantined = Vec::new();
            for item in &batch.items {
                match item {
                    Pulled::Record(raw) => match mapping.apply(raw) {
                        Ok(rec) => accepted.push(rec),
                        Err(e) => quarantined.push(QuarantineEntry {
                            record_key: raw.key.clone(),
                            class: ErrorClass::BadRecord,
                            reason: e.to_string(),
                            excerpt: excerpt(raw),
                        }),
                    },
                    Pulled::Malformed(m) => quarantined.push(QuarantineEntry {
                        record_key: m.key.clone(),
                        class: ErrorClass::BadRecord,
                        reason: m.reason.clone(),
                        excerpt: m.excerpt.clone(),
                    }),
                }
            }
            let outcome = self
                .store
                .write_batch(
                    &src.name,
                    mapping.entity(),
                    &accepted,
                    &quarantined,
                    batch.checkpoint.as_ref(),
                )
                .await?;
            counts.pulled += batch.items.len() as u64;
            counts.accepted += accepted.len() as u64;
            counts.quarantined += quarantined.len() as u64;
            counts.outcome.add(outcome);
            bar.inc(batch.items.len() as u64);
        }
        let listing = source.listing().await.map_err(source_err)?;
        if let Some(present) = listing {
            counts.outcome.deleted += self.withdraw_missing(src, present).await?;
        }
        Ok(())
    }

    /// Withdraws the records of a source missing from its complete key listing, audited; a
    /// listing that would withdraw more than `max_withdraw_share` of them is refused.
    async fn withdraw_missing(&self, src: &SourceConfig, present: Vec<String>) -> Result<u64> {
        let present: std::collections::HashSet<String> = present.into_iter().collect();
        let live = self.store.live_keys(&src.name).await?;
        let missing: Vec<String> = live
            .iter()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let share = missing.len() as f64 / live.len().max(1) as f64;
        if share > src.max_withdraw_share {
            return Err(Error::Source {
                source_name: src.name.clone(),
                error: tombolo_core::SourceError::Fatal(format!(
                    "the source's listing lacks {} of the {} records the hub holds ({:.0}%, over \
                     max_withdraw_share {}): nothing withdrawn; if the source really deleted \
                     them, raise max_withdraw_share for one run",
                    missing.len(),
                    live.len(),
                    share * 100.0,
                    src.max_withdraw_share
                )),
            });
        }
        let n = self.store.withdraw(&src.name, &missing).await?;
        let detail = serde_json::json!({ "source": src.name, "records": n });
        self.store
            .audit_admin(
                &format!("source:{}", src.name),
                "withdrawn at source",
                &detail.to_string(),
            )
            .await?;
        tracing::info!(source = %src.name, records = n, "records deleted at the source withdrawn");
        Ok(n)
    }

    /// Entity kinds the configured sources feed.
    pub fn entities(&self) -> Vec<EntityKind> {
        let mut e: Vec<EntityKind> = self
            .config
            .sources
            .iter()
            .map(|s| s.mapping.entity)
            .collect();
        e.sort();
        e.dedup();
        e
    }

    /// Resolves every entity kind and writes golden records, crosswalk, review queue and
    /// outbox. Incremental unless `full` (or the parameters changed since the last resolution):
    /// only records stored since then, and what they touch, are re-resolved.
    pub async fn resolve(&self, full: bool) -> Result<Vec<EntityReport>> {
        let mut out = Vec::new();
        for entity in self.entities() {
            out.push(self.resolve_entity(entity, full, false).await?);
        }
        Ok(out)
    }

    /// Retrains the parameters of people on the records stored now, saves them and resolves
    /// everything again with them. Manual decisions still apply.
    pub async fn train(&self) -> Result<Vec<EntityReport>> {
        let mut out = Vec::new();
        for e in self.entities() {
            // Training and resolving share one load and one preparation of the records.
            out.push(
                self.resolve_entity(e, true, e == EntityKind::Person)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn inputs(&self, entity: EntityKind) -> Result<Vec<tombolo_resolve::Input>> {
        Ok(self
            .store
            .records_as(entity)
            .await?
            .into_iter()
            .map(|(source, record)| tombolo_resolve::Input { source, record })
            .collect())
    }

    /// Resolves one kind; `retrain`: estimates the parameters again on these records first
    /// (and saves them), instead of using the stored ones.
    async fn resolve_entity(
        &self,
        entity: EntityKind,
        full: bool,
        retrain: bool,
    ) -> Result<EntityReport> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let t = Instant::now();
        let clock = self.store.clock();
        // Taken before the records are loaded: everything written up to it is in this load.
        let mark = self.store.change_mark().await?;
        let state = self.store.resolve_state(entity).await?;
        let stored = match entity {
            EntityKind::Person if !retrain => self.store.model(entity).await?,
            _ => None,
        };
        let model: Option<Model> = stored
            .as_ref()
            .map(|m| serde_json::from_str(&m.params))
            .transpose()?;
        // Records and links read at once (two connections). The links are read once: the
        // resolver's previous golden ids, then the writer's previous links.
        let (records, previous) = tokio::try_join!(self.inputs(entity), async {
            Ok(self.store.previous_links(entity).await?)
        })?;
        let previous = Links(previous);
        let decisions: Vec<ManualDecision> = self
            .store
            .decisions(entity)
            .await?
            .into_iter()
            .filter_map(|d| {
                let verdict = match d.verdict.as_str() {
                    "match" => Verdict::Match,
                    "distinct" => Verdict::Distinct,
                    _ => return None,
                };
                Some(ManualDecision {
                    a: d.a,
                    b: d.b,
                    verdict,
                })
            })
            .collect();
        // Incremental when the last resolution used the parameters in force now.
        let incremental = !full
            && entity == EntityKind::Person
            && state.as_ref().is_some_and(|s| {
                s.resolved_seq.is_some()
                    && s.model_id.is_some()
                    && s.model_id == stored.as_ref().map(|m| m.id)
            });
        let changed: Option<BTreeSet<(String, String)>> = match (&state, incremental) {
            (Some(s), true) => {
                let mut c: BTreeSet<(String, String)> = self
                    .store
                    .changed_since(entity, s.resolved_seq.unwrap_or(0))
                    .await?
                    .into_iter()
                    .collect();
                let live: BTreeSet<(&str, &str)> = records
                    .iter()
                    .map(|r| (r.source.as_str(), r.record.key.as_str()))
                    .collect();
                c.extend(
                    previous
                        .0
                        .records()
                        .filter(|r| !live.contains(r))
                        .map(|(s, k)| (s.to_owned(), k.to_owned())),
                );
                Some(c)
            }
            _ => None,
        };
        let loaded = t.elapsed();
        tracing::debug!(%entity, records = records.len(), peak_mib = peak_memory_mib(), "loaded");
        let resolved = tombolo_resolve::resolve(&Request {
            entity,
            records: &records,
            previous: &previous,
            config: &self.config.resolve,
            now: &now,
            model: model.as_ref(),
            decisions: &decisions,
            changed: changed.as_ref(),
        })?;
        let record_count = records.len() as u64;
        // Parameters learnt on far fewer records than are stored now stay in force until
        // `tombolo train`: say so, every resolution, rather than keep worse clusters quietly.
        let stale_model = !retrain
            && stored
                .as_ref()
                .is_some_and(|m| m.records.saturating_mul(2) < record_count);
        if stale_model {
            tracing::warn!(
                %entity,
                trained_on = stored.as_ref().map_or(0, |m| m.records),
                stored = record_count,
                "the matching parameters were trained on fewer than half the records stored now: run `tombolo train`"
            );
        }
        // Personal values (a shared phone, a resident ID) never reach the log or the report:
        // the rule and the size only (`tombolo blocking`, an operator's explicit look, names them).
        let oversized: Vec<(String, usize)> = resolved
            .oversized
            .iter()
            .map(|(key, n)| (withheld(key), *n))
            .collect();
        for (key, n) in &oversized {
            tracing::warn!(%entity, key, records = n, "blocking key shared by too many records: ignored");
        }
        let computed = t.elapsed();
        tracing::debug!(%entity, peak_mib = peak_memory_mib(), "clustered");
        let model_id = match (&resolved.trained, &stored) {
            (Some(m), _) => Some(
                self.store
                    .save_model(entity, &serde_json::to_string(m)?, record_count)
                    .await?,
            ),
            (None, Some(s)) => Some(s.id),
            (None, None) => None,
        };
        // Golden records and links are computed and written a slice of clusters at a time.
        let mut writer = self
            .store
            .begin_resolution(entity, resolved.partial.as_ref(), previous.0)
            .await?;
        let (mut survivorship_ms, mut write_ms) = (0u64, 0u64);
        for start in (0..resolved.clusters()).step_by(WRITE_CLUSTERS) {
            let s = Instant::now();
            let (goldens, links) = resolved.chunk(start..start + WRITE_CLUSTERS)?;
            survivorship_ms += s.elapsed().as_millis() as u64;
            let s = Instant::now();
            writer.write(&goldens, &links).await?;
            write_ms += s.elapsed().as_millis() as u64;
        }
        let s = Instant::now();
        let outcome = writer.finish(&resolved.retired).await?;
        tracing::debug!(
            %entity,
            survivorship_ms,
            write_ms,
            finish_ms = s.elapsed().as_millis() as u64,
            "written"
        );
        let review: Vec<NewReview> = resolved
            .review
            .iter()
            .map(|r| {
                Ok(NewReview {
                    a: r.a.clone(),
                    b: r.b.clone(),
                    reason: serde_json::to_value(r.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    probability: r.explanation.probability,
                    explanation: serde_json::to_string(&r.explanation)?,
                })
            })
            .collect::<Result<_>>()?;
        self.store
            .replace_review(
                entity,
                &review,
                resolved.partial.as_ref().map(|p| &p.records),
            )
            .await?;
        self.store
            .set_resolve_state(
                entity,
                &ResolveState {
                    model_id,
                    resolved_at: clock,
                    resolved_seq: Some(mark),
                },
            )
            .await?;
        tracing::info!(
            %entity,
            records = record_count,
            resolved = resolved.records_resolved,
            pairs = resolved.pairs_scored,
            load_ms = loaded.as_millis() as u64,
            prepare_ms = resolved.timings.prepare_ms,
            train_ms = resolved.timings.train_ms,
            match_ms = resolved.timings.match_ms,
            golden_ms = resolved.timings.golden_ms,
            resolve_ms = (computed - loaded).as_millis() as u64,
            store_ms = (t.elapsed() - computed).as_millis() as u64,
            peak_mib = peak_memory_mib(),
            "resolved"
        );
        Ok(EntityReport {
            entity,
            records: record_count,
            golden_records: self.store.golden_count(entity).await?,
            mode: if changed.is_some() {
                "incremental"
            } else {
                "full"
            },
            records_resolved: resolved.records_resolved,
            pairs_scored: resolved.pairs_scored,
            review_items: review.len() as u64,
            model_id,
            timings: resolved.timings,
            store_ms: (t.elapsed() - computed).as_millis() as u64,
            outcome,
            oversized_keys: oversized,
            stale_model,
        })
    }

    /// Publishes the outbox; `None` when no broker is configured.
    pub async fn publish(&self) -> Result<Option<PublishStats>> {
        let Some(kafka) = &self.config.kafka else {
            return Ok(None);
        };
        let sink = KafkaSink::connect(kafka).await?;
        let feeds = if self.config.departments.is_empty() {
            Feeds::none()
        } else {
            let versions = self.record_grants(&crate::audit::actor()).await?;
            let departments: Vec<(DepartmentConfig, i64)> = self
                .config
                .departments
                .iter()
                .cloned()
                .zip(versions.into_iter().map(|(_, v)| v))
                .collect();
            let keys = crate::secrets::pseudonym_keys(&self.config)?;
            let mut feeds = Feeds::new(kafka, &departments, keys, &today())?;
            feeds.connect(kafka).await?;
            feeds
        };
        Ok(Some(
            drain(&self.store, &sink, &feeds, self.config.run.publish_batch).await?,
        ))
    }

    /// One run: the named sources (all enabled ones when `only` is empty), then resolution and
    /// publication. A failing source is reported and the others go on.
    pub async fn run(
        &self,
        only: &[String],
        progress: Option<&MultiProgress>,
        publish: bool,
    ) -> Result<RunReport> {
        let started = Instant::now();
        let sources: Vec<&SourceConfig> = if only.is_empty() {
            self.config.sources.iter().filter(|s| s.enabled).collect()
        } else {
            only.iter()
                .map(|n| self.config.source(n))
                .collect::<Result<_>>()?
        };
        let mut reports = Vec::new();
        for src in sources {
            let t = Instant::now();
            let bar = match progress {
                Some(mp) => {
                    let bar = mp.add(ProgressBar::new(0));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>10} {bar:30} {pos:>7}/{len:7} {per_sec:>12} {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(src.name.clone());
                    bar
                }
                None => ProgressBar::hidden(),
            };
            let (run, error) = self.pull(src, &bar).await;
            bar.finish();
            if let Some(e) = &error {
                tracing::error!(source = %src.name, error = %e, "source failed");
            }
            reports.push(SourceReport {
                source: src.name.clone(),
                entity: src.mapping.entity,
                counts: run.counts,
                input: run.input,
                error: error.map(|e| e.to_string()),
                seconds: t.elapsed().as_secs_f64(),
            });
        }
        let entities = self.resolve(false).await?;
        let (published, publish_error) = if publish {
            match self.publish().await {
                Ok(p) => {
                    if let Some(stats) = &p {
                        self.store.record_publish(stats.published, None).await?;
                    }
                    (p, None)
                }
                Err(e) => {
                    let msg = tombolo_core::redact::urls_in(&e.to_string());
                    tracing::error!(error = %msg, "publishing failed; the outbox keeps what was not sent");
                    self.store.record_publish(0, Some(&msg)).await?;
                    (None, Some(msg))
                }
            }
        } else {
            (None, None)
        };
        Ok(RunReport {
            sources: reports,
            entities,
            published,
            publish_error,
            outbox_backlog: self.store.outbox_backlog().await?,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
