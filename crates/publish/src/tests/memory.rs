//! In-memory implementations of the publishing ports.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tombolo_core::{EntityKind, GoldenRecord};
use tombolo_store::audit::Delivery;
use tombolo_store::feeds::FeedState;
use tombolo_store::outbox::{OutboxEntry, Outboxed};

use crate::avro::Framing;
use crate::kafka::{Delivered, Outgoing};
use crate::ports::{FeedLedger, Outbox, Producer};
use crate::{Error, KafkaConfig, Result};

/// A store: golden records, an outbox, the feed ledger and the delivery audit trail.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub golden: Mutex<BTreeMap<String, GoldenRecord>>,
    /// Entries with whether they are published.
    pub outbox: Mutex<Vec<(OutboxEntry, bool)>>,
    pub feeds: Mutex<BTreeMap<String, FeedState>>,
    pub grants: Mutex<BTreeMap<(String, i64), String>>,
    pub deliveries: Mutex<Vec<Delivery>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    /// A new version of a golden record: stored, and queued in the outbox.
    pub fn write(&self, g: GoldenRecord) {
        let mut outbox = lock(&self.outbox);
        let id = outbox.len() as i64 + 1;
        let entry = OutboxEntry {
            id,
            event: "upsert".into(),
            item: Outboxed::Golden(g.clone()),
        };
        outbox.push((entry, false));
        lock(&self.golden).insert(g.golden_id.clone(), g);
    }

    /// A relationship change queued in the outbox (`event`: `upsert` or `end`).
    pub fn relate(&self, r: tombolo_core::Relation, event: &str) {
        let mut outbox = lock(&self.outbox);
        let id = outbox.len() as i64 + 1;
        let entry = OutboxEntry {
            id,
            event: event.into(),
            item: Outboxed::Relation(r),
        };
        outbox.push((entry, false));
    }

    pub fn pending(&self) -> usize {
        lock(&self.outbox).iter().filter(|(_, p)| !p).count()
    }
}

impl Outbox for MemoryStore {
    async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        Ok(lock(&self.outbox)
            .iter()
            .filter(|(_, published)| !published)
            .take(limit as usize)
            .map(|(e, _)| e.clone())
            .collect())
    }
    async fn outbox_high_water(&self) -> Result<i64> {
        Ok(lock(&self.outbox).last().map_or(0, |(e, _)| e.id))
    }
    async fn record_delivered(&self, deliveries: &[Delivery], ids: &[i64]) -> Result<()> {
        lock(&self.deliveries).extend(deliveries.iter().cloned());
        for (e, published) in lock(&self.outbox).iter_mut() {
            *published |= ids.contains(&e.id);
        }
        Ok(())
    }
}

impl FeedLedger for MemoryStore {
    async fn feed_state(&self, department: &str) -> Result<Option<FeedState>> {
        Ok(lock(&self.feeds).get(department).cloned())
    }
    async fn set_feed_state(&self, department: &str, state: &FeedState) -> Result<()> {
        lock(&self.feeds).insert(department.to_owned(), state.clone());
        Ok(())
    }
    async fn grant_at(&self, department: &str, version: i64) -> Result<Option<String>> {
        Ok(lock(&self.grants)
            .get(&(department.to_owned(), version))
            .cloned())
    }
    async fn golden_page(
        &self,
        entities: &[EntityKind],
        after: &str,
        limit: i64,
    ) -> Result<Vec<GoldenRecord>> {
        Ok(lock(&self.golden)
            .values()
            .filter(|g| entities.contains(&g.entity) && g.golden_id.as_str() > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

/// A broker: every topic one partition, offsets counting up; the sends numbered in `fail`
/// (counting from 1) fail as they do when the broker is down.
#[derive(Debug)]
pub struct MemoryBroker {
    pub config: KafkaConfig,
    pub topics: Mutex<BTreeMap<String, Vec<Outgoing>>>,
    pub fail: Mutex<Vec<usize>>,
    pub calls: Mutex<usize>,
}

impl MemoryBroker {
    pub fn new() -> Self {
        Self {
            config: KafkaConfig {
                brokers: "memory".into(),
                topic_prefix: "t".into(),
                partitions: 1,
                replication: 1,
                create_topics: false,
                timeout_secs: 1,
                properties: BTreeMap::new(),
                registry: None,
            },
            topics: Mutex::default(),
            fail: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    /// The messages on `topic`, in offset order.
    pub fn topic(&self, topic: &str) -> Vec<Outgoing> {
        lock(&self.topics).get(topic).cloned().unwrap_or_default()
    }
}

impl Producer for MemoryBroker {
    fn config(&self) -> &KafkaConfig {
        &self.config
    }
    fn framing(&self, _: EntityKind) -> Framing {
        Framing::SingleObject
    }
    async fn send_all(&self, messages: &[Outgoing]) -> Result<Vec<Delivered>> {
        let call = {
            let mut calls = lock(&self.calls);
            *calls += 1;
            *calls
        };
        if lock(&self.fail).contains(&call) {
            return Err(Error::Delivery("broker unreachable".into()));
        }
        let mut topics = lock(&self.topics);
        Ok(messages
            .iter()
            .map(|m| {
                let log = topics.entry(m.topic.clone()).or_default();
                log.push(m.clone());
                Delivered {
                    partition: 0,
                    offset: log.len() as i64 - 1,
                }
            })
            .collect())
    }
}
