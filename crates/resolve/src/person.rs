//! People for the probabilistic engine: the prepared form of a person record (cleaned name, its
//! Simplified form and pinyin computed once), its comparisons, blocking keys and training
//! sessions.

use tombolo_normalize::text::t2s;
use tombolo_normalize::NormalizedRecord;

use crate::compare::{
    self, pinyin_key, Comparison, Parts, ADDRESS, ADDRESS_PARTS, BIRTH_DATE, NAME, PHONE,
    RESIDENT_ID, SEX,
};
use crate::fs::schema::{Gamma, Schema, Session, MISSING};

const COMPARISONS: [Comparison; 6] = [NAME, BIRTH_DATE, RESIDENT_ID, PHONE, ADDRESS, SEX];

/// The blocking rules, in order.
pub const RULES: [&str; 6] = [
    "resident_id",
    "surname+birth_date",
    "pinyin+birth_year",
    "phone",
    "name+community+building",
    "pinyin+building+room",
];

/// A person record prepared for comparison.
#[derive(Debug, Clone, Default)]
pub struct PersonRec {
    pub name: Option<String>,
    /// The name in Simplified characters.
    pub simplified: Option<String>,
    /// Pinyin syllables of the Simplified name, space-separated.
    pub pinyin: Option<String>,
    pub birth_date: Option<String>,
    pub resident_id: Option<String>,
    /// The ID was converted from a legacy 15-digit ID (its check character is computed).
    pub id_from_15: bool,
    /// The ID can serve as a hard identifier: typed with its check character and consistent
    /// with the record's own birth date and sex.
    pub id_verified: bool,
    pub phone: Option<String>,
    pub sex: Option<String>,
    pub address: [Option<String>; 7],
}

impl PersonRec {
    pub fn prepare(r: &NormalizedRecord) -> Self {
        let get = |f: &str| r.get(f).filter(|v| !v.is_empty()).map(str::to_owned);
        let name = get("name");
        let simplified = name.as_deref().map(t2s);
        let pinyin = simplified.as_deref().map(pinyin_key);
        let mut address: [Option<String>; 7] = Default::default();
        for (slot, part) in address.iter_mut().zip(ADDRESS_PARTS) {
            *slot = get(&format!("address.{part}"));
        }
        let resident_id = get("resident_id");
        let id_from_15 = r.derived.iter().any(|d| d == "resident_id:from_15");
        // A cross-field conflict (no raw value) casts doubt on the ID it was checked against.
        let conflict = r.issues.iter().any(|i| i.raw.is_none());
        Self {
            name,
            simplified,
            pinyin,
            birth_date: get("birth_date"),
            id_verified: resident_id.is_some() && !id_from_15 && !conflict,
            resident_id,
            id_from_15,
            phone: get("phone"),
            sex: get("sex"),
            address,
        }
    }

    fn address_text(&self) -> Option<String> {
        let parts: Vec<String> = ADDRESS_PARTS
            .iter()
            .zip(&self.address)
            .filter_map(|(p, v)| v.as_ref().map(|v| format!("{p}={v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl Parts for PersonRec {
    fn part(&self, name: &str) -> Option<&str> {
        ADDRESS_PARTS
            .iter()
            .position(|p| *p == name)
            .and_then(|i| self.address[i].as_deref())
    }
}

/// Names with their prepared forms: exact; equal in Simplified; same pinyin, same length
/// (a homophone); Jaro-Winkler of the pinyin at least 0.9; different.
pub fn name_level(a: &PersonRec, b: &PersonRec) -> Option<usize> {
    let (na, nb) = (a.name.as_deref()?, b.name.as_deref()?);
    if na == nb {
        return Some(0);
    }
    let (sa, sb) = (a.simplified.as_deref()?, b.simplified.as_deref()?);
    if sa == sb {
        return Some(1);
    }
    let (pa, pb) = (a.pinyin.as_deref()?, b.pinyin.as_deref()?);
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
        g[1] = level(compare::birth_date(
            a.birth_date.as_deref(),
            b.birth_date.as_deref(),
        ));
        g[2] = level(compare::resident_id(
            a.resident_id.as_deref(),
            a.id_from_15,
            b.resident_id.as_deref(),
            b.id_from_15,
        ));
        g[3] = level(compare::phone(a.phone.as_deref(), b.phone.as_deref()));
        g[4] = level(compare::address(a, b));
        g[5] = level(compare::sex(a.sex.as_deref(), b.sex.as_deref()));
        g
    }

    fn keys(&self, r: &PersonRec) -> Vec<(&'static str, String)> {
        let mut keys = Vec::with_capacity(6);
        let (name, pinyin, birth) = (
            r.simplified.as_deref(),
            r.pinyin.as_deref(),
            r.birth_date.as_deref(),
        );
        if let Some(id) = &r.resident_id {
            keys.push((RULES[0], id.clone()));
        }
        if let (Some(n), Some(b)) = (name, birth) {
            if let Some(surname) = n.chars().next() {
                keys.push((RULES[1], format!("{surname}|{b}")));
            }
        }
        if let (Some(p), Some(b)) = (pinyin, birth) {
            keys.push((RULES[2], format!("{p}|{}", b.get(..4).unwrap_or(b))));
        }
        if let Some(p) = &r.phone {
            keys.push((RULES[3], p.clone()));
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
                fixes: &["resident_id", "birth_date", "sex"],
            },
            Session {
                rule: "surname+birth_date",
                fixes: &["name", "birth_date"],
            },
            Session {
                rule: "phone",
                fixes: &["phone"],
            },
        ];
        &S
    }

    fn anchor(&self) -> Option<(&'static str, &'static str)> {
        Some(("resident_id", "resident_id"))
    }

    fn hard_id<'a>(&self, r: &'a PersonRec) -> Option<&'a str> {
        r.resident_id.as_deref().filter(|_| r.id_verified)
    }

    fn tf_field(&self) -> Option<&'static str> {
        Some("name")
    }

    fn tf_value<'a>(&self, r: &'a PersonRec) -> Option<&'a str> {
        r.simplified.as_deref()
    }

    fn show(&self, r: &PersonRec, comparison: usize) -> Option<String> {
        match comparison {
            0 => r.name.clone(),
            1 => r.birth_date.clone(),
            2 => r.resident_id.clone(),
            3 => r.phone.clone(),
            4 => r.address_text(),
            5 => r.sex.clone(),
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
