//! The treatments: display masks, generalisation, keyed pseudonyms.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};
use tombolo_core::fields::id;
use tombolo_core::AddressPart;

use crate::grant::Generalize;

/// The default characters a mask keeps at the start and the end of a field.
pub fn default_mask(field: &str) -> (usize, usize) {
    match field {
        id::RESIDENT_ID => (6, 4),
        id::PHONE => (3, 4),
        id::NAME | id::LEGAL_REP => (1, 0),
        _ => (1, 1),
    }
}

/// `value` with every character but the first `keep_start` and last `keep_end` replaced by
/// `*`. A value too short to hide anything is starred whole but for its first character (a
/// two-character name `张三` becomes `张*`; never the value itself).
pub fn mask(value: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let (start, end) = if keep_start + keep_end < n {
        (keep_start, keep_end)
    } else {
        (n.min(1).min(keep_start.max(1)), 0)
    };
    let start = if start >= n {
        n.saturating_sub(1)
    } else {
        start
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < start || i >= n - end { *c } else { '*' })
        .collect()
}

/// The year of an ISO date (`1990-01-02` → `1990`).
pub fn year(date: &str) -> Option<String> {
    let y = date.get(..4)?;
    y.chars().all(|c| c.is_ascii_digit()).then(|| y.to_owned())
}

/// The ten-year age band of someone born on `date` on day `today` (both `YYYY-MM-DD`):
/// `30-39`; `None` when either is not a date or the birth lies ahead.
pub fn age_band(date: &str, today: &str) -> Option<String> {
    let parse = |d: &str| -> Option<(i32, u32, u32)> {
        let mut it = d.get(..10)?.split('-');
        Some((
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
        ))
    };
    let (by, bm, bd) = parse(date)?;
    let (ty, tm, td) = parse(today)?;
    let mut age = ty - by;
    if (tm, td) < (bm, bd) {
        age -= 1;
    }
    if age < 0 {
        return None;
    }
    let low = age / 10 * 10;
    Some(format!("{low}-{}", low + 9))
}

/// Address parts kept when an address is generalised, outermost first.
const DISTRICT: [AddressPart; 3] = [
    AddressPart::Province,
    AddressPart::City,
    AddressPart::District,
];
const COMMUNITY: [AddressPart; 5] = [
    AddressPart::Province,
    AddressPart::City,
    AddressPart::District,
    AddressPart::Street,
    AddressPart::Community,
];

/// An address generalised to district, community or building level, from its parts
/// (`address.<part>` → value); `None` when it has none of those parts (or `to` is not an
/// address level).
pub fn address(parts: &BTreeMap<String, String>, to: Generalize) -> Option<String> {
    let (keep, building): (&[AddressPart], bool) = match to {
        Generalize::District => (&DISTRICT, false),
        Generalize::Community => (&COMMUNITY, false),
        Generalize::Building => (&COMMUNITY, true),
        Generalize::Year | Generalize::AgeBand => return None,
    };
    let mut text: String = keep
        .iter()
        .filter_map(|p| parts.get(p.field()))
        .map(String::as_str)
        .collect();
    if building {
        // The road and door, and the building in it: never the unit or room.
        let get = |p: AddressPart| parts.get(p.field()).map(String::as_str);
        text.push_str(get(AddressPart::Road).unwrap_or_default());
        for (p, mark) in [(AddressPart::Number, "号"), (AddressPart::Building, "栋")] {
            if let Some(v) = get(p) {
                text.push_str(v);
                text.push_str(mark);
            }
        }
    }
    (!text.is_empty()).then_some(text)
}

/// Pseudonym keys: one per department, and the shared one for joinable pseudonyms.
#[derive(Clone, Default)]
pub struct PseudonymKeys {
    departments: BTreeMap<String, Vec<u8>>,
    shared: Option<Vec<u8>>,
}

impl std::fmt::Debug for PseudonymKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("PseudonymKeys")
            .field("departments", &self.departments.keys().collect::<Vec<_>>())
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

/// Reads a key: 64 hex digits, or any text of at least 32 bytes.
pub fn parse_key(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        return (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|e| Error::Key(e.to_string()));
    }
    if t.len() < 32 {
        return Err(Error::Key(
            "a pseudonym key needs at least 32 bytes (or 64 hex digits)".into(),
        ));
    }
    Ok(t.as_bytes().to_vec())
}

impl PseudonymKeys {
    pub fn new(departments: BTreeMap<String, Vec<u8>>, shared: Option<Vec<u8>>) -> Self {
        Self {
            departments,
            shared,
        }
    }

    /// The HMAC-SHA-256 of `value` under the department's key (or the shared key when
    /// `joinable`), in hex. The field name is part of the message, so the same value in two
    /// fields gives two pseudonyms.
    pub fn pseudonym(
        &self,
        department: &str,
        joinable: bool,
        field: &str,
        value: &str,
    ) -> Result<String> {
        let key = if joinable {
            self.shared.as_ref()
        } else {
            self.departments.get(department)
        }
        .ok_or_else(|| {
            Error::Key(format!(
                "no {} pseudonym key for department {department}",
                if joinable { "shared" } else { "department" }
            ))
        })?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| Error::Key(e.to_string()))?;
        mac.update(field.as_bytes());
        mac.update(&[0x1f]);
        mac.update(value.as_bytes());
        Ok(hex(&mac.finalize().into_bytes()))
    }
}

impl PseudonymKeys {
    /// The department's id for a golden record: its golden id pseudonymised under the
    /// department's key, or under the shared key when the department has none of its own
    /// (departments without an own key can then join on it, which their grants allow). Stable
    /// across versions, so it keys the department's compacted topics.
    pub fn record_id(&self, department: &str, golden_id: &str) -> Result<String> {
        let joinable = !self.departments.contains_key(department);
        self.pseudonym(department, joinable, "golden_id", golden_id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_the_display_rules() {
        let (s, e) = default_mask("resident_id");
        assert_eq!(mask("340104199001021234", s, e), "340104********1234");
        let (s, e) = default_mask("phone");
        assert_eq!(mask("13800138000", s, e), "138****8000");
        let (s, e) = default_mask("name");
        assert_eq!(mask("张三", s, e), "张*");
        assert_eq!(mask("张三丰", s, e), "张**");
        assert_eq!(mask("欧阳娜娜", 2, 0), "欧阳**");
        // Too short to keep both ends: never the value itself.
        assert_eq!(mask("12", 1, 1), "1*");
        assert_eq!(mask("张", 1, 0), "*");
        assert_eq!(mask("", 1, 1), "");
    }

    #[test]
    fn generalises_dates_and_addresses() {
        assert_eq!(year("1990-01-02").as_deref(), Some("1990"));
        assert_eq!(year("n/a"), None);
        assert_eq!(
            age_band("1990-06-02", "2026-06-01").as_deref(),
            Some("30-39")
        );
        assert_eq!(
            age_band("1990-06-02", "2030-06-02").as_deref(),
            Some("40-49")
        );
        assert_eq!(age_band("2030-01-01", "2026-01-01"), None);
        let parts: BTreeMap<String, String> = [
            ("address.province", "安徽省"),
            ("address.city", "合肥市"),
            ("address.district", "蜀山区"),
            ("address.street", "稻香村街道"),
            ("address.community", "青年社区"),
            ("address.road", "长江西路"),
            ("address.room", "1401"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            address(&parts, Generalize::District).as_deref(),
            Some("安徽省合肥市蜀山区")
        );
        assert_eq!(
            address(&parts, Generalize::Community).as_deref(),
            Some("安徽省合肥市蜀山区稻香村街道青年社区")
        );
        let mut room = parts.clone();
        for (k, v) in [
            ("address.number", "12"),
            ("address.building", "3"),
            ("address.unit", "2"),
        ] {
            room.insert(k.to_owned(), v.to_owned());
        }
        assert_eq!(
            address(&room, Generalize::Building).as_deref(),
            Some("安徽省合肥市蜀山区稻香村街道青年社区长江西路12号3栋"),
            "no unit, no room"
        );
        assert_eq!(address(&BTreeMap::new(), Generalize::District), None);
        assert_eq!(address(&parts, Generalize::Year), None);
    }

    #[test]
    fn pseudonyms_differ_per_department_and_join_when_shared() {
        let keys = PseudonymKeys::new(
            BTreeMap::from([
                ("health".to_owned(), vec![1; 32]),
                ("civil".to_owned(), vec![2; 32]),
            ]),
            Some(vec![3; 32]),
        );
        let p = |d: &str, j: bool| keys.pseudonym(d, j, "phone", "13800138000").unwrap();
        assert_ne!(p("health", false), p("civil", false));
        assert_eq!(p("health", true), p("civil", true));
        assert_eq!(p("health", false), p("health", false));
        assert_eq!(p("health", false).len(), 64);
        assert!(!p("health", false).contains("13800138000"));
        assert_ne!(
            keys.pseudonym("health", false, "resident_id", "13800138000")
                .unwrap(),
            p("health", false),
            "the field is part of the message"
        );
        assert!(keys.pseudonym("tax", false, "phone", "1").is_err());
        assert!(format!("{keys:?}").contains("health"));
        assert!(!format!("{keys:?}").contains("[1, 1"));
    }

    #[test]
    fn keys_are_hex_or_long_text() {
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert_eq!(parse_key(&"k".repeat(40)).unwrap().len(), 40);
        assert!(parse_key("short").is_err());
    }
}
