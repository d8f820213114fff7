//! `run --follow`: each source on a schedule of its own. A source that ran cleanly is due again
//! after the interval; one that failed transiently (still failing after its retries within the
//! run) is tried again sooner, backing off from `[run] retry_initial_ms` (never later than the
//! interval; within a run its retries honour a `Retry-After`), without waiting for a round of
//! all sources; one
//! stopped by a fatal error waits the interval, since only a change to its config or the
//! source will help.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tombolo_core::{Classify, ErrorClass};

use super::pull::jitter;
use super::{Hub, RunReport};
use crate::config::RunConfig;
use crate::Result;

impl Hub {
    /// `run --follow`: runs the enabled sources on their [`FollowSchedule`] until `stop`
    /// completes, each round of due sources under the writer lock with the keyring as it is
    /// then (a rotation between rounds is followed), then resolution and (with `publish`)
    /// publication. `on_round` sees each round's report, or the error that failed it; a failed
    /// round never ends the loop.
    pub async fn follow(
        &mut self,
        every: Duration,
        publish: bool,
        mut on_round: impl FnMut(&Result<RunReport>),
        stop: impl std::future::Future<Output = ()>,
    ) {
        let enabled = self.config.sources.iter().filter(|s| s.enabled);
        let names: Vec<String> = enabled.map(|s| s.name.clone()).collect();
        let mut schedule = FollowSchedule::new(names, every, Instant::now());
        tokio::pin!(stop);
        loop {
            let due = schedule.due(Instant::now());
            if !due.is_empty() {
                let result = self.follow_round(&due, publish).await;
                let (run, now) = (&self.config.run, Instant::now());
                match &result {
                    Ok(report) => schedule.record(report, run, jitter(), now),
                    Err(e) => schedule.record_failure(&due, e.class(), run, jitter(), now),
                }
                on_round(&result);
            }
            let wake = schedule.next().unwrap_or_else(|| Instant::now() + every);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = &mut stop => break,
            }
        }
    }

    async fn follow_round(&mut self, due: &[String], publish: bool) -> Result<RunReport> {
        let lock = self.lock_writer("run --follow").await?;
        let result = match self.refresh_keyring().await {
            Ok(()) => self.run(due, None, publish).await,
            Err(e) => Err(e),
        };
        lock.release().await;
        result
    }
}

/// When each followed source is due next.
#[derive(Debug, Clone)]
pub struct FollowSchedule {
    every: Duration,
    /// Source → (when it is due, consecutive transient failures).
    sources: BTreeMap<String, (Instant, u32)>,
}

impl FollowSchedule {
    /// `sources`, all due at `now`, each every `every`.
    pub fn new(sources: impl IntoIterator<Item = String>, every: Duration, now: Instant) -> Self {
        Self {
            every,
            sources: sources.into_iter().map(|s| (s, (now, 0))).collect(),
        }
    }

    /// The sources due at `now`, in name order.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.sources
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// When the next source falls due.
    pub fn next(&self) -> Option<Instant> {
        self.sources.values().map(|(at, _)| *at).min()
    }

    /// When `source` is due next, if it is followed.
    pub fn due_at(&self, source: &str) -> Option<Instant> {
        self.sources.get(source).map(|(at, _)| *at)
    }

    /// Schedules the sources of a finished run (those it ran) by how each ended.
    pub fn record(&mut self, report: &RunReport, run: &RunConfig, jitter: f64, now: Instant) {
        for s in &report.sources {
            self.after(&s.source, s.error_class, run, jitter, now);
        }
    }

    /// Schedules `sources` after a run that failed as a whole (the store, say) with `class`.
    pub fn record_failure(
        &mut self,
        sources: &[String],
        class: ErrorClass,
        run: &RunConfig,
        jitter: f64,
        now: Instant,
    ) {
        for s in sources {
            self.after(s, Some(class), run, jitter, now);
        }
    }

    fn after(
        &mut self,
        source: &str,
        failure: Option<ErrorClass>,
        run: &RunConfig,
        jitter: f64,
        now: Instant,
    ) {
        let Some((at, failures)) = self.sources.get_mut(source) else {
            return;
        };
        match failure {
            Some(ErrorClass::Transient) => {
                *failures = failures.saturating_add(1);
                let wait = run.retry_delay(*failures, jitter, None);
                *at = now + wait.min(self.every);
            }
            _ => {
                *failures = 0;
                *at = now + self.every;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::SourceReport;
    use tombolo_core::EntityKind;

    fn report(outcomes: &[(&str, Option<ErrorClass>)]) -> RunReport {
        RunReport {
            sources: outcomes
                .iter()
                .map(|(s, class)| SourceReport {
                    source: (*s).to_owned(),
                    entity: EntityKind::Person,
                    counts: Default::default(),
                    input: None,
                    error: class.map(|c| format!("{c}: failed")),
                    error_class: *class,
                    seconds: 0.0,
                })
                .collect(),
            entities: vec![],
            published: None,
            publish_error: None,
            outbox_backlog: 0,
            seconds: 0.0,
        }
    }

    fn run() -> RunConfig {
        RunConfig {
            retry_initial_ms: 1_000,
            retry_max_ms: 60_000,
            ..RunConfig::default()
        }
    }

    #[test]
    fn a_failing_source_is_retried_on_its_own_schedule() {
        let t0 = Instant::now();
        let every = Duration::from_secs(600);
        let names = ["api", "db", "files"].map(str::to_owned);
        let mut s = FollowSchedule::new(names, every, t0);
        assert_eq!(s.due(t0).len(), 3);
        let first = report(&[
            ("api", Some(ErrorClass::Transient)),
            ("db", None),
            ("files", Some(ErrorClass::Fatal)),
        ]);
        s.record(&first, &run(), 1.0, t0);
        // The failing API is due again after its backoff (1 s), long before the others.
        assert_eq!(s.due_at("api"), Some(t0 + Duration::from_secs(1)));
        assert_eq!(s.due_at("db"), Some(t0 + every));
        assert_eq!(
            s.due_at("files"),
            Some(t0 + every),
            "a fatal error waits the interval"
        );
        assert_eq!(s.next(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(s.due(t1), ["api"]);
        // Failing again: the wait doubles, and is never longer than the interval.
        s.record(
            &report(&[("api", Some(ErrorClass::Transient))]),
            &run(),
            1.0,
            t1,
        );
        assert_eq!(s.due_at("api"), Some(t1 + Duration::from_secs(2)));
        for _ in 0..20 {
            s.record(
                &report(&[("api", Some(ErrorClass::Transient))]),
                &run(),
                1.0,
                t1,
            );
        }
        assert_eq!(s.due_at("api"), Some(t1 + Duration::from_secs(60)));
        // Answering again: back on the interval, the backoff forgotten.
        s.record(&report(&[("api", None)]), &run(), 1.0, t1);
        assert_eq!(s.due_at("api"), Some(t1 + every));
        s.record(
            &report(&[("api", Some(ErrorClass::Transient))]),
            &run(),
            1.0,
            t1,
        );
        assert_eq!(s.due_at("api"), Some(t1 + Duration::from_secs(1)));
    }

    #[test]
    fn a_run_that_failed_as_a_whole_backs_off_its_sources() {
        let t0 = Instant::now();
        let mut s = FollowSchedule::new(["a".to_owned()], Duration::from_secs(2), t0);
        s.record_failure(&["a".to_owned()], ErrorClass::Transient, &run(), 1.0, t0);
        assert_eq!(s.due_at("a"), Some(t0 + Duration::from_secs(1)));
        for _ in 0..3 {
            s.record_failure(&["a".to_owned()], ErrorClass::Transient, &run(), 1.0, t0);
        }
        assert_eq!(
            s.due_at("a"),
            Some(t0 + Duration::from_secs(2)),
            "capped at the interval"
        );
    }
}
