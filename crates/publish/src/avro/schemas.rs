//! The schema files, compiled in. They are the contract with subscribers.

use std::sync::OnceLock;

use apache_avro::Schema;
use tombolo_core::{Classification, EntityKind};

use crate::{Error, Result};

const PERSON: &str = include_str!("../../../../schemas/person.avsc");
const ORGANIZATION: &str = include_str!("../../../../schemas/organization.avsc");
const PLACE: &str = include_str!("../../../../schemas/place.avsc");
const HOUSE: &str = include_str!("../../../../schemas/house.avsc");
const EVENT: &str = include_str!("../../../../schemas/event.avsc");
/// The schema of `<prefix>.relation.v1`.
pub const RELATION: &str = include_str!("../../../../schemas/relation.avsc");

/// The text of an entity kind's schema file.
pub fn schema_text(entity: EntityKind) -> Result<&'static str> {
    match entity {
        EntityKind::Person => Ok(PERSON),
        EntityKind::Organization => Ok(ORGANIZATION),
        EntityKind::Place => Ok(PLACE),
        EntityKind::House => Ok(HOUSE),
        EntityKind::Event => Ok(EVENT),
    }
}

fn parsed(entity: EntityKind) -> &'static Result<Schema, String> {
    static P: OnceLock<Result<Schema, String>> = OnceLock::new();
    static O: OnceLock<Result<Schema, String>> = OnceLock::new();
    static L: OnceLock<Result<Schema, String>> = OnceLock::new();
    static H: OnceLock<Result<Schema, String>> = OnceLock::new();
    static E: OnceLock<Result<Schema, String>> = OnceLock::new();
    let cell = match entity {
        EntityKind::Person => &P,
        EntityKind::Organization => &O,
        EntityKind::Place => &L,
        EntityKind::House => &H,
        EntityKind::Event => &E,
    };
    cell.get_or_init(|| {
        let text = schema_text(entity).map_err(|e| e.to_string())?;
        Schema::parse_str(text).map_err(|e| e.to_string())
    })
}

/// The parsed schema of an entity kind.
pub fn schema(entity: EntityKind) -> Result<&'static Schema> {
    parsed(entity)
        .as_ref()
        .map_err(|e| Error::Schema(entity.to_string(), e.clone()))
}

/// A top-level field of a schema with its `classification` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldClass {
    pub name: String,
    pub classification: Classification,
}

impl FieldClass {
    /// Every top-level field of an entity's schema with its classification.
    pub fn all(entity: EntityKind) -> Result<Vec<FieldClass>> {
        let Schema::Record(rec) = schema(entity)? else {
            return Err(Error::Schema(entity.to_string(), "not a record".into()));
        };
        rec.fields
            .iter()
            .map(|f| {
                let c = f
                    .custom_attributes
                    .get("classification")
                    .and_then(|v| v.as_str())
                    .and_then(Classification::parse)
                    .ok_or_else(|| {
                        Error::Schema(
                            entity.to_string(),
                            format!("field {} has no valid classification", f.name),
                        )
                    })?;
                Ok(FieldClass {
                    name: f.name.clone(),
                    classification: c,
                })
            })
            .collect()
    }
}
