//! Graded comparisons of two records' values, field by field — the evidence the probabilistic
//! engine (issue 3) weighs. Each comparison returns the index of a level (0 = strongest
//! agreement, the last = disagreement), or `None` when either side lacks the value: a missing
//! value is neutral, never counted as disagreement.

use pinyin::ToPinyin;
use tombolo_core::fields::id;
use tombolo_core::AddressPart;
use tombolo_normalize::text::t2s;

/// A comparison's name and its levels, strongest agreement first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub field: &'static str,
    pub levels: &'static [&'static str],
}

pub const NAME: Comparison = Comparison {
    field: id::NAME,
    levels: &[
        "exact",
        "traditional_simplified",
        "homophone",
        "jaro_winkler_0.9",
        "different",
    ],
};
pub const BIRTH_DATE: Comparison = Comparison {
    field: id::BIRTH_DATE,
    levels: &[
        "exact",
        "month_day_swapped",
        "one_component_off",
        "different",
    ],
};
pub const RESIDENT_ID: Comparison = Comparison {
    field: id::RESIDENT_ID,
    levels: &[
        "exact",
        "equal_after_15_to_18",
        "one_edit_or_transposition",
        "different",
    ],
};
pub const PHONE: Comparison = Comparison {
    field: id::PHONE,
    levels: &["exact", "one_edit_or_transposition", "different"],
};
pub const ADDRESS: Comparison = Comparison {
    field: id::ADDRESS,
    levels: &[
        "same_room",
        "same_building",
        "same_road_or_community",
        "different",
    ],
};
pub const SEX: Comparison = Comparison {
    field: id::SEX,
    levels: &["agree", "different"],
};

/// The plain pinyin syllables of a text (characters without a reading are kept as they are).
pub fn pinyin_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for (c, p) in s.chars().zip(s.to_pinyin()) {
        if !out.is_empty() {
            out.push(' ');
        }
        match p {
            Some(p) => out.push_str(p.plain()),
            None => out.push(c),
        }
    }
    out
}

/// Names: exact; equal after Traditional → Simplified; same pinyin (a homophone typo);
/// Jaro-Winkler similarity of at least 0.9; different.
pub fn name(a: Option<&str>, b: Option<&str>) -> Option<usize> {
    let (a, b) = (a?, b?);
    Some(if a == b {
        0
    } else if t2s(a) == t2s(b) {
        1
    } else if a.chars().count() == b.chars().count() && pinyin_key(&t2s(a)) == pinyin_key(&t2s(b)) {
        2
    } else if strsim::jaro_winkler(a, b) >= 0.9 {
        3
    } else {
        4
    })
}

/// Dates as `YYYY-MM-DD`: exact; month and day swapped; one of year, month, day off; different.
pub fn birth_date(a: Option<&str>, b: Option<&str>) -> Option<usize> {
    let (a, b) = (a?, b?);
    if a == b {
        return Some(0);
    }
    let parts = |s: &str| -> Option<(String, String, String)> {
        let mut it = s.split('-');
        Some((
            it.next()?.to_owned(),
            it.next()?.to_owned(),
            it.next()?.to_owned(),
        ))
    };
    let (Some((ya, ma, da)), Some((yb, mb, db))) = (parts(a), parts(b)) else {
        return Some(3);
    };
    Some(if ya == yb && ma == db && da == mb {
        1
    } else if [ya == yb, ma == mb, da == db]
        .iter()
        .filter(|x| **x)
        .count()
        == 2
    {
        2
    } else {
        3
    })
}

/// Whether two equally long strings differ by one substitution or one adjacent transposition.
pub fn one_edit_or_transposition(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return strsim::levenshtein(&a.iter().collect::<String>(), &b.iter().collect::<String>())
            == 1;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match diff.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

fn edit_levels(a: Option<&str>, b: Option<&str>) -> Option<usize> {
    let (a, b) = (a?, b?);
    Some(if a == b {
        0
    } else if one_edit_or_transposition(a, b) {
        1
    } else {
        2
    })
}

/// Resident IDs (18 characters after normalisation; `*_from_15` when converted from a legacy
/// 15-digit ID, whose check character was computed, not typed): exact; equal after the
/// conversion; one edit or adjacent transposition (of the 17 typed characters when a side was
/// converted); different.
pub fn resident_id(
    a: Option<&str>,
    a_from_15: bool,
    b: Option<&str>,
    b_from_15: bool,
) -> Option<usize> {
    let (a, b) = (a?, b?);
    let converted = a_from_15 || b_from_15;
    Some(if a == b {
        usize::from(converted)
    } else {
        let (x, y) = if converted {
            (a.get(..17).unwrap_or(a), b.get(..17).unwrap_or(b))
        } else {
            (a, b)
        };
        if x == y {
            1
        } else if one_edit_or_transposition(x, y) {
            2
        } else {
            3
        }
    })
}

/// Phones: exact; one edit or transposition; different.
pub fn phone(a: Option<&str>, b: Option<&str>) -> Option<usize> {
    edit_levels(a, b)
}

/// Sex: agree or different (`unknown`/`unspecified` count as missing).
pub fn sex(a: Option<&str>, b: Option<&str>) -> Option<usize> {
    fn known(s: Option<&str>) -> Option<&str> {
        s.filter(|v| matches!(*v, "male" | "female"))
    }
    let (a, b) = (known(a)?, known(b)?);
    Some(usize::from(a != b))
}

/// The address parts [`address`] compares (province, city and street are too coarse to tell
/// dwellings apart).
const COMPARED: [AddressPart; 7] = [
    AddressPart::District,
    AddressPart::Community,
    AddressPart::Road,
    AddressPart::Number,
    AddressPart::Building,
    AddressPart::Unit,
    AddressPart::Room,
];

/// The names of the compared parts ([`COMPARED`]).
pub const ADDRESS_PARTS: [&str; 7] = tombolo_core::address::names(COMPARED);

/// The record fields of [`ADDRESS_PARTS`], in the same order.
pub const ADDRESS_FIELDS: [&str; 7] = tombolo_core::address::fields(COMPARED);

/// Structured address parts of a record, looked up by name (`district`, `road`, …).
pub trait Parts {
    fn part(&self, name: &str) -> Option<&str>;
}

/// Addresses by their structured parts: the same room (building, unit and room agree, and no
/// part that both have disagrees); the same building; the same road and number or the same
/// community; different (a part both have disagrees). `None` when the two share too few parts to
/// say (for instance one has only a community, the other only a road).
pub fn address(a: &dyn Parts, b: &dyn Parts) -> Option<usize> {
    let mut shared = 0;
    for p in ADDRESS_PARTS {
        if let (Some(x), Some(y)) = (a.part(p), b.part(p)) {
            if x != y {
                return Some(3);
            }
            shared += 1;
        }
    }
    let both = |p: &str| a.part(p).is_some() && b.part(p).is_some();
    if shared == 0 {
        None
    } else if both("building") && both("room") {
        Some(0)
    } else if both("building") && (both("community") || (both("road") && both("number"))) {
        Some(1)
    } else if (both("road") && both("number")) || both("community") {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn address_fields_name_the_address_parts() {
        for (f, p) in ADDRESS_FIELDS.iter().zip(ADDRESS_PARTS) {
            assert_eq!(f.strip_prefix("address."), Some(p));
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(Some("张伟"), Some("张伟")), Some(0));
        assert_eq!(name(Some("張偉"), Some("张伟")), Some(1));
        assert_eq!(name(Some("张伟"), Some("张玮")), Some(2), "homophone typo");
        assert_eq!(name(Some("欧阳娜娜"), Some("欧阳娜")), Some(3));
        assert_eq!(name(Some("张伟"), Some("李娜")), Some(4));
        assert_eq!(name(None, Some("李娜")), None, "missing is neutral");
        assert_eq!(pinyin_key("张伟"), "zhang wei");
    }

    #[test]
    fn dates() {
        assert_eq!(birth_date(Some("1990-01-02"), Some("1990-01-02")), Some(0));
        assert_eq!(birth_date(Some("1990-01-02"), Some("1990-02-01")), Some(1));
        assert_eq!(birth_date(Some("1990-01-02"), Some("1991-01-02")), Some(2));
        assert_eq!(birth_date(Some("1990-01-02"), Some("1985-07-12")), Some(3));
        assert_eq!(birth_date(Some("1990-01-02"), None), None);
    }

    #[test]
    fn edits() {
        assert_eq!(phone(Some("13800138000"), Some("13800138000")), Some(0));
        assert_eq!(phone(Some("13800138000"), Some("13800138001")), Some(1));
        assert_eq!(
            phone(Some("13800138000"), Some("13800183000")),
            Some(1),
            "adjacent transposition"
        );
        assert_eq!(phone(Some("13800138000"), Some("13911112222")), Some(2));
        let id = Some("11010519491231002X");
        assert_eq!(resident_id(id, false, id, false), Some(0));
        assert_eq!(resident_id(id, true, id, false), Some(1), "15 → 18");
        assert_eq!(
            resident_id(Some("110105194912310021"), false, id, false),
            Some(2)
        );
        // A transposition in a legacy ID: the computed check characters differ too.
        assert_eq!(
            resident_id(Some("110105194912130027"), true, id, false),
            Some(2)
        );
        assert_eq!(
            resident_id(Some("110105198001010019"), false, id, false),
            Some(3)
        );
        assert_eq!(resident_id(None, false, id, false), None);
        assert!(!one_edit_or_transposition("1234", "2143"));
    }

    #[test]
    fn sexes() {
        assert_eq!(sex(Some("male"), Some("male")), Some(0));
        assert_eq!(sex(Some("male"), Some("female")), Some(1));
        assert_eq!(sex(Some("unknown"), Some("female")), None);
    }

    struct P(BTreeMap<&'static str, &'static str>);
    impl Parts for P {
        fn part(&self, name: &str) -> Option<&str> {
            self.0.get(name).copied()
        }
    }

    #[test]
    fn addresses() {
        let full = P(BTreeMap::from([
            ("district", "蜀山区"),
            ("road", "长江西路"),
            ("number", "12"),
            ("building", "3"),
            ("unit", "2"),
            ("room", "301"),
        ]));
        let grid = P(BTreeMap::from([
            ("community", "安居社区"),
            ("building", "3"),
            ("unit", "2"),
            ("room", "301"),
        ]));
        let other_room = P(BTreeMap::from([
            ("road", "长江西路"),
            ("number", "12"),
            ("building", "3"),
            ("room", "302"),
        ]));
        let same_block = P(BTreeMap::from([
            ("road", "长江西路"),
            ("number", "12"),
            ("building", "3"),
        ]));
        let community_only = P(BTreeMap::from([("community", "安居社区")]));
        assert_eq!(address(&full, &grid), Some(0));
        assert_eq!(address(&full, &other_room), Some(3));
        assert_eq!(address(&full, &same_block), Some(1));
        assert_eq!(address(&grid, &community_only), Some(2));
        assert_eq!(
            address(&full, &community_only),
            None,
            "nothing shared to compare"
        );
    }
}
