//! Pulling a source: connector → mapping → `write_batch`, bad input quarantined, deletions
//! at source withdrawn.

use indicatif::ProgressBar;
use tombolo_core::{Classify, ErrorClass, Pulled, RawRecord};
use tombolo_normalize::Mapping;
use tombolo_store::records::QuarantineEntry;
use tombolo_store::status::RunCounts;

use super::{Hub, SourceRun};
use crate::config::SourceConfig;
use crate::{Error, Result};

fn excerpt(r: &RawRecord) -> String {
    let text = serde_json::to_string(&r.fields).unwrap_or_default();
    if text.chars().count() > 240 {
        text.chars().take(240).collect::<String>() + "…"
    } else {
        text
    }
}

/// The input report of a pull: the connector's own when it took one attempt, else every
/// attempt's in order (`{"attempts": [...]}`), as the counts cover them all.
fn input_of(mut attempts: Vec<Option<serde_json::Value>>) -> Option<serde_json::Value> {
    if attempts.len() == 1 {
        attempts.pop().flatten()
    } else {
        Some(serde_json::json!({ "attempts": attempts }))
    }
}

/// A number in 0..1 that differs between calls and processes, to spread retries out.
pub(crate) fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (h.finish() % 1_000_000) as f64 / 1_000_000.0
}

impl Hub {
    /// Pulls one source into the store. Bad input is quarantined; a source-level failure, or
    /// a store error while writing a batch, stops this source (its checkpoint stays at the
    /// last stored batch), is recorded in its status and returned.
    ///
    /// What the failure's class decides: a transient failure (a database, broker or API that
    /// is down or slow) pulls the source again from its stored checkpoint, up to `[run]
    /// retries` times with exponential backoff and jitter (or the source's `Retry-After`); bad
    /// input never fails a source (it is quarantined per record); a fatal error stops this
    /// source at once, and the run goes on with the others.
    pub async fn pull(&self, src: &SourceConfig, bar: &ProgressBar) -> (SourceRun, Option<Error>) {
        let mut run = SourceRun::default();
        // What each attempt's connector read: the counts add up over every attempt, so the
        // input report covers them all.
        let mut attempts: Vec<Option<serde_json::Value>> = Vec::new();
        loop {
            let result = self.pull_into(src, bar, &mut run).await;
            attempts.push(run.input.take());
            let Err(e) = result else {
                run.input = input_of(attempts);
                return (run, None);
            };
            let retries = u64::from(self.config.run.retries);
            if e.class() != ErrorClass::Transient || run.counts.retries >= retries {
                run.input = input_of(attempts);
                return (run, Some(e));
            }
            run.counts.retries += 1;
            let attempt = u32::try_from(run.counts.retries).unwrap_or(u32::MAX);
            let delay = self
                .config
                .run
                .retry_delay(attempt, jitter(), e.retry_after());
            tracing::warn!(
                source = %src.name,
                retry = attempt,
                of = retries,
                delay_ms = delay.as_millis() as u64,
                error = %tombolo_core::chain(&e),
                "transient failure: retrying the source from its checkpoint"
            );
            tokio::time::sleep(delay).await;
        }
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
        let message = result.as_ref().err().map(|e| tombolo_core::chain(e));
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
        let mut source = self
            .connectors
            .open(&src.name, &src.connector, mapping.columns(), checkpoint)
            .await
            .map_err(source_err)?;
        if let Some(n) = source.size_hint() {
            bar.set_length(n);
        }
        let mut batches: u64 = 0;
        loop {
            let started = std::time::Instant::now();
            let next = source.next_batch().await;
            *input = source.input_report();
            let batch = match next.map_err(source_err)? {
                Some(b) => b,
                None => break,
            };
            if let Some(n) = source.size_hint() {
                bar.set_length(n);
            }
            let read = started.elapsed();
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
            batches += 1;
            // Time per batch, to see that it stays flat as the store grows (bench/stages.py
            // compares the first and last tenth of a pull).
            let total = started.elapsed();
            tracing::info!(
                source = %src.name,
                batch = batches,
                records = batch.items.len(),
                read_ms = read.as_secs_f64() * 1e3,
                ms = total.as_secs_f64() * 1e3,
                "batch stored"
            );
            counts.pulled += batch.items.len() as u64;
            counts.accepted += accepted.len() as u64;
            counts.quarantined += quarantined.len() as u64;
            counts.outcome.add(outcome);
            bar.inc(batch.items.len() as u64);
            // The planner's statistics follow the tables as they grow (after the batch is
            // counted: it is stored whatever happens here).
            self.store.refresh_statistics().await?;
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
                error: tombolo_core::SourceError::fatal(format!(
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
}
