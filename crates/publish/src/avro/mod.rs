//! Avro: the published record types, their schemas (the files in `schemas/`), each
//! department's schema derived from its grant, and framing.

mod department;
mod framing;
mod schemas;
mod types;

pub use department::{department_schema, view_to_avro};
pub use framing::{
    decode, decode_relation, encode, encode_relation, frame, relation_schema, unframe, Framing,
    SINGLE_OBJECT_MAGIC,
};
pub use schemas::{schema, schema_text, FieldClass, RELATION};
pub(crate) use types::place_of;
pub use types::{
    EventV1, HouseV1, OrganizationV1, PersonV1, PlaceRecordV1, PlaceV1, ProvenanceV1, Published,
    SourceRefV1,
};

#[cfg(test)]
mod tests;
