//! The catalogue of unified fields: for each entity kind, which fields exist, how their values
//! are validated, and how they are classified. `schemas/*.avsc` carry the same classifications;
//! a test in `tombolo-publish` keeps the two in step.

use tombolo_core::{Classification, EntityKind};

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
        "name",
        PersonName,
        Personal,
        "full name, Simplified characters",
    ),
    f(
        "sex",
        Code,
        Personal,
        "male | female | unknown | unspecified (GB/T 2261.1)",
    ),
    f("birth_date", Date, Personal, "date of birth, YYYY-MM-DD"),
    f(
        "resident_id",
        ResidentId,
        Sensitive,
        "18-character resident ID number (GB 11643)",
    ),
    f(
        "phone",
        Phone,
        Personal,
        "mobile (11 digits) or landline (area-local)",
    ),
    f(
        "marital_status",
        Code,
        Personal,
        "unmarried | married | divorced | widowed (GB/T 2261.2)",
    ),
    f(
        "address",
        Address,
        Sensitive,
        "residential address as one line; parts under address.*",
    ),
    f(
        "employer_name",
        OrgName,
        Personal,
        "name of the employer as the source gives it",
    ),
    f(
        "employer_credit_code",
        CreditCode,
        Internal,
        "credit code of the employer",
    ),
];

/// Fields of an organisation.
pub const ORGANIZATION: &[FieldSpec] = &[
    f("name", OrgName, Public, "registered name"),
    f(
        "credit_code",
        CreditCode,
        Public,
        "Unified Social Credit Code (GB 32100)",
    ),
    f(
        "tax_number",
        TaxNumber,
        Internal,
        "tax registration number as registered (old 15-character form or credit code)",
    ),
    f(
        "legal_rep",
        PersonName,
        Personal,
        "name of the legal representative",
    ),
    f(
        "address",
        Address,
        Public,
        "registered address as one line; parts under address.*",
    ),
    f(
        "founded_date",
        Date,
        Public,
        "date of establishment, YYYY-MM-DD",
    ),
    f(
        "status",
        Code,
        Public,
        "registration status: active | deregistered | revoked | …",
    ),
];

/// Fields derived by validation rather than mapped from a column.
pub const DERIVED: &[(&str, &str)] = &[(
    "org_code",
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
        let addr = fields(entity).iter().find(|s| s.name == "address")?;
        return crate::validate::address::PARTS
            .contains(&part)
            .then_some(FieldSpec {
                name: addr.name,
                kind: AddressPart,
                classification: addr.classification,
                doc: "one part of the address",
            });
    }
    fields(entity).iter().find(|s| s.name == target).copied()
}
