//! Validators. Each returns the canonical form of a valid value, or a typed reason why the
//! value is invalid; the reason's text is what the operator sees on the record.

pub mod address;
pub mod credit_code;
pub mod date;
pub mod phone;
pub mod resident_id;

pub use address::{parse_address, Place};
pub use credit_code::{parse_credit_code, parse_tax_number, CreditCode, CreditCodeError};
pub use date::{parse_date, DateError};
pub use phone::{parse_phone, Phone, PhoneError};
pub use resident_id::{parse_resident_id, IdError, ResidentId, Sex};

/// Upper-cased ASCII form of an identifier: NFKC (full-width → ASCII), no spaces, dashes or
/// dots in between.
pub(crate) fn compact_ascii(s: &str) -> String {
    crate::text::nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '_' | '\u{3000}'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
