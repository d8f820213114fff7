//! People for the probabilistic engine: the prepared form of a person record (cleaned name, its
//! Simplified form and pinyin computed once), its comparisons, blocking keys and training
//! sessions.

use tombolo_normalize::text::t2s;

use crate::compare::{
    self, pinyin_key, Comparison, Parts, ADDRESS, ADDRESS_FIELDS, ADDRESS_PARTS, BIRTH_DATE, NAME,
    PHONE, RESIDENT_ID, SEX,
};
use crate::fellegi_sunter::schema::{Gamma, Schema, Session, MISSING};
use crate::Record;
use tombolo_core::fields::id;

const COMPARISONS: [Comparison; 6] = [NAME, BIRTH_DATE, RESIDENT_ID, PHONE, ADDRESS, SEX];

/// The blocking rules, in order.
pub const RULES: [&str; 6] = [
    id::RESIDENT_ID,
    "surname+birth_date",
    "pinyin+birth_year",
    id::PHONE,
    "name+community+building",
    "pinyin+building+room",
];

/// A name's Simplified form and its pinyin (what preparing a record computes from the name).
pub fn name_forms(name: &str) -> (String, String) {
    let simplified = t2s(name);
    let pinyin = pinyin_key(&simplified);
    (simplified, pinyin)
}

/// Slots of a prepared record: the values compared, then the address parts.
const NAME_: usize = 0;
const SIMPLIFIED: usize = 1;
const PINYIN: usize = 2;
const BIRTH_DATE_: usize = 3;
const RESIDENT_ID_: usize = 4;
const PHONE_: usize = 5;
const SEX_: usize = 6;
const ADDRESS_AT: usize = 7;
const SLOTS: usize = ADDRESS_AT + ADDRESS_PARTS.len();

/// A person record prepared for comparison: its cleaned name with the Simplified form and
/// pinyin computed once, the compared fields and the address parts, all in one string with
/// their end offsets (a million prepared records take a few hundred bytes each).
#[derive(Debug, Clone, Default)]
pub struct PersonRec {
    text: Box<str>,
    /// End of each slot in `text`; a slot is present when its bit is set in `present`.
    ends: [u32; SLOTS],
    present: u32,
    /// The ID was converted from a legacy 15-digit ID (its check character is computed).
    pub id_from_15: bool,
    /// The ID can serve as a hard identifier: typed with its check character and consistent
    /// with the record's own birth date and sex.
    pub id_verified: bool,
}

impl PersonRec {
    pub fn prepare(r: &Record) -> Self {
        Self::prepare_with(r, &name_forms)
    }

    /// [`prepare`](Self::prepare) with the name's Simplified form and pinyin from `forms`
    /// (a cache: many records share a name).
    pub fn prepare_with(r: &Record, forms: &dyn Fn(&str) -> (String, String)) -> Self {
        let get = |f: &str| r.get(f).filter(|v| !v.is_empty());
        let name = get(id::NAME);
        let (simplified, pinyin) = match name.map(forms) {
            Some((s, p)) => (Some(s), Some(p)),
            None => (None, None),
        };
        let mut slots: [Option<&str>; SLOTS] = [None; SLOTS];
        let address: Vec<Option<&str>> = ADDRESS_FIELDS.iter().map(|f| get(f)).collect();
        slots[NAME_] = name;
        slots[SIMPLIFIED] = simplified.as_deref();
        slots[PINYIN] = pinyin.as_deref();
        slots[BIRTH_DATE_] = get(id::BIRTH_DATE);
        slots[RESIDENT_ID_] = get(id::RESIDENT_ID);
        slots[PHONE_] = get(id::PHONE);
        slots[SEX_] = get(id::SEX);
        slots[ADDRESS_AT..].copy_from_slice(&address);
        let id_from_15 = r.derived.iter().any(|d| d == "resident_id:from_15");
        // A cross-field conflict (no raw value) casts doubt on the ID it was checked against.
        let conflict = r.issues.iter().any(|i| i.raw.is_none());
        let id_verified = slots[RESIDENT_ID_].is_some() && !id_from_15 && !conflict;
        let mut text = String::with_capacity(slots.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [0u32; SLOTS];
        let mut present = 0u32;
        for (i, v) in slots.iter().enumerate() {
            if let Some(v) = v {
                text.push_str(v);
                present |= 1 << i;
            }
            ends[i] = text.len() as u32;
        }
        Self {
            text: text.into_boxed_str(),
            ends,
            present,
            id_from_15,
            id_verified,
        }
    }

    fn slot(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize)
    }

    pub fn name(&self) -> Option<&str> {
        self.slot(NAME_)
    }

    /// The name in Simplified characters.
    pub fn simplified(&self) -> Option<&str> {
        self.slot(SIMPLIFIED)
    }

    /// Pinyin syllables of the Simplified name, space-separated.
    pub fn pinyin(&self) -> Option<&str> {
        self.slot(PINYIN)
    }

    pub fn birth_date(&self) -> Option<&str> {
        self.slot(BIRTH_DATE_)
    }

    pub fn resident_id(&self) -> Option<&str> {
        self.slot(RESIDENT_ID_)
    }

    pub fn phone(&self) -> Option<&str> {
        self.slot(PHONE_)
    }

    pub fn sex(&self) -> Option<&str> {
        self.slot(SEX_)
    }

    fn address_text(&self) -> Option<String> {
        let parts: Vec<String> = ADDRESS_PARTS
            .iter()
            .enumerate()
            .filter_map(|(i, p)| self.slot(ADDRESS_AT + i).map(|v| format!("{p}={v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl Parts for PersonRec {
    fn part(&self, name: &str) -> Option<&str> {
        ADDRESS_PARTS
            .iter()
            .position(|p| *p == name)
            .and_then(|i| self.slot(ADDRESS_AT + i))
    }
}

/// Names with their prepared forms: exact; equal in Simplified; same pinyin, same length
/// (a homophone); Jaro-Winkler of the pinyin at least 0.9; different.
pub fn name_level(a: &PersonRec, b: &PersonRec) -> Option<usize> {
    let (na, nb) = (a.name()?, b.name()?);
    if na == nb {
        return Some(0);
    }
    let (sa, sb) = (a.simplified()?, b.simplified()?);
    if sa == sb {
        return Some(1);
    }
    let (pa, pb) = (a.pinyin()?, b.pinyin()?);
    if pa == pb && sa.chars().count() == sb.chars().count() {
        return Some(2);
    }
    Some(if strsim::jaro_winkler(pa, pb) >= 0.9 {
        3
    } else {
        4
    })
}

/// The person schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonSchema;

fn level(l: Option<usize>) -> u8 {
    l.map_or(MISSING, |l| l as u8)
}

impl Schema for PersonSchema {
    type Rec = PersonRec;

    fn comparisons(&self) -> &[Comparison] {
        &COMPARISONS
    }

    fn gamma(&self, a: &PersonRec, b: &PersonRec) -> Gamma {
        let mut g = [MISSING; 8];
        g[0] = level(name_level(a, b));
        g[1] = level(compare::birth_date(a.birth_date(), b.birth_date()));
        g[2] = level(compare::resident_id(
            a.resident_id(),
            a.id_from_15,
            b.resident_id(),
            b.id_from_15,
        ));
        g[3] = level(compare::phone(a.phone(), b.phone()));
        g[4] = level(compare::address(a, b));
        g[5] = level(compare::sex(a.sex(), b.sex()));
        g
    }

    fn keys(&self, r: &PersonRec) -> Vec<(&'static str, String)> {
        let mut keys = Vec::with_capacity(6);
        let (name, pinyin, birth) = (r.simplified(), r.pinyin(), r.birth_date());
        if let Some(id) = r.resident_id() {
            keys.push((RULES[0], id.to_owned()));
        }
        if let (Some(n), Some(b)) = (name, birth) {
            if let Some(surname) = n.chars().next() {
                keys.push((RULES[1], format!("{surname}|{b}")));
            }
        }
        if let (Some(p), Some(b)) = (pinyin, birth) {
            keys.push((RULES[2], format!("{p}|{}", b.get(..4).unwrap_or(b))));
        }
        if let Some(p) = r.phone() {
            keys.push((RULES[3], p.to_owned()));
        }
        let (community, building, room) = (r.part("community"), r.part("building"), r.part("room"));
        if let (Some(n), Some(c), Some(b)) = (name, community, building) {
            keys.push((RULES[4], format!("{n}|{c}|{b}")));
        }
        // Sources that write the address without its community still share the dwelling.
        if let (Some(p), Some(b), Some(room)) = (pinyin, building, room) {
            keys.push((RULES[5], format!("{p}|{b}|{room}")));
        }
        keys
    }

    fn sessions(&self) -> &[Session] {
        const S: [Session; 3] = [
            // The resident ID also fixes the birth date and sex it encodes.
            Session {
                rule: "resident_id",
                fixes: &[id::RESIDENT_ID, id::BIRTH_DATE, id::SEX],
            },
            Session {
                rule: "surname+birth_date",
                fixes: &[id::NAME, id::BIRTH_DATE],
            },
            Session {
                rule: "phone",
                fixes: &[id::PHONE],
            },
        ];
        &S
    }

    fn anchor(&self) -> Option<(&'static str, &'static str)> {
        Some((id::RESIDENT_ID, id::RESIDENT_ID))
    }

    fn hard_id<'a>(&self, r: &'a PersonRec) -> Option<&'a str> {
        r.resident_id().filter(|_| r.id_verified)
    }

    fn tf_field(&self) -> Option<&'static str> {
        Some(id::NAME)
    }

    fn tf_value<'a>(&self, r: &'a PersonRec) -> Option<&'a str> {
        r.simplified()
    }

    fn show(&self, r: &PersonRec, comparison: usize) -> Option<String> {
        match comparison {
            0 => r.name().map(str::to_owned),
            1 => r.birth_date().map(str::to_owned),
            2 => r.resident_id().map(str::to_owned),
            3 => r.phone().map(str::to_owned),
            4 => r.address_text(),
            5 => r.sex().map(str::to_owned),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linking::tests::person;

    fn rec(pairs: &[(&str, &str)]) -> PersonRec {
        PersonRec::prepare(&person("s", "k", pairs).record)
    }

    #[test]
    fn name_levels_use_prepared_forms() {
        let a = rec(&[("name", "张伟")]);
        assert_eq!(name_level(&a, &rec(&[("name", "张伟")])), Some(0));
        assert_eq!(name_level(&a, &rec(&[("name", "張偉")])), Some(1));
        assert_eq!(name_level(&a, &rec(&[("name", "张玮")])), Some(2));
        assert_eq!(
            name_level(&rec(&[("name", "欧阳娜娜")]), &rec(&[("name", "欧阳娜")])),
            Some(3)
        );
        assert_eq!(name_level(&a, &rec(&[("name", "李娜")])), Some(4));
        assert_eq!(name_level(&a, &rec(&[])), None);
    }

    #[test]
    fn keys_tolerate_traditional_characters() {
        let a = rec(&[("name", "張偉"), ("birth_date", "1990-01-02")]);
        let b = rec(&[("name", "张伟"), ("birth_date", "1990-01-02")]);
        let (ka, kb) = (PersonSchema.keys(&a), PersonSchema.keys(&b));
        assert_eq!(ka, kb);
        assert!(ka.contains(&("pinyin+birth_year", "zhang wei|1990".to_owned())));
    }

    #[test]
    fn only_verified_ids_are_hard_identifiers() {
        let typed = rec(&[("resident_id", "11010519491231002X")]);
        assert_eq!(PersonSchema.hard_id(&typed), Some("11010519491231002X"));
        let mut legacy = person("s", "k", &[("resident_id", "11010519491231002X")]);
        legacy.record.derived.push("resident_id:from_15".into());
        assert_eq!(
            PersonSchema.hard_id(&PersonRec::prepare(&legacy.record)),
            None
        );
        let mut conflicting = person("s", "k", &[("resident_id", "11010519491231002X")]);
        conflicting
            .record
            .issues
            .push(tombolo_normalize::FieldIssue {
                field: "birth_date".into(),
                raw: None,
                reason: "conflicts with the birth date in the resident ID".into(),
            });
        assert_eq!(
            PersonSchema.hard_id(&PersonRec::prepare(&conflicting.record)),
            None
        );
    }

    #[test]
    fn missing_values_are_neutral() {
        let a = rec(&[("name", "张伟"), ("phone", "13800138000")]);
        let b = rec(&[("name", "张伟")]);
        let g = PersonSchema.gamma(&a, &b);
        assert_eq!(g[0], 0);
        assert_eq!(&g[1..], &[MISSING; 7]);
    }
}
