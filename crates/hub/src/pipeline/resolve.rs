//! Resolving an entity kind: the stored records through the resolver (incremental unless
//! full), golden records, crosswalk, review queue and outbox written chunk by chunk.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use tombolo_core::EntityKind;
use tombolo_resolve::fellegi_sunter::Model;
use tombolo_resolve::ids::Previous;
use tombolo_resolve::Request;
use tombolo_store::apply::PreviousLinks;
use tombolo_store::resolution::{NewReview, RecordRef, ResolveState};

use super::{EntityReport, Hub};
use crate::Result;

/// A blocking key (`rule=value`) with its value withheld: `rule=…`.
pub fn withheld(key: &str) -> String {
    match key.split_once('=') {
        Some((rule, _)) => format!("{rule}=…"),
        None => "…".to_owned(),
    }
}

/// The store's crosswalk as the resolver reads it, with the ids stewards' actions give back.
pub(super) struct Links(
    pub(super) PreviousLinks,
    pub(super) HashMap<RecordRef, String>,
);

impl Previous for Links {
    fn golden(&self, source: &str, key: &str) -> Option<&str> {
        self.0.golden(source, key)
    }

    fn golden_ids(&self) -> Vec<&str> {
        self.0.golden_ids()
    }

    fn preferred(&self, source: &str, key: &str) -> Option<&str> {
        if self.1.is_empty() {
            return None;
        }
        self.1
            .get(&(source.to_owned(), key.to_owned()))
            .map(String::as_str)
    }
}

/// The process's peak resident memory so far, in MiB (Linux; 0 elsewhere), for the log.
pub(super) fn peak_memory_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

const WRITE_CLUSTERS: usize = 4_000;

impl Hub {
    /// Resolves every entity kind and writes golden records, crosswalk, review queue and
    /// outbox. Incremental unless `full` (or the parameters changed since the last resolution):
    /// only records stored since then, and what they touch, are re-resolved.
    pub async fn resolve(&self, full: bool) -> Result<Vec<EntityReport>> {
        // What the pulls staged for the identifier index, merged sorted in one statement.
        self.store.merge_identifiers().await?;
        self.store.refresh_statistics().await?;
        let mut out = Vec::new();
        let entities = self.entities();
        for &entity in entities.iter().filter(|e| e.is_matched()) {
            out.push(self.resolve_entity(entity, full, false).await?);
            // What this kind's resolution wrote is planned right for the next.
            self.store.refresh_statistics().await?;
        }
        // Corrections a department made in its own records close with the pull that brought
        // them.
        self.refresh_corrections().await?;
        if entities.iter().any(|e| !e.is_matched()) {
            if full || self.assembly_due().await? {
                out.extend(self.assemble().await?);
                self.store.refresh_statistics().await?;
            } else {
                tracing::info!(
                    "places, houses and incidents: nothing they depend on changed since the last assembly"
                );
            }
        }
        Ok(out)
    }

    /// Retrains the parameters of people on the records stored now, saves them and resolves
    /// everything again with them. Manual decisions still apply.
    pub async fn train(&self) -> Result<Vec<EntityReport>> {
        let mut out = Vec::new();
        let entities = self.entities();
        for &e in entities.iter().filter(|e| e.is_matched()) {
            // Training and resolving share one load and one preparation of the records.
            out.push(
                self.resolve_entity(e, true, e == EntityKind::Person)
                    .await?,
            );
        }
        self.refresh_corrections().await?;
        if entities.iter().any(|e| !e.is_matched()) {
            out.extend(self.assemble().await?);
        }
        Ok(out)
    }

    pub(crate) async fn inputs(&self, entity: EntityKind) -> Result<Vec<tombolo_resolve::Input>> {
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
        let mut stored = match entity {
            EntityKind::Person if !retrain => self.store.model(entity).await?,
            _ => None,
        };
        let mut model: Option<Model> = stored
            .as_ref()
            .map(|m| serde_json::from_str(&m.params))
            .transpose()?;
        // Parameters that do not fit the comparisons as this hub defines them (written by
        // another version, or imported by hand into the database) are never used: they are
        // learned again on the records.
        if let Some(Err(e)) = model.as_ref().map(crate::admin::review::check_fit) {
            tracing::warn!(%entity, error = %tombolo_core::chain(&e), "the stored parameters do not fit: training again");
            stored = None;
            model = None;
        }
        // Records and links read at once (two connections). The links are read once: the
        // resolver's previous golden ids, then the writer's previous links.
        let (records, previous) = tokio::try_join!(self.inputs(entity), async {
            Ok(self.store.previous_links(entity).await?)
        })?;
        let mut steering = self.steering(entity, &records).await?;
        let decisions = std::mem::take(&mut steering.decisions);
        let previous = Links(previous, std::mem::take(&mut steering.preferred));
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
        let merges = super::steward::merge_events(&resolved.retired, &previous.0, &steering);
        let mut writer = self
            .store
            .begin_resolution(entity, resolved.partial.as_ref(), previous.0)
            .await?;
        writer.record_merges(merges);
        if let Some(id) = steering.newest {
            writer.applied_up_to(id);
        }
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
            links: Default::default(),
        })
    }
}
