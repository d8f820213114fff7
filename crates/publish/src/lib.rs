//! The publishing stage: Avro framing and delivery. What each department may receive, and its
//! view of a golden record, is `tombolo-privacy`'s.
//!
//! * [`avro`]: the Rust types of the published records, checked against `schemas/*.avsc`, and
//!   the two framings: Confluent wire format (magic byte, schema id, body) when a registry is
//!   configured, Avro single-object encoding (`C3 01`, CRC-64-AVRO fingerprint, body) otherwise.
//! * [`tail`]: a topic's messages decoded to JSON (`tombolo tail`).
//! * [`schema_registry`]: a client of the Confluent Schema Registry REST API.
//! * [`kafka`]: topic creation (compacted) and an idempotent producer, broker-neutral.
//! * [`acl`]: the Kafka ACLs each department principal needs (its own topics, its groups).
//! * [`feeds`]: each department's view on topics of its own, backfilled when its grant is new
//!   or changed, every delivered batch in the audit trail.
//! * [`ports`]: what publishing reads and writes (outbox, feed ledger, producer) as narrow
//!   traits, so delivery and backfill are tested without a broker or a database.
//! * [`publisher`]: drains the store's outbox to the topics; at-least-once, keyed by golden id,
//!   versioned, so a crash between produce and mark only republishes the same version.

pub mod acl;
pub mod avro;
mod config;
mod error;
pub mod feeds;
pub mod kafka;
pub mod ports;
pub mod publisher;
pub mod schema_registry;
mod stats;
pub mod tail;

pub use config::{KafkaConfig, RegistryConfig};
pub use error::{Error, Result};
pub use stats::PublishStats;
#[cfg(test)]
mod tests;
