//! What publishing reads and writes, as narrow traits, so delivery and backfill are tested
//! without a broker or a database (`tests` below uses in-memory ones):
//!
//! * [`Outbox`]: the pending golden-record versions, and marking a delivered batch (with its
//!   audit entries) in one transaction.
//! * [`FeedLedger`]: each department feed's backfill state, the grants it was given, and the
//!   golden records a backfill pages through.
//! * [`Producer`]: the broker: produce a batch and wait for every acknowledgement.
//!
//! The store implements the first two, [`KafkaSink`] the third.

use std::future::Future;

use tombolo_core::{EntityKind, GoldenRecord};
use tombolo_store::audit::Delivery;
use tombolo_store::feeds::FeedState;
use tombolo_store::outbox::OutboxEntry;
use tombolo_store::Store;

use crate::avro::Framing;
use crate::kafka::{Delivered, KafkaSink, Outgoing};
use crate::{KafkaConfig, Result};

/// The outbox of golden-record versions and relationship changes to publish.
pub trait Outbox: Sync {
    /// The oldest unpublished entries, at most `limit`.
    fn outbox_pending(&self, limit: i64) -> impl Future<Output = Result<Vec<OutboxEntry>>> + Send;
    /// The highest entry id so far (0 when empty).
    fn outbox_high_water(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Records the departments' deliveries and marks the outbox entries `ids` published, both
    /// or neither.
    fn record_delivered(
        &self,
        deliveries: &[Delivery],
        ids: &[i64],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The department feeds' ledger.
pub trait FeedLedger: Sync {
    fn feed_state(
        &self,
        department: &str,
    ) -> impl Future<Output = Result<Option<FeedState>>> + Send;
    fn set_feed_state(
        &self,
        department: &str,
        state: &FeedState,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The grant (JSON) a department had at `version`.
    fn grant_at(
        &self,
        department: &str,
        version: i64,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Golden records of `entities` with ids after `after`, in id order, at most `limit`.
    fn golden_page(
        &self,
        entities: &[EntityKind],
        after: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<GoldenRecord>>> + Send;
}

/// The broker.
pub trait Producer: Sync {
    /// Topics, partitions and timeouts.
    fn config(&self) -> &KafkaConfig;
    /// How values of the hub's topic of `entity` are framed.
    fn framing(&self, entity: EntityKind) -> Framing;
    /// How values of `<prefix>.relation.v1` are framed.
    fn relation_framing(&self) -> Framing {
        Framing::SingleObject
    }
    /// Produces all messages and waits until the broker acknowledged every one; element `i`
    /// of the answer is where message `i` landed.
    fn send_all(
        &self,
        messages: &[Outgoing],
    ) -> impl Future<Output = Result<Vec<Delivered>>> + Send;
}

impl Outbox for Store {
    async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        Ok(Store::outbox_pending(self, limit).await?)
    }
    async fn outbox_high_water(&self) -> Result<i64> {
        Ok(Store::outbox_high_water(self).await?)
    }
    async fn record_delivered(&self, deliveries: &[Delivery], ids: &[i64]) -> Result<()> {
        Ok(Store::record_delivered(self, deliveries, ids).await?)
    }
}

impl FeedLedger for Store {
    async fn feed_state(&self, department: &str) -> Result<Option<FeedState>> {
        Ok(Store::feed_state(self, department).await?)
    }
    async fn set_feed_state(&self, department: &str, state: &FeedState) -> Result<()> {
        Ok(Store::set_feed_state(self, department, state).await?)
    }
    async fn grant_at(&self, department: &str, version: i64) -> Result<Option<String>> {
        Ok(Store::grant_at(self, department, version).await?)
    }
    async fn golden_page(
        &self,
        entities: &[EntityKind],
        after: &str,
        limit: i64,
    ) -> Result<Vec<GoldenRecord>> {
        Ok(Store::golden_page(self, entities, after, limit).await?)
    }
}

impl Producer for KafkaSink {
    fn config(&self) -> &KafkaConfig {
        KafkaSink::config(self)
    }
    fn framing(&self, entity: EntityKind) -> Framing {
        KafkaSink::framing(self, entity)
    }
    fn relation_framing(&self) -> Framing {
        KafkaSink::relation_framing(self)
    }
    async fn send_all(&self, messages: &[Outgoing]) -> Result<Vec<Delivered>> {
        KafkaSink::send_all(self, messages).await
    }
}
