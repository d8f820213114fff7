//! The pipeline: pull → normalise → store (with checkpoint) → resolve → outbox → publish.
//!
//! * [`pull`]: a source through its connector and mapping into the store, batch by batch.
//! * [`resolve`]: resolution of each entity kind, written golden records, crosswalk and outbox.
//! * [`publish`]: the outbox drained to the hub's and the departments' topics.
//! * [`follow`]: `run --follow`, each source on a schedule of its own.
//! * [`report`]: what a run did, serialisable for `--json` and a service.

mod assemble;
mod follow;
mod publish;
mod pull;
pub mod report;
mod resolve;
mod steward;

use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tombolo_core::{Classify, EntityKind};
use tombolo_store::Store;

pub use follow::FollowSchedule;
pub use report::{EntityReport, RunReport, SourceReport, SourceRun};
pub use resolve::withheld;

use crate::config::SourceConfig;
use crate::registry::{OpenSource, Registry};
use crate::{Config, Result};

/// The hub: a config and its store.
#[derive(Debug)]
pub struct Hub {
    pub config: Config,
    pub(crate) store: Store,
    /// The departments' grant versions as this command recorded them (once per command).
    pub(crate) grants: tokio::sync::OnceCell<Vec<(String, i64)>>,
    /// How sources are opened: the connector registry unless replaced.
    pub(crate) connectors: std::sync::Arc<dyn OpenSource>,
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
        if store_url.is_some() && tombolo_core::redact::has_password(&url) {
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
        Ok(Self {
            config,
            store,
            grants: tokio::sync::OnceCell::new(),
            connectors: std::sync::Arc::new(Registry),
        })
    }

    /// The hub opening its sources through `connectors` instead of the registry (a connector
    /// of an embedding front end's own, or a scripted source in a test).
    pub fn with_connectors(mut self, connectors: std::sync::Arc<dyn OpenSource>) -> Self {
        self.connectors = connectors;
        self
    }

    /// Reads the keyring again (between rounds of `run --follow`), checked against the store
    /// as at start, so a key rotated meanwhile is used and a dropped one is never sealed with;
    /// content hashes still unkeyed are keyed (callers hold the writer lock).
    pub async fn refresh_keyring(&mut self) -> Result<()> {
        if let Some(e) = &self.config.store.encryption {
            let ring = crate::secrets::store_keyring(&self.store, e).await?;
            self.store = self.store.clone().with_keyring(ring);
            self.store.rehash_contents().await?;
            self.store.index_identifiers().await?;
        }
        Ok(())
    }

    /// Closes the store's connections.
    pub async fn close(&self) {
        self.store.close().await;
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
                tracing::error!(source = %src.name, error = %tombolo_core::chain(e), "source failed");
            }
            reports.push(SourceReport {
                source: src.name.clone(),
                entity: src.mapping.entity,
                counts: run.counts,
                input: run.input,
                error_class: error.as_ref().map(|e| e.class()),
                error: error.map(|e| tombolo_core::chain(&e)),
                seconds: t.elapsed().as_secs_f64(),
            });
        }
        let entities = self.resolve(false).await?;
        // The quality scorecards of this run, kept to compare over time: after a run that
        // stored or withdrew a record, or changed a golden record (or when there is none yet).
        let changed = reports.iter().any(|r| {
            let o = &r.counts.outcome;
            o.new + o.changed + o.deleted > 0
        }) || entities.iter().any(|e| {
            let o = &e.outcome;
            o.created + o.updated + o.retired > 0
        });
        self.snapshot_scorecards(changed).await?;
        let (published, publish_error) = if publish {
            match self.publish_recorded().await {
                Ok(p) => (p, None),
                Err(e) => {
                    let msg = tombolo_core::redact::urls_in(&tombolo_core::chain(&e));
                    tracing::error!(error = %msg, "publishing failed; the outbox keeps what was not sent");
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
