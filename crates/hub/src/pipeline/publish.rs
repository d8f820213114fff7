//! Publishing: the outbox drained to the hub's topics and the departments' feeds.

use tombolo_privacy::DepartmentConfig;
use tombolo_publish::feeds::{today, Feeds};
use tombolo_publish::kafka::KafkaSink;
use tombolo_publish::publisher::drain;
use tombolo_publish::PublishStats;

use super::Hub;
use crate::Result;

impl Hub {
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

    /// Publishes the outbox and records the outcome in the store's publish status (the error,
    /// its URLs redacted, when it failed); `None` when no broker is configured.
    pub async fn publish_recorded(&self) -> Result<Option<PublishStats>> {
        match self.publish().await {
            Ok(stats) => {
                if let Some(s) = &stats {
                    self.store.record_publish(s.published, None).await?;
                }
                Ok(stats)
            }
            Err(e) => {
                let msg = tombolo_core::redact::urls_in(&tombolo_core::chain(&e));
                self.store.record_publish(0, Some(&msg)).await?;
                Err(e)
            }
        }
    }
}
