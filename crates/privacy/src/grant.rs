//! `[[departments]]`: who receives what, for which purpose.
//!
//! ```toml
//! [[departments]]
//! name = "health"
//! purpose = "vaccination follow-up"
//! key_env = "TOMBOLO_PSEUDONYM_KEY_HEALTH"
//! [departments.grants.person]
//! name = { treatment = "mask" }
//! resident_id = { treatment = "mask" }
//! phone = { treatment = "pseudonym" }
//! address = { treatment = "generalize", to = "district" }
//! birth_date = { treatment = "generalize", to = "year" }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tombolo_core::{Classification, EntityKind};

use crate::{Error, Result};
use tombolo_core::fields::id;

/// How one granted field is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "treatment", rename_all = "snake_case", deny_unknown_fields)]
pub enum Treatment {
    /// As stored. A `sensitive` field needs a `justification`, which the audit trail records.
    Clear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        justification: Option<String>,
    },
    /// Characters replaced by `*` except the first `keep_start` and last `keep_end`. Defaults
    /// follow the usual display rules: resident ID 6 and 4 (`340104********1234`), phone 3
    /// and 4 (`138****8000`), name 1 and 0 (`张*`), anything else 1 and 1.
    Mask {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_start: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_end: Option<usize>,
    },
    /// A coarser value: see [`Generalize`].
    Generalize { to: Generalize },
    /// A keyed HMAC-SHA-256 of the value (hex): with the department's own key, or with the
    /// shared key when `joinable` (departments can then join on it).
    Pseudonym {
        #[serde(default)]
        joinable: bool,
    },
    /// Never delivered (the same as leaving the field out; stated for the record).
    Drop,
}

impl Treatment {
    /// The treatment's name, as the audit trail and the catalogue show it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Clear { .. } => "clear",
            Self::Mask { .. } => "mask",
            Self::Generalize { .. } => "generalize",
            Self::Pseudonym { .. } => "pseudonym",
            Self::Drop => "drop",
        }
    }
}

/// What a field is generalised to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generalize {
    /// A date → its year (`1990`).
    Year,
    /// A birth date → a ten-year age band on the day of delivery (`30-39`).
    AgeBand,
    /// An address → province, city and district (`安徽省合肥市蜀山区`).
    District,
    /// An address → down to the street and community (`…稻香村街道青年社区`).
    Community,
    /// An address → down to the building, without unit or room (`…长江西路12号3栋`).
    Building,
}

/// One field's grant.
pub type FieldGrant = Treatment;

/// `[[departments]]`: a subscribing department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentConfig {
    /// Short name, used in topic names (`<prefix>.person.v1.dept.<name>`): lower-case letters,
    /// digits, `_` and `-`.
    pub name: String,
    /// The stated purpose of the processing (recorded with every delivery).
    pub purpose: String,
    /// Environment variable holding the department's pseudonym key (at least 32 bytes, or 64
    /// hex digits). Required when a grant pseudonymises a field without `joinable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Kafka principal of the department (`User:health`), for the ACLs the hub can emit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Entity kind → field → treatment. A kind not listed is not delivered at all; a field not
    /// listed is never delivered. `address` covers the address text and all its parts.
    #[serde(default)]
    pub grants: BTreeMap<EntityKind, BTreeMap<String, FieldGrant>>,
}

/// A field of the unified schema as the grants see it: its classification.
pub type Classify<'a> = &'a dyn Fn(EntityKind, &str) -> Option<Classification>;

impl DepartmentConfig {
    /// Checks the grant against the field catalogue (`classify`: the classification of a
    /// unified field, `None` for an unknown one): every granted field exists; a `sensitive`
    /// field in clear carries a justification; masks and generalisations fit the field;
    /// a department key is named where a pseudonym needs one. All problems at once.
    pub fn check(&self, classify: Classify<'_>) -> Result<()> {
        let mut problems = Vec::new();
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !name_ok {
            problems.push(format!(
                "department name {:?}: use lower-case letters, digits, '_' and '-'",
                self.name
            ));
        }
        if self.purpose.trim().is_empty() {
            problems.push(format!("department {}: a purpose is required", self.name));
        }
        for (entity, fields) in &self.grants {
            for (field, t) in fields {
                let at = format!("department {} {entity}.{field}", self.name);
                let Some(class) = classify(*entity, field) else {
                    problems.push(format!("{at}: no such field"));
                    continue;
                };
                match t {
                    Treatment::Clear { justification } => {
                        let justified = justification
                            .as_deref()
                            .is_some_and(|j| !j.trim().is_empty());
                        if class == Classification::Sensitive && !justified {
                            problems.push(format!(
                                "{at}: a sensitive field is granted in clear only with a justification"
                            ));
                        }
                    }
                    Treatment::Generalize { to } => {
                        let fits = match to {
                            Generalize::Year | Generalize::AgeBand => field.ends_with("date"),
                            Generalize::District | Generalize::Community | Generalize::Building => {
                                field == id::ADDRESS
                            }
                        };
                        if !fits {
                            problems.push(format!("{at}: cannot generalise this field to {to:?}"));
                        }
                    }
                    Treatment::Pseudonym { joinable: false } if self.key_env.is_none() => {
                        problems.push(format!(
                            "{at}: a pseudonym needs the department's key_env (or joinable = true)"
                        ));
                    }
                    _ => {}
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Grant(problems))
        }
    }

    /// The grant for one entity kind, if the department receives that kind.
    pub fn grant(&self, entity: EntityKind) -> Option<&BTreeMap<String, FieldGrant>> {
        self.grants.get(&entity).filter(|g| !g.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(_: EntityKind, f: &str) -> Option<Classification> {
        match f {
            "resident_id" => Some(Classification::Sensitive),
            "name" | "phone" | "birth_date" | "address" => Some(Classification::Personal),
            _ => None,
        }
    }

    fn dept(toml_text: &str) -> DepartmentConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn parses_every_treatment() {
        let d = dept(
            r#"
            name = "health"
            purpose = "vaccination follow-up"
            key_env = "K"
            [grants.person]
            name = { treatment = "mask" }
            resident_id = { treatment = "mask", keep_start = 6, keep_end = 4 }
            phone = { treatment = "pseudonym" }
            address = { treatment = "generalize", to = "district" }
            birth_date = { treatment = "drop" }
            "#,
        );
        let g = d.grant(EntityKind::Person).unwrap();
        assert_eq!(g["phone"], Treatment::Pseudonym { joinable: false });
        assert_eq!(
            g["address"],
            Treatment::Generalize {
                to: Generalize::District
            }
        );
        assert_eq!(g["birth_date"].name(), "drop");
        assert!(d.grant(EntityKind::Organization).is_none());
        d.check(&classify).unwrap();
    }

    #[test]
    fn refuses_what_the_floor_forbids() {
        let d = dept(
            r#"
            name = "Civil Affairs"
            purpose = " "
            [grants.person]
            resident_id = { treatment = "clear" }
            phone = { treatment = "pseudonym" }
            name = { treatment = "generalize", to = "year" }
            shoe_size = { treatment = "clear" }
            "#,
        );
        let e = d.check(&classify).unwrap_err().to_string();
        for want in [
            "lower-case",
            "purpose is required",
            "resident_id: a sensitive field is granted in clear only with a justification",
            "phone: a pseudonym needs the department's key_env",
            "name: cannot generalise",
            "shoe_size: no such field",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        let ok = dept(
            r#"
            name = "police"
            purpose = "case work"
            [grants.person]
            resident_id = { treatment = "clear", justification = "identity checks under article 12" }
            phone = { treatment = "pseudonym", joinable = true }
            "#,
        );
        ok.check(&classify).unwrap();
        assert!(toml::from_str::<DepartmentConfig>(
            "name = \"x\"\npurpose = \"y\"\n[grants.person]\nname = { treatment = \"blur\" }"
        )
        .is_err());
    }
}
