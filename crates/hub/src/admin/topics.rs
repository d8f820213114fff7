//! The topics' contracts: the Avro schema of a hub topic or of a department's topic, and the
//! Kafka ACLs that keep each department to its own feed.

use std::time::Duration;

use tombolo_core::EntityKind;
use tombolo_privacy::PseudonymKeys;
use tombolo_publish::acl::{department_acls, kafka_acls_script};
use tombolo_publish::feeds::Feeds;
use tombolo_publish::tail::Decoder;

use crate::{Config, Error, Hub, Result};

/// The schema text of `entity`'s hub topic, or of a department's topic.
pub fn schema_of(config: &Config, entity: EntityKind, department: Option<&str>) -> Result<String> {
    let Some(name) = department else {
        return Ok(tombolo_publish::avro::schema_text(entity)?.to_owned());
    };
    let Some(d) = config.departments.iter().find(|d| d.name == name) else {
        return Err(Error::NotFound(format!(
            "no department named {name:?} in the config"
        )));
    };
    tombolo_publish::avro::department_schema(d, entity)?.ok_or_else(|| {
        Error::NotFound(format!(
            "department {name} receives nothing of kind {entity}"
        ))
    })
}

/// The departments' ACLs: as JSON bindings or as a shell script of `kafka-acls` calls, and the
/// departments that name no principal (their feed cannot be restricted).
pub fn acls(config: &Config, json: bool) -> Result<(String, Vec<String>)> {
    let Some(kafka) = &config.kafka else {
        return Err(Error::Refused(
            "acls needs a [kafka] section in the config".into(),
        ));
    };
    let (bindings, unnamed) = department_acls(kafka, &config.departments);
    let text = if json {
        serde_json::to_string_pretty(&bindings)? + "\n"
    } else {
        kafka_acls_script(&bindings, &kafka.brokers)
    };
    Ok((text, unnamed.into_iter().map(|d| d.to_string()).collect()))
}

impl Hub {
    /// Every message of a topic the hub publishes, from the beginning, decoded into JSON (a hub
    /// topic with its schema file, a department's topic with the schema of its grant) and
    /// handed to `out`; stops after `max` messages or `idle` without one. Returns the count.
    pub async fn tail(
        &self,
        topic: &str,
        max: Option<u64>,
        idle: Duration,
        mut out: impl FnMut(serde_json::Value) -> std::io::Result<()>,
    ) -> Result<u64> {
        let Some(kafka) = &self.config.kafka else {
            return Err(Error::Refused(
                "tail needs a [kafka] section in the config".into(),
            ));
        };
        // Only the schemas are needed: no keys, no grant versions.
        let departments: Vec<_> = self
            .config
            .departments
            .iter()
            .map(|d| (d.clone(), 0))
            .collect();
        let feeds = Feeds::new(kafka, &departments, PseudonymKeys::default(), "")?;
        let decoder = Decoder::for_topic(topic, &feeds)?;
        Ok(
            tombolo_publish::tail::tail(kafka, topic, &decoder, max, idle, |v| {
                out(v).map_err(|e| tombolo_publish::Error::Config(e.to_string()))
            })
            .await?,
        )
    }
}
