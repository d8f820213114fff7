//! Framing of Avro bodies on the wire.

use apache_avro::rabin::Rabin;
use apache_avro::{from_avro_datum, from_value, to_avro_datum, to_value, Schema};
use tombolo_core::EntityKind;

use super::{schema, EventV1, HouseV1, OrganizationV1, PersonV1, PlaceRecordV1, Published};
use crate::{Error, Result};

/// Avro single-object encoding marker (Avro specification, "Single object encoding").
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];

/// How a value is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint of the schema + body.
    SingleObject,
    /// Confluent wire format: `00` + 4-byte big-endian schema id + body.
    Registry(u32),
}

fn fingerprint(entity: EntityKind) -> Result<Vec<u8>> {
    Ok(schema(entity)?.fingerprint::<Rabin>().bytes)
}

/// Encodes a record with its schema file and frames it.
pub fn encode(record: &Published, framing: Framing) -> Result<Vec<u8>> {
    let entity = record.entity();
    let s = schema(entity)?;
    let value = match record {
        Published::Person(p) => to_value(p)?,
        Published::Organization(o) => to_value(o)?,
        Published::Place(p) => to_value(p)?,
        Published::House(h) => to_value(h)?,
        Published::Event(e) => to_value(e)?,
    };
    let value = value.resolve(s)?;
    let body = to_avro_datum(s, value)?;
    Ok(frame(framing, &fingerprint(entity)?, &body))
}

/// The parsed schema of `<prefix>.relation.v1` (`schemas/relation.avsc`).
pub fn relation_schema() -> Result<&'static Schema> {
    static S: std::sync::OnceLock<std::result::Result<Schema, String>> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::parse_str(super::RELATION).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Schema("relation".into(), e.clone()))
}

/// Encodes a relationship with `schemas/relation.avsc` and frames it.
pub fn encode_relation(relation: &tombolo_core::Relation, framing: Framing) -> Result<Vec<u8>> {
    let s = relation_schema()?;
    let value = to_value(relation)?.resolve(s)?;
    let body = to_avro_datum(s, value)?;
    Ok(frame(framing, &s.fingerprint::<Rabin>().bytes, &body))
}

/// Decodes a framed relationship (either framing).
pub fn decode_relation(bytes: &[u8]) -> Result<tombolo_core::Relation> {
    let s = relation_schema()?;
    let body = unframe(s, bytes)?;
    let value = from_avro_datum(s, &mut &body[..], None)?;
    Ok(from_value(&value)?)
}

/// Frames an Avro body: `fingerprint` is the writer schema's CRC-64-AVRO fingerprint (used by
/// the single-object framing).
pub fn frame(framing: Framing, fingerprint: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 10);
    match framing {
        Framing::SingleObject => {
            out.extend_from_slice(&SINGLE_OBJECT_MAGIC);
            out.extend_from_slice(fingerprint);
        }
        Framing::Registry(id) => {
            out.push(0);
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// The body of a framed value written with `schema` (a single-object frame must carry that
/// schema's fingerprint; the schema id of a registry frame is not looked up).
pub fn unframe<'b>(schema: &Schema, bytes: &'b [u8]) -> Result<&'b [u8]> {
    if bytes.starts_with(&SINGLE_OBJECT_MAGIC) {
        let fp = bytes
            .get(2..10)
            .ok_or_else(|| Error::Avro("short single-object header".into()))?;
        if fp != schema.fingerprint::<Rabin>().bytes.as_slice() {
            return Err(Error::Avro(format!(
                "schema fingerprint {fp:02x?} is not the expected schema's"
            )));
        }
        Ok(&bytes[10..])
    } else if bytes.first() == Some(&0) && bytes.len() >= 5 {
        Ok(&bytes[5..])
    } else {
        Err(Error::Avro("unknown framing".into()))
    }
}

/// Decodes a framed value of an entity kind (either framing; the schema id of a registry
/// frame is not looked up: the schema file is the contract).
pub fn decode(entity: EntityKind, bytes: &[u8]) -> Result<Published> {
    let s = schema(entity)?;
    let body = unframe(s, bytes)?;
    let value = from_avro_datum(s, &mut &body[..], None)?;
    Ok(match entity {
        EntityKind::Person => Published::Person(from_value::<PersonV1>(&value)?),
        EntityKind::Organization => Published::Organization(from_value::<OrganizationV1>(&value)?),
        EntityKind::Place => Published::Place(from_value::<PlaceRecordV1>(&value)?),
        EntityKind::House => Published::House(from_value::<HouseV1>(&value)?),
        EntityKind::Event => Published::Event(from_value::<EventV1>(&value)?),
    })
}
