//! Mainland China phone numbers.

use crate::text::nfkc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phone {
    /// 11-digit mobile number, e.g. `13800138000`.
    Mobile(String),
    /// Landline with area code, e.g. `0551-62345678`.
    Landline(String),
}

impl Phone {
    /// Canonical text form.
    pub fn as_str(&self) -> &str {
        match self {
            Phone::Mobile(s) | Phone::Landline(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    #[error("empty")]
    Empty,
    #[error("character {0:?} not allowed in a phone number")]
    Character(char),
    #[error("{0} digits is not a mainland mobile or landline number")]
    Shape(usize),
    #[error("placeholder number")]
    Placeholder,
}

/// Area codes with 3 digits: Beijing 010 and the 02x group; all others have 4.
fn area_code_len(digits: &str) -> usize {
    if digits.starts_with("010") || digits.starts_with("02") {
        3
    } else {
        4
    }
}

/// Reads a phone in the forms people type it: `+86 138 0013 8000`, `86-13800138000`,
/// `0086 138…`, full-width digits, `(0551) 6234-5678`, `0551-62345678`.
pub fn parse_phone(input: &str) -> Result<Phone, PhoneError> {
    let s = nfkc(input);
    let mut digits = String::with_capacity(s.len());
    for (i, c) in s.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' | '.' | '\u{3000}' => {}
            _ => return Err(PhoneError::Character(c)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    // Strip the country code.
    // A 13-digit number starting 86 is 86 + a mobile; 12 digits starting 86 (not 860) is
    // 86 + an area code without its 0 + a local number.
    let national = if let Some(rest) = digits.strip_prefix("0086") {
        rest
    } else if digits.len() >= 12 && digits.starts_with("86") && !digits.starts_with("860") {
        &digits[2..]
    } else {
        &digits
    };
    if national.is_empty() {
        return Err(PhoneError::Empty);
    }
    let first = national.as_bytes()[0];
    if national.len() > 3 && national.bytes().all(|b| b == first) {
        return Err(PhoneError::Placeholder);
    }
    if national.len() == 11
        && national.starts_with('1')
        && matches!(national.as_bytes()[1], b'3'..=b'9')
    {
        return Ok(Phone::Mobile(national.to_owned()));
    }
    // A landline: area code 0xx(x) + 7 or 8 digits; after +86 the leading 0 is dropped.
    let with_zero = if national.starts_with('0') {
        national.to_owned()
    } else {
        format!("0{national}")
    };
    let area = area_code_len(&with_zero);
    let local = with_zero.len().saturating_sub(area);
    if (national.starts_with('0') || national.len() != digits.len()) && (7..=8).contains(&local) {
        return Ok(Phone::Landline(format!(
            "{}-{}",
            &with_zero[..area],
            &with_zero[area..]
        )));
    }
    Err(PhoneError::Shape(national.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_forms() {
        for s in [
            "13800138000",
            "+86 138 0013 8000",
            "138-0013-8000",
            "8613800138000",
            "0086 13800138000",
            "１３８００１３８０００",
            "+86-138-0013-8000",
        ] {
            assert_eq!(
                parse_phone(s),
                Ok(Phone::Mobile("13800138000".into())),
                "{s}"
            );
        }
    }

    #[test]
    fn landline_forms() {
        assert_eq!(
            parse_phone("0551-62345678"),
            Ok(Phone::Landline("0551-62345678".into()))
        );
        assert_eq!(
            parse_phone("(0551) 6234 5678"),
            Ok(Phone::Landline("0551-62345678".into()))
        );
        assert_eq!(
            parse_phone("010-12345678"),
            Ok(Phone::Landline("010-12345678".into()))
        );
        assert_eq!(
            parse_phone("+86 10 12345678"),
            Ok(Phone::Landline("010-12345678".into()))
        );
    }

    #[test]
    fn bad_phones() {
        assert_eq!(parse_phone(""), Err(PhoneError::Empty));
        assert_eq!(parse_phone("12345"), Err(PhoneError::Shape(5)));
        assert_eq!(parse_phone("11111111111"), Err(PhoneError::Placeholder));
        assert_eq!(parse_phone("138a0013800"), Err(PhoneError::Character('a')));
        assert_eq!(parse_phone("12800138000"), Err(PhoneError::Shape(11)));
    }
}
