//! Drains the outbox to the topics: the hub's topics and every department's feed.

use crate::avro::{encode, Published};
use crate::feeds::Feeds;
use crate::kafka::Outgoing;
use crate::ports::{FeedLedger, Outbox, Producer};
use crate::stats::PublishStats;
use crate::{Error, Result};

/// Brings every department feed up to its grant (see [`Feeds`]), then publishes every pending
/// outbox entry, in order, `batch` at a time, to the hub's topic of its kind and to each
/// department that receives that kind: a batch is audited and marked published only after the
/// broker acknowledged all of it.
pub async fn drain(
    store: &(impl Outbox + FeedLedger),
    sink: &impl Producer,
    feeds: &Feeds,
    batch: i64,
) -> Result<PublishStats> {
    let mut stats = PublishStats::default();
    let skips = feeds.backfill(store, sink, batch, &mut stats).await?;
    loop {
        let pending = store.outbox_pending(batch).await?;
        if pending.is_empty() {
            return Ok(stats);
        }
        let mut messages = Vec::with_capacity(pending.len());
        let (mut department, mut meta) = (Vec::new(), Vec::new());
        for e in &pending {
            let record = Published::from_golden(&e.record).ok_or_else(|| {
                Error::Config(format!("no published form for {}", e.record.entity))
            })?;
            let topic = sink.config().topic(e.record.entity);
            messages.push(Outgoing {
                topic,
                key: e.record.golden_id.clone(),
                payload: Some(encode(&record, sink.framing(e.record.entity))?),
                headers: vec![
                    ("tombolo.event".into(), e.event.clone()),
                    ("tombolo.version".into(), e.record.version.to_string()),
                    ("tombolo.entity".into(), e.record.entity.as_str().into()),
                ],
            });
            let covered = |i: usize| skips.get(i).is_some_and(|s| e.id <= *s);
            feeds.messages(&e.record, &e.event, covered, &mut department, &mut meta)?;
        }
        let hub = messages.len();
        messages.append(&mut department);
        let delivered = sink.send_all(&messages).await?;
        // The departments' deliveries audited and the outbox entries marked sent in one
        // transaction: a crash between the two cannot leave a delivery marked but unaudited.
        let deliveries = feeds.deliveries(&meta, &delivered[hub..])?;
        let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
        store.record_delivered(&deliveries, &ids).await?;
        stats.deliveries += deliveries.len() as u64;
        stats.count(&messages);
        stats.published += hub as u64;
        tracing::debug!(count = messages.len(), "published outbox batch");
    }
}
