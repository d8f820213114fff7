//! Resident identity card numbers, GB 11643-1999.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::compact_ascii;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// A valid resident ID number with what it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    /// The 18-character form, check character upper-case.
    pub id18: String,
    /// The 6-digit GB/T 2260 division code of first registration.
    pub region: String,
    pub birth: NaiveDate,
    pub sex: Sex,
    /// The input was a pre-1999 15-digit number, upgraded to 18 characters.
    pub from_15: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    #[error("empty")]
    Empty,
    #[error("length {0}, expected 15 or 18 characters")]
    Length(usize),
    #[error("character {0:?} not allowed")]
    Character(char),
    #[error("birth date {0} is not a real date")]
    BirthDate(String),
    #[error("check character is {found}, expected {expected}")]
    Checksum { expected: char, found: char },
    #[error("placeholder number")]
    Placeholder,
    #[error("division code {0} is not a GB/T 2260 code")]
    Region(String),
}

/// The GB 11643 check character of the first 17 digits.
pub fn check_char(body17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0;
    for (c, w) in body17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
        n += 1;
    }
    (n == 17).then(|| CHECK[(sum % 11) as usize])
}

/// Validates a resident ID number in any of the forms departments type it (full-width digits,
/// lower-case `x`, spaces), upgrading 15-digit numbers to 18 characters.
pub fn parse_resident_id(input: &str) -> Result<ResidentId, IdError> {
    let s = compact_ascii(input);
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    let len = s.chars().count();
    if len != 15 && len != 18 {
        return Err(IdError::Length(len));
    }
    for (i, c) in s.chars().enumerate() {
        let ok = c.is_ascii_digit() || (i == 17 && c == 'X');
        if !ok {
            return Err(IdError::Character(c));
        }
    }
    let first = s.as_bytes()[0];
    if s.bytes().all(|b| b == first) || s.starts_with("000000") {
        return Err(IdError::Placeholder);
    }
    let (id18, from_15) = if len == 15 {
        let body = format!("{}19{}", &s[..6], &s[6..15]);
        let check = check_char(&body).ok_or(IdError::Character('?'))?;
        (format!("{body}{check}"), true)
    } else {
        let expected = check_char(&s[..17]).ok_or(IdError::Character('?'))?;
        let found = s.chars().nth(17).unwrap_or(' ');
        if expected != found {
            return Err(IdError::Checksum { expected, found });
        }
        (s, false)
    };
    let region = &id18[..6];
    let province: u32 = region[..2].parse().unwrap_or(0);
    if !(11..=82).contains(&province) {
        return Err(IdError::Region(region.to_owned()));
    }
    let birth_text = &id18[6..14];
    let birth = NaiveDate::parse_from_str(birth_text, "%Y%m%d")
        .ok()
        .filter(|d| d.year() >= 1800 && *d <= chrono::Local::now().date_naive())
        .ok_or_else(|| IdError::BirthDate(birth_text.to_owned()))?;
    let seq_last = id18.as_bytes()[16] - b'0';
    let sex = if seq_last % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(ResidentId {
        region: region.to_owned(),
        id18,
        birth,
        sex,
        from_15,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_vectors_are_valid() {
        let id = parse_resident_id("11010519491231002X").unwrap();
        assert_eq!(id.birth, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.sex, Sex::Female);
        let id = parse_resident_id("440524188001010014").unwrap();
        assert_eq!(id.birth, NaiveDate::from_ymd_opt(1880, 1, 1).unwrap());
        assert_eq!(id.sex, Sex::Male);
        assert_eq!(id.region, "440524");
    }

    #[test]
    fn accepts_the_forms_people_type() {
        let want = "11010519491231002X";
        for input in [
            "11010519491231002x",
            " 110105 19491231 002X ",
            "１１０１０５１９４９１２３１００２Ｘ",
        ] {
            assert_eq!(parse_resident_id(input).unwrap().id18, want, "{input}");
        }
    }

    #[test]
    fn upgrades_15_digits() {
        // 15-digit form of 11010519491231002X: no century, no check character.
        let id = parse_resident_id("110105491231002").unwrap();
        assert_eq!(id.id18, "11010519491231002X");
        assert!(id.from_15);
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(parse_resident_id(""), Err(IdError::Empty));
        assert_eq!(
            parse_resident_id("000000000000000000"),
            Err(IdError::Placeholder)
        );
        assert_eq!(parse_resident_id("1101051949"), Err(IdError::Length(10)));
        assert!(matches!(
            parse_resident_id("110105194912310021"),
            Err(IdError::Checksum { .. })
        ));
        assert!(matches!(
            parse_resident_id("110105194913310025"),
            Err(IdError::BirthDate(_)) | Err(IdError::Checksum { .. })
        ));
        assert!(matches!(
            parse_resident_id("11010519491231002A"),
            Err(IdError::Character('A'))
        ));
    }

    fn valid_id() -> impl Strategy<Value = String> {
        (11u32..=65, 0u32..10000, 0i64..35000, 0u32..1000).prop_map(|(p, r, days, seq)| {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let body = format!("{p:02}{r:04}{}{seq:03}", birth.format("%Y%m%d"));
            let check = check_char(&body).unwrap();
            format!("{body}{check}")
        })
    }

    proptest! {
        #[test]
        fn random_valid_ids_pass(id in valid_id()) {
            prop_assert_eq!(parse_resident_id(&id).unwrap().id18, id);
        }

        #[test]
        fn single_substitutions_fail(id in valid_id(), pos in 0usize..18, delta in 1u32..10) {
            let mut chars: Vec<char> = id.chars().collect();
            let old = chars[pos];
            let new = if pos == 17 {
                // the check position: any other allowed character
                let all = ['0','1','2','3','4','5','6','7','8','9','X'];
                let i = all.iter().position(|&c| c == old).unwrap();
                all[(i + delta as usize) % 11]
            } else {
                char::from_digit((old.to_digit(10).unwrap() + delta) % 10, 10).unwrap()
            };
            chars[pos] = new;
            let corrupted: String = chars.into_iter().collect();
            prop_assert!(parse_resident_id(&corrupted).is_err(), "{} accepted", corrupted);
        }

        #[test]
        fn adjacent_transpositions_fail(id in valid_id(), pos in 0usize..16) {
            let mut chars: Vec<char> = id.chars().collect();
            prop_assume!(chars[pos] != chars[pos + 1]);
            chars.swap(pos, pos + 1);
            let corrupted: String = chars.into_iter().collect();
            prop_assert!(parse_resident_id(&corrupted).is_err(), "{} accepted", corrupted);
        }
    }
}
