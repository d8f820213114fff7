//! The catalogue of unified fields: for each entity kind, which fields exist, how their values
//! are validated, and how they are classified. Field ids are the constants of [`id`]; code
//! names a field through them, never as a string of its own. `schemas/*.avsc` carry the same
//! classifications; a test in `tombolo-publish` keeps the two in step.

use crate::{Classification, EntityKind};

/// The ids of the unified fields, as mapping targets, golden records and `schemas/*.avsc` name
/// them. What each holds and how it is classified is in [`PERSON`] and [`ORGANIZATION`].
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

/// Fields derived by validation rather than mapped from a column.
pub const DERIVED: &[(&str, &str)] = &[(
    id::ORG_CODE,
    "GB 11714 organisation code from the credit code or old tax number",
)];

pub fn fields(entity: EntityKind) -> &'static [FieldSpec] {
    match entity {
        EntityKind::Person => PERSON,
        EntityKind::Organization => ORGANIZATION,
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
