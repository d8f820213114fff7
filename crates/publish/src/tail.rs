//! `tombolo tail TOPIC`: every message of a topic the hub publishes, from the beginning,
//! decoded into JSON (either framing) with the schema file of its kind, or for a department
//! topic with the schema derived from the department's grant in force, for an engineer
//! checking a feed.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use tombolo_core::EntityKind;

use apache_avro::Schema;

use crate::avro::{decode, decode_relation, unframe, Published};
use crate::feeds::Feeds;
use crate::kafka::client_config;
use crate::{Error, KafkaConfig, Result};

fn json(e: serde_json::Error) -> Error {
    Error::Avro(format!("as JSON: {e}"))
}

/// The entity kind a hub topic carries: the `<entity>` of `<prefix>.<entity>.v1…`.
pub fn topic_entity(topic: &str) -> Option<EntityKind> {
    let parts: Vec<&str> = topic.split('.').collect();
    parts
        .windows(2)
        .rev()
        .find(|w| w[1] == "v1")
        .and_then(|w| EntityKind::parse(w[0]))
}

/// How a topic's values are decoded.
#[derive(Debug)]
pub enum Decoder<'a> {
    /// A hub topic: the unified schema of its kind.
    Entity(EntityKind),
    /// A department topic: the schema derived from the department's grant in force.
    Department(&'a Schema),
    /// `<prefix>.relation.v1`: `schemas/relation.avsc`.
    Relation,
}

impl<'a> Decoder<'a> {
    /// The decoder of a topic the hub publishes: a department topic of `feeds`, or the hub's
    /// topic of a kind.
    pub fn for_topic(topic: &str, feeds: &'a Feeds) -> Result<Self> {
        if let Some(schema) = feeds.schema_of(topic) {
            return Ok(Self::Department(schema));
        }
        if topic.contains(".dept.") {
            return Err(Error::Config(format!(
                "{topic}: no configured department publishes to this topic"
            )));
        }
        if topic.ends_with(".relation.v1") {
            return Ok(Self::Relation);
        }
        topic_entity(topic).map(Self::Entity).ok_or_else(|| {
            Error::Config(format!(
                "{topic} is not a topic the hub publishes (<prefix>.<entity>.v1)"
            ))
        })
    }

    /// A framed value as JSON.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value> {
        match self {
            Self::Entity(entity) => match decode(*entity, bytes)? {
                Published::Person(p) => serde_json::to_value(p).map_err(json),
                Published::Organization(o) => serde_json::to_value(o).map_err(json),
                Published::Place(p) => serde_json::to_value(p).map_err(json),
                Published::House(h) => serde_json::to_value(h).map_err(json),
                Published::Event(e) => serde_json::to_value(e).map_err(json),
            },
            Self::Relation => serde_json::to_value(decode_relation(bytes)?).map_err(json),
            Self::Department(schema) => {
                let body = unframe(schema, bytes)?;
                let value = apache_avro::from_avro_datum(schema, &mut &body[..], None)?;
                Value::try_from(value).map_err(|e| Error::Avro(format!("as JSON: {e}")))
            }
        }
    }
}

/// Reads `topic` from the beginning of every partition and hands each message, decoded, to
/// `out` as `{"partition", "offset", "key", "value"}` (`value` null for a tombstone, or
/// `{"undecodable": reason}`). Stops after `max` messages or when nothing arrives for `idle`.
/// Returns the number of messages read.
pub async fn tail(
    config: &KafkaConfig,
    topic: &str,
    decoder: &Decoder<'_>,
    max: Option<u64>,
    idle: Duration,
    mut out: impl FnMut(Value) -> Result<()>,
) -> Result<u64> {
    let consumer: StreamConsumer = client_config(config)
        .set("group.id", format!("tombolo-tail-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(Error::Config(format!("topic {topic} does not exist")));
    }
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut n = 0u64;
    while max.is_none_or(|m| n < m) {
        let Ok(received) = tokio::time::timeout(idle, consumer.recv()).await else {
            break;
        };
        let m = received?;
        let value = match m.payload() {
            None => Value::Null,
            Some(bytes) => decoder
                .decode(bytes)
                .unwrap_or_else(|e| json!({ "undecodable": e.to_string() })),
        };
        let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
        out(json!({
            "partition": m.partition(),
            "offset": m.offset(),
            "key": key,
            "value": value,
        }))?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_entity() {
        assert_eq!(topic_entity("tombolo.person.v1"), Some(EntityKind::Person));
        assert_eq!(
            topic_entity("e2e.x.organization.v1"),
            Some(EntityKind::Organization)
        );
        assert_eq!(
            topic_entity("tombolo.person.v1.dept.health"),
            Some(EntityKind::Person)
        );
        assert_eq!(topic_entity("orders"), None);
    }
}
