//! Drains the outbox to the topics: the hub's topics, every department's feed, and the
//! relation topic.

use tombolo_store::outbox::Outboxed;

use crate::avro::{encode, encode_relation, Published};
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
            let record = match &e.item {
                Outboxed::Golden(g) => g,
                Outboxed::Relation(r) => {
                    // Relationships go to the hub's relation topic only (no grant names them);
                    // an ended one is a tombstone, so compaction forgets it.
                    messages.push(Outgoing {
                        topic: sink.config().relation_topic(),
                        key: r.key(),
                        payload: match e.event.as_str() {
                            "end" => None,
                            _ => Some(encode_relation(r, sink.relation_framing())?),
                        },
                        headers: vec![
                            ("tombolo.event".into(), e.event.clone()),
                            ("tombolo.entity".into(), "relation".into()),
                        ],
                    });
                    continue;
                }
            };
            let published = Published::from_golden(record)
                .ok_or_else(|| Error::Config(format!("no published form for {}", record.entity)))?;
            let topic = sink.config().topic(record.entity);
            messages.push(Outgoing {
                topic,
                key: record.golden_id.clone(),
                payload: Some(encode(&published, sink.framing(record.entity))?),
                headers: vec![
                    ("tombolo.event".into(), e.event.clone()),
                    ("tombolo.version".into(), record.version.to_string()),
                    ("tombolo.entity".into(), record.entity.as_str().into()),
                ],
            });
            let covered = |i: usize| skips.get(i).is_some_and(|s| e.id <= *s);
            feeds.messages(record, &e.event, covered, &mut department, &mut meta)?;
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
