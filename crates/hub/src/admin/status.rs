//! `status`: where every source stands, the golden records per kind, the outbox backlog and
//! the last publication.

use std::collections::BTreeMap;

use serde::Serialize;
use tombolo_core::EntityKind;
use tombolo_store::status::SourceStatus;

use crate::{Hub, Result};

/// The last publication.
#[derive(Debug, Clone, Serialize)]
pub struct PublishStatus {
    pub last_run_at: String,
    pub published: u64,
    pub last_error: Option<String>,
}

/// What `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub sources: Vec<SourceStatus>,
    /// Live golden records per entity kind.
    pub golden_records: BTreeMap<&'static str, u64>,
    pub outbox_backlog: u64,
    pub publish: Option<PublishStatus>,
}

impl Hub {
    /// The store's status; reads only.
    pub async fn status(&self) -> Result<StatusReport> {
        let mut golden_records = BTreeMap::new();
        for e in EntityKind::ALL {
            golden_records.insert(e.as_str(), self.store.golden_count(e).await?);
        }
        Ok(StatusReport {
            sources: self.store.status().await?,
            golden_records,
            outbox_backlog: self.store.outbox_backlog().await?,
            publish: self.store.publish_status().await?.map(
                |(last_run_at, published, last_error)| PublishStatus {
                    last_run_at,
                    published,
                    last_error,
                },
            ),
        })
    }
}
