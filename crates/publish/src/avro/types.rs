//! Rust types of the published records. `tests` below encode and decode them with the schema
//! files themselves, so the two cannot drift.

use serde::{Deserialize, Serialize};
use tombolo_core::fields::id;
use tombolo_core::AddressPart;
use tombolo_core::{EntityKind, GoldenRecord};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceV1 {
    pub line: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub road: Option<String>,
    pub number: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRefV1 {
    pub source: String,
    pub record_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceV1 {
    pub field: String,
    pub source: String,
    pub record_key: String,
    pub observed_at: Option<String>,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonV1 {
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    pub merged_from: Vec<String>,
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub resident_id: Option<String>,
    pub phone: Option<String>,
    pub marital_status: Option<String>,
    pub address: Option<PlaceV1>,
    pub employer_name: Option<String>,
    pub employer_credit_code: Option<String>,
    pub members: Vec<SourceRefV1>,
    pub provenance: Vec<ProvenanceV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationV1 {
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    pub merged_from: Vec<String>,
    pub name: Option<String>,
    pub credit_code: Option<String>,
    pub org_code: Option<String>,
    pub tax_number: Option<String>,
    pub legal_rep: Option<String>,
    pub address: Option<PlaceV1>,
    pub founded_date: Option<String>,
    pub status: Option<String>,
    pub members: Vec<SourceRefV1>,
    pub provenance: Vec<ProvenanceV1>,
}

/// A golden place (`schemas/place.avsc`, record `PlaceRecord`: `Place` is the address type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceRecordV1 {
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    pub merged_from: Vec<String>,
    pub address: Option<PlaceV1>,
    pub district_code: Option<String>,
    pub level: Option<String>,
    pub parent_id: Option<String>,
    pub registered: Option<String>,
    pub members: Vec<SourceRefV1>,
    pub provenance: Vec<ProvenanceV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseV1 {
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    pub merged_from: Vec<String>,
    pub address: Option<PlaceV1>,
    pub owner_name: Option<String>,
    pub owner_id: Option<String>,
    pub floor_area: Option<String>,
    pub usage: Option<String>,
    pub registered_date: Option<String>,
    pub place_id: Option<String>,
    pub members: Vec<SourceRefV1>,
    pub provenance: Vec<ProvenanceV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventV1 {
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    pub merged_from: Vec<String>,
    pub category: Option<String>,
    pub reported_at: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub reporter_id: Option<String>,
    pub address: Option<PlaceV1>,
    pub description: Option<String>,
    pub handler: Option<String>,
    pub status: Option<String>,
    pub place_id: Option<String>,
    pub reports: Option<String>,
    pub building_id: Option<String>,
    pub members: Vec<SourceRefV1>,
    pub provenance: Vec<ProvenanceV1>,
}

/// A published record of any entity kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Person(PersonV1),
    Organization(OrganizationV1),
    Place(PlaceRecordV1),
    House(HouseV1),
    Event(EventV1),
}

fn place(g: &GoldenRecord) -> Option<PlaceV1> {
    place_of(&g.values)
}

/// The address of a value map (`address`, `address.<part>`) as the published record.
pub(crate) fn place_of(values: &std::collections::BTreeMap<String, String>) -> Option<PlaceV1> {
    let part = |p: AddressPart| values.get(p.field()).cloned();
    let p = PlaceV1 {
        line: values.get(id::ADDRESS).cloned(),
        province: part(AddressPart::Province),
        city: part(AddressPart::City),
        district: part(AddressPart::District),
        street: part(AddressPart::Street),
        community: part(AddressPart::Community),
        road: part(AddressPart::Road),
        number: part(AddressPart::Number),
        building: part(AddressPart::Building),
        unit: part(AddressPart::Unit),
        room: part(AddressPart::Room),
    };
    (p != PlaceV1::default()).then_some(p)
}

impl Published {
    /// The published form of a golden record.
    pub fn from_golden(g: &GoldenRecord) -> Option<Self> {
        let v = |k: &str| g.values.get(k).cloned();
        let members = g
            .members
            .iter()
            .map(|m| SourceRefV1 {
                source: m.source.clone(),
                record_key: m.record_key.clone(),
            })
            .collect();
        let provenance = g
            .provenance
            .iter()
            .map(|p| ProvenanceV1 {
                field: p.field.clone(),
                source: p.source.clone(),
                record_key: p.record_key.clone(),
                observed_at: p.observed_at.clone(),
                rule: p.rule.clone(),
            })
            .collect();
        match g.entity {
            EntityKind::Person => Some(Published::Person(PersonV1 {
                golden_id: g.golden_id.clone(),
                version: g.version,
                updated_at: g.updated_at.clone(),
                retired_into: g.retired_into.clone(),
                merged_from: g.merged_from.clone(),
                name: v(id::NAME),
                sex: v(id::SEX),
                birth_date: v(id::BIRTH_DATE),
                resident_id: v(id::RESIDENT_ID),
                phone: v(id::PHONE),
                marital_status: v(id::MARITAL_STATUS),
                address: place(g),
                employer_name: v(id::EMPLOYER_NAME),
                employer_credit_code: v(id::EMPLOYER_CREDIT_CODE),
                members,
                provenance,
            })),
            EntityKind::Organization => Some(Published::Organization(OrganizationV1 {
                golden_id: g.golden_id.clone(),
                version: g.version,
                updated_at: g.updated_at.clone(),
                retired_into: g.retired_into.clone(),
                merged_from: g.merged_from.clone(),
                name: v(id::NAME),
                credit_code: v(id::CREDIT_CODE),
                org_code: v(id::ORG_CODE),
                tax_number: v(id::TAX_NUMBER),
                legal_rep: v(id::LEGAL_REP),
                address: place(g),
                founded_date: v(id::FOUNDED_DATE),
                status: v(id::STATUS),
                members,
                provenance,
            })),
            EntityKind::Place => Some(Published::Place(PlaceRecordV1 {
                golden_id: g.golden_id.clone(),
                version: g.version,
                updated_at: g.updated_at.clone(),
                retired_into: g.retired_into.clone(),
                merged_from: g.merged_from.clone(),
                address: place(g),
                district_code: v(id::DISTRICT_CODE),
                level: v(id::LEVEL),
                parent_id: v(id::PARENT_ID),
                registered: v(id::REGISTERED),
                members,
                provenance,
            })),
            EntityKind::House => Some(Published::House(HouseV1 {
                golden_id: g.golden_id.clone(),
                version: g.version,
                updated_at: g.updated_at.clone(),
                retired_into: g.retired_into.clone(),
                merged_from: g.merged_from.clone(),
                address: place(g),
                owner_name: v(id::OWNER_NAME),
                owner_id: v(id::OWNER_ID),
                floor_area: v(id::FLOOR_AREA),
                usage: v(id::USAGE),
                registered_date: v(id::REGISTERED_DATE),
                place_id: v(id::PLACE_ID),
                members,
                provenance,
            })),
            EntityKind::Event => Some(Published::Event(EventV1 {
                golden_id: g.golden_id.clone(),
                version: g.version,
                updated_at: g.updated_at.clone(),
                retired_into: g.retired_into.clone(),
                merged_from: g.merged_from.clone(),
                category: v(id::CATEGORY),
                reported_at: v(id::REPORTED_AT),
                reporter_name: v(id::REPORTER_NAME),
                reporter_phone: v(id::REPORTER_PHONE),
                reporter_id: v(id::REPORTER_ID),
                address: place(g),
                description: v(id::DESCRIPTION),
                handler: v(id::HANDLER),
                status: v(id::STATUS),
                place_id: v(id::PLACE_ID),
                reports: v(id::REPORTS),
                building_id: v(id::BUILDING_ID),
                members,
                provenance,
            })),
        }
    }

    pub fn entity(&self) -> EntityKind {
        match self {
            Published::Person(_) => EntityKind::Person,
            Published::Organization(_) => EntityKind::Organization,
            Published::Place(_) => EntityKind::Place,
            Published::House(_) => EntityKind::House,
            Published::Event(_) => EntityKind::Event,
        }
    }

    pub fn golden_id(&self) -> &str {
        match self {
            Published::Person(p) => &p.golden_id,
            Published::Organization(o) => &o.golden_id,
            Published::Place(p) => &p.golden_id,
            Published::House(h) => &h.golden_id,
            Published::Event(e) => &e.golden_id,
        }
    }
}
