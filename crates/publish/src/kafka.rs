//! Kafka: topic creation and an idempotent producer. Only standard Kafka APIs are used
//! (CreateTopics, idempotent Produce), so Apache Kafka, Redpanda and tansu all serve.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use tombolo_core::EntityKind;

use crate::avro::{schema_text, Framing};
use crate::schema_registry::RegistryClient;
use crate::{Error, KafkaConfig, Result};

/// A message to produce.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    /// `None`: a tombstone (the key's record withdrawn from a compacted topic).
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, String)>,
}

/// Where a message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// The hub's connection to the broker, with the framing of each entity kind's values.
pub struct KafkaSink {
    producer: FutureProducer,
    config: KafkaConfig,
    framings: BTreeMap<EntityKind, Framing>,
    relation_framing: Framing,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("brokers", &self.config.brokers)
            .field("framings", &self.framings)
            .finish()
    }
}

pub(crate) fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers);
    c.set("client.id", "tombolo");
    for (k, v) in &config.properties {
        c.set(k, v);
    }
    c
}

/// Creates the topics that do not exist yet, compacted (the topics carry keyed state).
pub async fn ensure_topics(config: &KafkaConfig, topics: &[String]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(config).create()?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                config.partitions,
                TopicReplication::Fixed(config.replication),
            )
            .set("cleanup.policy", "compact")
        })
        .collect();
    // Bounded by `timeout_secs` like every other broker call: the request (a broker that
    // never answers), the operation, and the whole call.
    let limit = Duration::from_secs(config.timeout_secs.max(1));
    let opts = AdminOptions::new()
        .operation_timeout(Some(limit))
        .request_timeout(Some(limit));
    let created = tokio::time::timeout(
        limit + Duration::from_secs(5),
        admin.create_topics(&new, &opts),
    )
    .await
    .map_err(|_| {
        Error::Delivery(format!(
            "creating topics: no answer from the broker within {} s",
            limit.as_secs()
        ))
    })??;
    for result in created {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(Error::Delivery(format!("creating topic {topic}: {code}")))
            }
        }
    }
    Ok(())
}

impl KafkaSink {
    /// Connects, creates missing topics and registers the schemas (when a registry is set).
    pub async fn connect(config: &KafkaConfig) -> Result<Self> {
        let producer: FutureProducer = client_config(config)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                (config.timeout_secs * 1000).to_string(),
            )
            .set("linger.ms", "20")
            .create()?;
        let mut topics: Vec<String> = EntityKind::ALL.iter().map(|e| config.topic(*e)).collect();
        topics.push(config.relation_topic());
        if config.create_topics {
            ensure_topics(config, &topics).await?;
        }
        let mut framings = BTreeMap::new();
        for entity in EntityKind::ALL {
            let framing = match &config.registry {
                Some(r) => {
                    let client = RegistryClient::new(&r.url)?;
                    let subject = format!("{}-value", config.topic(entity));
                    Framing::Registry(
                        client
                            .ensure(&subject, schema_text(entity)?, r.check_compatibility)
                            .await?,
                    )
                }
                None => Framing::SingleObject,
            };
            framings.insert(entity, framing);
        }
        let relation_framing = match &config.registry {
            Some(r) => {
                let client = RegistryClient::new(&r.url)?;
                let subject = format!("{}-value", config.relation_topic());
                Framing::Registry(
                    client
                        .ensure(&subject, crate::avro::RELATION, r.check_compatibility)
                        .await?,
                )
            }
            None => Framing::SingleObject,
        };
        Ok(Self {
            producer,
            config: config.clone(),
            framings,
            relation_framing,
        })
    }

    pub fn framing(&self, entity: EntityKind) -> Framing {
        self.framings
            .get(&entity)
            .copied()
            .unwrap_or(Framing::SingleObject)
    }

    /// How values of `<prefix>.relation.v1` are framed.
    pub fn relation_framing(&self) -> Framing {
        self.relation_framing
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Produces all messages and waits until the broker acknowledged every one.
    pub async fn send_all(&self, messages: &[Outgoing]) -> Result<Vec<Delivered>> {
        let timeout = Duration::from_secs(self.config.timeout_secs);
        let futures = messages.iter().map(|m| {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &m.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut record = FutureRecord::to(&m.topic).key(&m.key).headers(headers);
            if let Some(p) = &m.payload {
                record = record.payload(p);
            }
            self.producer.send(record, timeout)
        });
        let mut out = Vec::with_capacity(messages.len());
        for r in join_all(futures).await {
            match r {
                Ok(d) => out.push(Delivered {
                    partition: d.partition,
                    offset: d.offset,
                }),
                // The broker refused or never acknowledged it: the typed cause, transient.
                Err((e, _)) => return Err(Error::Kafka(e)),
            }
        }
        Ok(out)
    }
}
