//! Unified Social Credit Codes (GB 32100-2015) with their embedded organisation codes
//! (GB 11714-1997), and pre-2015 tax registration numbers.

use super::compact_ascii;

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A valid credit code, or the organisation code recovered from an old tax number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode {
    /// The 18-character code; `None` when only an old tax number was given.
    pub code: Option<String>,
    /// The 9-character GB 11714 organisation code (characters 9–17 of a credit code).
    pub org_code: String,
    /// The 6-digit administrative division code.
    pub division: String,
    /// Whether the embedded organisation code passes its own GB 11714 check (codes issued to
    /// bodies that never had an organisation code may not).
    pub org_code_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreditCodeError {
    #[error("empty")]
    Empty,
    #[error("length {0}, expected 18 characters (or 15 for an old tax number)")]
    Length(usize),
    #[error("character {0:?} not allowed")]
    Character(char),
    #[error("check character is {found}, expected {expected}")]
    Checksum { expected: char, found: char },
    #[error("division code {0} is not numeric")]
    Division(String),
    #[error("organisation code {0} fails its GB 11714 check")]
    OrgCode(String),
}

fn value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// The GB 32100 check character of the first 17 characters.
pub fn check_char(body17: &str) -> Option<char> {
    let mut sum = 0;
    let mut n = 0;
    for (c, w) in body17.chars().zip(WEIGHTS) {
        sum += value(c)? * w;
        n += 1;
    }
    if n != 17 {
        return None;
    }
    ALPHABET.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// The GB 11714 check character of an organisation code's first 8 characters.
pub fn org_check_char(body8: &str) -> Option<char> {
    let mut sum = 0;
    let mut n = 0;
    for (c, w) in body8.chars().zip(ORG_WEIGHTS) {
        let v = match c {
            '0'..='9' => c.to_digit(10)?,
            'A'..='Z' => c as u32 - 55,
            _ => return None,
        };
        sum += v * w;
        n += 1;
    }
    if n != 8 {
        return None;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10)?,
    })
}

fn org_code_ok(code9: &str) -> bool {
    code9.len() == 9 && org_check_char(&code9[..8]) == code9.chars().nth(8)
}

/// Validates a Unified Social Credit Code.
pub fn parse_credit_code(input: &str) -> Result<CreditCode, CreditCodeError> {
    let s = compact_ascii(input);
    if s.is_empty() {
        return Err(CreditCodeError::Empty);
    }
    let len = s.chars().count();
    if len != 18 {
        return Err(CreditCodeError::Length(len));
    }
    if let Some(c) = s.chars().find(|&c| value(c).is_none()) {
        return Err(CreditCodeError::Character(c));
    }
    let expected = check_char(&s[..17]).ok_or(CreditCodeError::Character('?'))?;
    let found = s.chars().nth(17).unwrap_or(' ');
    if expected != found {
        return Err(CreditCodeError::Checksum { expected, found });
    }
    let division = s[2..8].to_owned();
    if !division.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CreditCodeError::Division(division));
    }
    let org_code = s[8..17].to_owned();
    Ok(CreditCode {
        org_code_valid: org_code_ok(&org_code),
        org_code,
        division,
        code: Some(s),
    })
}

/// Reads a tax registration number: an 18-character credit code (taxpayers registered since
/// 2015), or a pre-2015 15-character number made of a 6-digit division code and the 9-character
/// organisation code, whose organisation code must pass its check.
pub fn parse_tax_number(input: &str) -> Result<CreditCode, CreditCodeError> {
    let s = compact_ascii(input);
    match s.chars().count() {
        0 => Err(CreditCodeError::Empty),
        18 => parse_credit_code(&s),
        15 => {
            // Only ASCII letters and digits are sliced below (a multi-byte character would
            // put a slice inside it: found by the fuzzer).
            if let Some(c) = s
                .chars()
                .find(|c| !c.is_ascii_digit() && !c.is_ascii_uppercase())
            {
                return Err(CreditCodeError::Character(c));
            }
            let division = &s[..6];
            if !division.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CreditCodeError::Division(division.to_owned()));
            }
            let org_code = &s[6..];
            if let Some(c) = org_code
                .chars()
                .find(|c| !c.is_ascii_digit() && !c.is_ascii_uppercase())
            {
                return Err(CreditCodeError::Character(c));
            }
            if !org_code_ok(org_code) {
                return Err(CreditCodeError::OrgCode(org_code.to_owned()));
            }
            Ok(CreditCode {
                code: None,
                org_code: org_code.to_owned(),
                division: division.to_owned(),
                org_code_valid: true,
            })
        }
        n => Err(CreditCodeError::Length(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_vector_is_valid() {
        let c = parse_credit_code("914403001922038216").unwrap();
        assert_eq!(c.org_code, "192203821");
        assert_eq!(c.division, "440300");
        assert!(c.org_code_valid);
        assert!(parse_credit_code(" 9144 0300 1922 0382 16 ").is_ok());
    }

    #[test]
    fn rejects_corruptions() {
        assert!(matches!(
            parse_credit_code("914403001922038217"),
            Err(CreditCodeError::Checksum { .. })
        ));
        assert!(matches!(
            parse_credit_code("91440300192203821I"),
            Err(CreditCodeError::Character('I'))
        ));
        assert!(matches!(
            parse_credit_code("9144030019220382"),
            Err(CreditCodeError::Length(16))
        ));
    }

    #[test]
    fn old_tax_number_yields_org_code() {
        let t = parse_tax_number("440300192203821").unwrap();
        assert_eq!(t.org_code, "192203821");
        assert_eq!(t.code, None);
        assert!(parse_tax_number("440300192203822").is_err());
        assert_eq!(
            parse_tax_number("914403001922038216").unwrap().org_code,
            "192203821"
        );
    }

    fn valid_code() -> impl Strategy<Value = String> {
        let ch = proptest::sample::select(ALPHABET.chars().collect::<Vec<_>>());
        (proptest::collection::vec(ch.clone(), 8), 110000u32..660000).prop_map(|(org8, div)| {
            let org8: String = org8.into_iter().collect();
            let org9 = match org_check_char(&org8) {
                Some(c) => format!("{org8}{c}"),
                None => format!("{org8}0"),
            };
            let body = format!("91{div}{org9}");
            format!("{body}{}", check_char(&body).unwrap())
        })
    }

    #[test]
    fn a_15_character_tax_number_with_chinese_characters_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_tax_number("8997层单幢日趙趙Ѩ𐁍COD"),
            Err(CreditCodeError::Character('层'))
        ));
    }

    proptest! {
        #[test]
        fn random_valid_codes_pass(code in valid_code()) {
            prop_assert_eq!(parse_credit_code(&code).unwrap().code, Some(code));
        }

        #[test]
        fn single_substitutions_fail(code in valid_code(), pos in 0usize..18, delta in 1usize..31) {
            let mut chars: Vec<char> = code.chars().collect();
            let i = ALPHABET.find(chars[pos]).unwrap();
            chars[pos] = ALPHABET.chars().nth((i + delta) % 31).unwrap();
            let corrupted: String = chars.into_iter().collect();
            prop_assert!(parse_credit_code(&corrupted).is_err(), "{} accepted", corrupted);
        }
    }
}
