//! Drains the outbox to the topics.

use std::collections::BTreeMap;

use serde::Serialize;
use tombolo_store::Store;

use crate::avro::{encode, Published};
use crate::kafka::{KafkaSink, Outgoing};
use crate::{Error, Result};

/// What a drain published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishStats {
    pub published: u64,
    /// Per topic.
    pub by_topic: BTreeMap<String, u64>,
}

/// Publishes every pending outbox entry, in order, `batch` at a time: a batch is marked
/// published only after the broker acknowledged all of it.
pub async fn drain(store: &Store, sink: &KafkaSink, batch: i64) -> Result<PublishStats> {
    let mut stats = PublishStats::default();
    loop {
        let pending = store.outbox_pending(batch).await?;
        if pending.is_empty() {
            return Ok(stats);
        }
        let mut messages = Vec::with_capacity(pending.len());
        for e in &pending {
            let record = Published::from_golden(&e.record).ok_or_else(|| {
                Error::Config(format!("no published form for {}", e.record.entity))
            })?;
            let topic = sink.config().topic(e.record.entity);
            messages.push(Outgoing {
                topic,
                key: e.record.golden_id.clone(),
                payload: encode(&record, sink.framing(e.record.entity))?,
                headers: vec![
                    ("tombolo.event".into(), e.event.clone()),
                    ("tombolo.version".into(), e.record.version.to_string()),
                    ("tombolo.entity".into(), e.record.entity.as_str().into()),
                ],
            });
        }
        sink.send_all(&messages).await?;
        let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
        store.mark_published(&ids).await?;
        for m in &messages {
            *stats.by_topic.entry(m.topic.clone()).or_default() += 1;
        }
        stats.published += messages.len() as u64;
        tracing::debug!(count = messages.len(), "published outbox batch");
    }
}
