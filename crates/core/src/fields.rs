//! The catalogue of unified fields: for each entity kind, which fields exist, how their values
//! are validated, and how they are classified. Field ids are the constants of [`id`]; code
//! names a field through them, never as a string of its own. `schemas/*.avsc` carry the same
//! classifications; a test in `tombolo-publish` keeps the two in step.

use crate::{Classification, EntityKind};

/// The ids of the unified fields, as mapping targets, golden records and `schemas/*.avsc` name
/// them. What each holds and how it is classified is in [`PERSON`], [`ORGANIZATION`],
/// [`PLACE`], [`HOUSE`] and [`EVENT`].
pub mod id {
    // People and organisations.
    pub const NAME: &str = "name";
    pub const ADDRESS: &str = "address";
    // People.
    pub const SEX: &str = "sex";
    pub const BIRTH_DATE: &str = "birth_date";
    pub const RESIDENT_ID: &str = "resident_id";
    pub const PHONE: &str = "phone";
    pub const MARITAL_STATUS: &str = "marital_status";
    pub const EMPLOYER_NAME: &str = "employer_name";
    pub const EMPLOYER_CREDIT_CODE: &str = "employer_credit_code";
    // Organisations.
    pub const CREDIT_CODE: &str = "credit_code";
    pub const TAX_NUMBER: &str = "tax_number";
    pub const LEGAL_REP: &str = "legal_rep";
    pub const FOUNDED_DATE: &str = "founded_date";
    pub const STATUS: &str = "status";
    /// Derived by validation, not mapped: see [`super::DERIVED`].
    pub const ORG_CODE: &str = "org_code";
    // Places.
    pub const DISTRICT_CODE: &str = "district_code";
    /// Set by resolution: `door`, `building` or `room`.
    pub const LEVEL: &str = "level";
    /// Set by resolution: the golden id of the place one level up.
    pub const PARENT_ID: &str = "parent_id";
    /// Set by resolution: `true` when the standard address registry holds the place.
    pub const REGISTERED: &str = "registered";
    // Houses.
    pub const OWNER_NAME: &str = "owner_name";
    pub const OWNER_ID: &str = "owner_id";
    pub const FLOOR_AREA: &str = "floor_area";
    pub const USAGE: &str = "usage";
    pub const REGISTERED_DATE: &str = "registered_date";
    // Events (and houses: `place_id`).
    pub const CATEGORY: &str = "category";
    pub const REPORTED_AT: &str = "reported_at";
    pub const REPORTER_NAME: &str = "reporter_name";
    pub const REPORTER_PHONE: &str = "reporter_phone";
    pub const REPORTER_ID: &str = "reporter_id";
    pub const DESCRIPTION: &str = "description";
    pub const HANDLER: &str = "handler";
    /// Set by resolution: the golden id of the place a house or incident is at.
    pub const PLACE_ID: &str = "place_id";
    /// Set by resolution: the number of reports an incident holds.
    pub const REPORTS: &str = "reports";
    /// Set by resolution: the golden id of the building an incident happened in (or at).
    pub const BUILDING_ID: &str = "building_id";
}

/// How a unified field's value is cleaned and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text: trimmed, NFKC.
    Text,
    /// A person's name: NFKC, Traditional → Simplified, spaces between Chinese characters removed.
    PersonName,
    /// An organisation's name: NFKC (bracket widths), Traditional → Simplified, no spaces.
    OrgName,
    /// A value looked up in a code table (the mapping names the table; the default table has
    /// the field's name).
    Code,
    Date,
    /// A date and time of day, `YYYY-MM-DDTHH:MM:SS` (local time as the source wrote it).
    DateTime,
    /// A number (a floor area): NFKC, separators and units (`㎡`, `平方米`) removed.
    Number,
    ResidentId,
    Phone,
    /// A free-text address, split into `address.*` parts.
    Address,
    /// One part of an address given in its own column (`address.building`).
    AddressPart,
    CreditCode,
    /// A tax registration number: a credit code, or a pre-2015 15-character number.
    TaxNumber,
}

/// One unified field.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub classification: Classification,
    pub doc: &'static str,
}

const fn f(
    name: &'static str,
    kind: FieldKind,
    classification: Classification,
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        classification,
        doc,
    }
}

use Classification::*;
use FieldKind::*;

/// Fields of a person.
pub const PERSON: &[FieldSpec] = &[
    f(
        id::NAME,
        PersonName,
        Personal,
        "full name, Simplified characters",
    ),
    f(
        id::SEX,
        Code,
        Personal,
        "male | female | unknown | unspecified (GB/T 2261.1)",
    ),
    f(id::BIRTH_DATE, Date, Personal, "date of birth, YYYY-MM-DD"),
    f(
        id::RESIDENT_ID,
        ResidentId,
        Sensitive,
        "18-character resident ID number (GB 11643)",
    ),
    f(
        id::PHONE,
        Phone,
        Personal,
        "mobile (11 digits) or landline (area-local)",
    ),
    f(
        id::MARITAL_STATUS,
        Code,
        Personal,
        "unmarried | married | divorced | widowed (GB/T 2261.2)",
    ),
    f(
        id::ADDRESS,
        Address,
        Sensitive,
        "residential address as one line; parts under address.*",
    ),
    f(
        id::EMPLOYER_NAME,
        OrgName,
        Personal,
        "name of the employer as the source gives it",
    ),
    f(
        id::EMPLOYER_CREDIT_CODE,
        CreditCode,
        Internal,
        "credit code of the employer",
    ),
];

/// Fields of an organisation.
pub const ORGANIZATION: &[FieldSpec] = &[
    f(id::NAME, OrgName, Public, "registered name"),
    f(
        id::CREDIT_CODE,
        CreditCode,
        Public,
        "Unified Social Credit Code (GB 32100)",
    ),
    f(
        id::TAX_NUMBER,
        TaxNumber,
        Internal,
        "tax registration number as registered (old 15-character form or credit code)",
    ),
    f(
        id::LEGAL_REP,
        PersonName,
        Personal,
        "name of the legal representative",
    ),
    f(
        id::ADDRESS,
        Address,
        Public,
        "registered address as one line; parts under address.*",
    ),
    f(
        id::FOUNDED_DATE,
        Date,
        Public,
        "date of establishment, YYYY-MM-DD",
    ),
    f(
        id::STATUS,
        Code,
        Public,
        "registration status: active | deregistered | revoked | …",
    ),
];

/// Fields of a place. Resolution sets `level`, `parent_id` and `registered`; the address parts
/// give its identity (district, road, number, building, unit, room), the street and community
/// are attributes.
pub const PLACE: &[FieldSpec] = &[
    f(
        id::ADDRESS,
        Address,
        Internal,
        "the place as one line; parts under address.*",
    ),
    f(
        id::DISTRICT_CODE,
        Text,
        Public,
        "GB/T 2260 code of the county-level division",
    ),
    f(id::LEVEL, Text, Public, "door | building | room"),
    f(
        id::PARENT_ID,
        Text,
        Internal,
        "golden id of the place one level up",
    ),
    f(
        id::REGISTERED,
        Text,
        Internal,
        "true when the standard address registry holds the place",
    ),
];

/// Fields of a house.
pub const HOUSE: &[FieldSpec] = &[
    f(
        id::ADDRESS,
        Address,
        Personal,
        "where the house is (房屋坐落); parts under address.*",
    ),
    f(
        id::OWNER_NAME,
        PersonName,
        Personal,
        "name of the owner (权利人)",
    ),
    f(
        id::OWNER_ID,
        ResidentId,
        Sensitive,
        "resident ID of the owner",
    ),
    f(id::FLOOR_AREA, Number, Internal, "floor area in m²"),
    f(id::USAGE, Text, Internal, "planned use (规划用途)"),
    f(
        id::REGISTERED_DATE,
        Date,
        Internal,
        "date of registration, YYYY-MM-DD",
    ),
    f(
        id::PLACE_ID,
        Text,
        Internal,
        "golden id of the room the house is",
    ),
];

/// Fields of an event (an incident and each of its reports).
pub const EVENT: &[FieldSpec] = &[
    f(
        id::CATEGORY,
        Text,
        Internal,
        "kind of problem; an incident holds the common category of [events] categories",
    ),
    f(
        id::REPORTED_AT,
        DateTime,
        Internal,
        "when it was reported, YYYY-MM-DDTHH:MM:SS",
    ),
    f(
        id::REPORTER_NAME,
        PersonName,
        Personal,
        "the resident who reported it or is concerned by it (caller, 当事人)",
    ),
    f(
        id::REPORTER_PHONE,
        Phone,
        Personal,
        "the reporting resident's phone",
    ),
    f(
        id::REPORTER_ID,
        ResidentId,
        Sensitive,
        "the reporting resident's resident ID",
    ),
    f(
        id::ADDRESS,
        Address,
        Personal,
        "where it happened, as written; parts under address.*",
    ),
    f(
        id::DESCRIPTION,
        Text,
        Personal,
        "what was reported, free text",
    ),
    f(
        id::HANDLER,
        Text,
        Internal,
        "who took or handles it (office, grid worker)",
    ),
    f(id::STATUS, Text, Internal, "handling status"),
    f(
        id::PLACE_ID,
        Text,
        Internal,
        "golden id of the place, at the level the reports name",
    ),
    f(
        id::REPORTS,
        Text,
        Internal,
        "number of reports of the incident",
    ),
    f(
        id::BUILDING_ID,
        Text,
        Internal,
        "golden id of the building the incident happened in or at (none when only its door is known)",
    ),
];

/// Fields a resolution sets (a place's level and parent, where a house or incident is): in
/// the catalogue for their classification, never a mapping's target.
pub const RESOLVED: &[&str] = &[
    id::LEVEL,
    id::PARENT_ID,
    id::REGISTERED,
    id::PLACE_ID,
    id::REPORTS,
    id::BUILDING_ID,
];

/// Fields derived by validation rather than mapped from a column.
pub const DERIVED: &[(&str, &str)] = &[(
    id::ORG_CODE,
    "GB 11714 organisation code from the credit code or old tax number",
)];

pub fn fields(entity: EntityKind) -> &'static [FieldSpec] {
    match entity {
        EntityKind::Person => PERSON,
        EntityKind::Organization => ORGANIZATION,
        EntityKind::Place => PLACE,
        EntityKind::House => HOUSE,
        EntityKind::Event => EVENT,
    }
}

/// Looks up a mapping target: a field name, or `address.<part>`.
pub fn spec(entity: EntityKind, target: &str) -> Option<FieldSpec> {
    if let Some(part) = target.strip_prefix("address.") {
        let addr = fields(entity).iter().find(|s| s.name == id::ADDRESS)?;
        return crate::address::AddressPart::parse(part).map(|_| FieldSpec {
            name: addr.name,
            kind: FieldKind::AddressPart,
            classification: addr.classification,
            doc: "one part of the address",
        });
    }
    fields(entity).iter().find(|s| s.name == target).copied()
}
