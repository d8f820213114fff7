//! Validators. Each returns the canonical form of a valid value, or a typed reason why the
//! value is invalid; the reason's text is what the operator sees on the record.

pub mod address;
pub mod credit_code;
pub mod date;
pub mod phone;
pub mod resident_id;

pub use address::{parse_address, Place};
pub use credit_code::{parse_credit_code, parse_tax_number, CreditCode, CreditCodeError};
pub use date::{parse_date, parse_datetime, DateError};
pub use phone::{parse_phone, Phone, PhoneError};
pub use resident_id::{parse_resident_id, IdError, ResidentId, Sex};

/// A number as written in a register (`89.5`, `８９．５㎡`, `1,024.00 平方米`): NFKC, thousands
/// separators, spaces and a unit after it removed; `None` when no number is left.
pub fn parse_number(input: &str) -> Option<String> {
    // NFKC makes `㎡` and `m²` both `m2`.
    let s = crate::text::nfkc(input).replace([',', ' ', '\u{3000}'], "");
    let s = ["平方米", "m2", "米2"]
        .iter()
        .fold(s.as_str(), |s, unit| s.strip_suffix(unit).unwrap_or(s));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())?;
    // The value as written (trailing zeros after the point dropped), not re-rendered.
    let t = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    };
    Some(t.to_owned())
}

/// Upper-cased ASCII form of an identifier: NFKC (full-width → ASCII), no spaces, dashes or
/// dots in between.
pub(crate) fn compact_ascii(s: &str) -> String {
    crate::text::nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '_' | '\u{3000}'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_with_units_and_separators() {
        assert_eq!(parse_number("89.50").as_deref(), Some("89.5"));
        assert_eq!(parse_number("８９．５㎡").as_deref(), Some("89.5"));
        assert_eq!(parse_number("1,024.00 平方米").as_deref(), Some("1024"));
        assert_eq!(parse_number("102").as_deref(), Some("102"));
        assert_eq!(parse_number("102m²").as_deref(), Some("102"));
        assert_eq!(parse_number("约90"), None);
        assert_eq!(parse_number("-5"), None);
        assert_eq!(parse_number(".."), None);
    }
}
