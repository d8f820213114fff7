//! The Kafka ACLs each department principal needs, and no more: read (and describe) its own
//! topics, and use consumer groups named after the department. The hub emits them as JSON or as
//! `kafka-acls.sh` commands for the broker's operators to apply (Apache Kafka and Redpanda take
//! the same bindings); the principal that the hub itself produces with needs write access to
//! every hub topic, which the operators grant once.

use serde::Serialize;
use tombolo_core::EntityKind;

use crate::KafkaConfig;
use tombolo_privacy::DepartmentConfig;

/// One ACL binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclBinding {
    pub principal: String,
    /// `topic` or `group`.
    pub resource_type: &'static str,
    /// `literal` or `prefixed`.
    pub pattern_type: &'static str,
    pub resource_name: String,
    /// `read` or `describe`.
    pub operation: &'static str,
    pub permission: &'static str,
}

/// The bindings of every department that names a `principal` (departments without one are
/// listed in the second value: their feeds cannot be restricted until they name one).
pub fn department_acls(
    config: &KafkaConfig,
    departments: &[DepartmentConfig],
) -> (Vec<AclBinding>, Vec<String>) {
    let mut out = Vec::new();
    let mut unnamed = Vec::new();
    for d in departments {
        let Some(principal) = d.principal.clone() else {
            unnamed.push(d.name.clone());
            continue;
        };
        let bind = |resource_type, pattern_type, resource_name: String, operation| AclBinding {
            principal: principal.clone(),
            resource_type,
            pattern_type,
            resource_name,
            operation,
            permission: "allow",
        };
        for entity in EntityKind::ALL {
            if d.grant(entity).is_none() {
                continue;
            }
            let topic = config.department_topic(entity, &d.name);
            out.push(bind("topic", "literal", topic.clone(), "read"));
            out.push(bind("topic", "literal", topic, "describe"));
        }
        out.push(bind("group", "prefixed", format!("{}.", d.name), "read"));
    }
    (out, unnamed)
}

/// The bindings as `kafka-acls.sh` commands against `bootstrap`.
pub fn kafka_acls_script(bindings: &[AclBinding], bootstrap: &str) -> String {
    let mut out = String::from(
        "#!/bin/sh\n# Kafka ACLs of the departments' feeds, emitted by `tombolo acls`.\nset -e\n",
    );
    for b in bindings {
        let resource = match b.resource_type {
            "group" => "--group",
            _ => "--topic",
        };
        out.push_str(&format!(
            "kafka-acls.sh --bootstrap-server {} --add --allow-principal {} --operation {} --resource-pattern-type {} {resource} {}\n",
            shell_quote(bootstrap),
            shell_quote(&b.principal),
            capitalised(b.operation),
            b.pattern_type,
            shell_quote(&b.resource_name)
        ));
    }
    out
}

/// A value as one shell word whatever it holds: single-quoted, each `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod quoting {
    use super::*;

    #[test]
    fn l6_values_are_one_shell_word_each() {
        assert_eq!(shell_quote("User:health"), "'User:health'");
        assert_eq!(shell_quote("a'; rm -rf / #"), "'a'\\''; rm -rf / #'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf %s {}",
                shell_quote("x'$(echo pwned)`id`;y")
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "x'$(echo pwned)`id`;y"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_principal_reads_its_own_topics_only() {
        let depts: Vec<DepartmentConfig> = toml::from_str::<toml::Table>(
            r#"
            [[d]]
            name = "health"
            purpose = "p"
            principal = "User:health"
            [d.grants.person]
            phone = { treatment = "mask" }
            [[d]]
            name = "tax"
            purpose = "p"
            [d.grants.organization]
            name = { treatment = "clear" }
            "#,
        )
        .unwrap()["d"]
            .clone()
            .try_into()
            .unwrap();
        let config: KafkaConfig = toml::from_str("brokers = \"b:9092\"").unwrap();
        let (acls, unnamed) = department_acls(&config, &depts);
        assert_eq!(unnamed, ["tax"]);
        let topics: Vec<(&str, &str)> = acls
            .iter()
            .filter(|b| b.resource_type == "topic")
            .map(|b| (b.resource_name.as_str(), b.operation))
            .collect();
        assert_eq!(
            topics,
            [
                ("tombolo.person.v1.dept.health", "read"),
                ("tombolo.person.v1.dept.health", "describe")
            ]
        );
        assert!(acls.iter().all(|b| b.principal == "User:health"));
        let script = kafka_acls_script(&acls, "b:9092");
        assert!(script.contains(
            "--allow-principal 'User:health' --operation Read --resource-pattern-type literal --topic 'tombolo.person.v1.dept.health'"
        ));
        assert!(script.contains("--resource-pattern-type prefixed --group 'health.'"));
    }
}
