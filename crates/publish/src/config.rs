use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn default_partitions() -> i32 {
    3
}

fn default_replication() -> i32 {
    1
}

fn default_prefix() -> String {
    "tombolo".into()
}

fn default_timeout() -> u64 {
    60
}

/// `[kafka]`: where golden records are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// Topic names are `<prefix>.<entity>.v1`.
    #[serde(default = "default_prefix")]
    pub topic_prefix: String,
    /// Partitions of topics the hub creates.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of topics the hub creates (3 in production).
    #[serde(default = "default_replication")]
    pub replication: i32,
    /// Create missing topics (compacted) at start.
    #[serde(default = "yes")]
    pub create_topics: bool,
    /// Seconds to wait for a delivery acknowledgement.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`…), passed as they are.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Confluent-compatible schema registry; without it values use Avro single-object encoding.
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
}

fn yes() -> bool {
    true
}

/// `[kafka.registry]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Base URL, e.g. `http://127.0.0.1:8081`.
    pub url: String,
    /// Check compatibility with the subject's latest version before registering.
    #[serde(default = "yes")]
    pub check_compatibility: bool,
}

impl KafkaConfig {
    /// The topic of an entity kind, e.g. `tombolo.person.v1`.
    pub fn topic(&self, entity: tombolo_core::EntityKind) -> String {
        format!("{}.{}.v1", self.topic_prefix, entity.as_str())
    }

    /// The topic of relationships between golden records, e.g. `tombolo.relation.v1`.
    pub fn relation_topic(&self) -> String {
        format!("{}.relation.v1", self.topic_prefix)
    }

    /// A department's topic of an entity kind, e.g. `tombolo.person.v1.dept.health`.
    pub fn department_topic(&self, entity: tombolo_core::EntityKind, department: &str) -> String {
        format!("{}.dept.{department}", self.topic(entity))
    }
}
