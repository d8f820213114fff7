//! Chinese postal addresses split into their administrative and building parts.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::text::{nfkc, t2s, trim};

/// A structured address. Each part is `None` where the text did not contain it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub road: Option<String>,
    pub number: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    /// What followed the recognised parts, if anything.
    pub rest: Option<String>,
    /// The text placed the thing near the address rather than at it (`附近`, `门口`, `旁`):
    /// the address is a landmark, good for its door at the most.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub near: bool,
}

/// Names of the parts, in order, as used by mapping targets (`address.building`): the parts
/// of [`tombolo_core::AddressPart`].
pub const PARTS: [&str; 10] = tombolo_core::address::names(tombolo_core::AddressPart::ALL);

impl Place {
    pub fn part(&self, name: &str) -> Option<&str> {
        match name {
            "province" => self.province.as_deref(),
            "city" => self.city.as_deref(),
            "district" => self.district.as_deref(),
            "street" => self.street.as_deref(),
            "community" => self.community.as_deref(),
            "road" => self.road.as_deref(),
            "number" => self.number.as_deref(),
            "building" => self.building.as_deref(),
            "unit" => self.unit.as_deref(),
            "room" => self.room.as_deref(),
            "rest" => self.rest.as_deref(),
            _ => None,
        }
    }

    pub fn set_part(&mut self, name: &str, value: Option<String>) -> bool {
        let slot = match name {
            "province" => &mut self.province,
            "city" => &mut self.city,
            "district" => &mut self.district,
            "street" => &mut self.street,
            "community" => &mut self.community,
            "road" => &mut self.road,
            "number" => &mut self.number,
            "building" => &mut self.building,
            "unit" => &mut self.unit,
            "room" => &mut self.room,
            "rest" => &mut self.rest,
            _ => return false,
        };
        *slot = value;
        true
    }

    pub fn is_empty(&self) -> bool {
        PARTS.iter().all(|p| self.part(p).is_none()) && self.rest.is_none()
    }

    /// The address as one line in the canonical spelling (`栋`, `单元`, `室`).
    pub fn display(&self) -> String {
        let mut s = String::new();
        for p in [
            "province",
            "city",
            "district",
            "street",
            "community",
            "road",
        ] {
            if let Some(v) = self.part(p) {
                s.push_str(v);
            }
        }
        let suffixes = [
            ("number", "号"),
            ("building", "栋"),
            ("unit", "单元"),
            ("room", "室"),
        ];
        for (p, suffix) in suffixes {
            if let Some(v) = self.part(p) {
                s.push_str(v);
                s.push_str(suffix);
            }
        }
        if let Some(r) = &self.rest {
            s.push_str(r);
        }
        if self.near {
            s.push_str(NEAR_MARK);
        }
        s
    }

    /// Whether the address names anything a place can be found by: a road and number, or a
    /// building (with a community, or on a road).
    pub fn locatable(&self) -> bool {
        (self.road.is_some() && self.number.is_some()) || self.building.is_some()
    }
}

/// How [`Place::display`] writes that the text placed the thing near the address (read back by
/// [`parse_address`] as [`Place::near`]).
pub const NEAR_MARK: &str = "附近";

fn pattern() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^(?P<province>(?:北京|上海|天津|重庆)市|\p{Han}{2,7}?(?:省|自治区|特别行政区))?",
            r"(?P<city>\p{Han}{2,7}?(?:市|自治州|地区|盟))?",
            r"(?P<district>\p{Han}{1,7}?(?:区|县|市|旗))?",
            r"(?P<street>\p{Han}{2,9}?(?:街道|镇|乡))?",
            r"(?P<community>\p{Han}{2,9}?(?:社区|村|居委会|小区))?",
            r"(?:(?P<road>[\p{Han}0-9]{1,12}?(?:大道|路|街|巷|弄|道))(?:(?P<number>[0-9]+)号)?)?",
            r"(?:(?P<building>[0-9]+)(?:栋|幢|#|号楼|座))?",
            r"(?:(?P<unit>[0-9]+)(?:单元|-))?",
            r"(?:(?P<room>[0-9]+)(?:室|号|户)?)?",
            r"(?P<rest>.*)$"
        ))
        .ok()
    })
    .as_ref()
}

/// Numbers written in Chinese characters before a mark that counts (`三栋`, `十二号楼`,
/// `二〇一室`, `两单元`).
fn chinese_numbers() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"([〇零一二三四五六七八九十百千两]+)(号楼|号|栋|幢|座|单元|室|户)").ok()
    })
    .as_ref()
}

/// `3-2-301` (building, unit, room) not preceded by a digit.
fn dashed_triple() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|[^0-9-])([0-9]+)-([0-9]+)-([0-9]+)").ok())
        .as_ref()
}

/// Words after an address that place the thing near it rather than at it.
const NEAR: [&str; 7] = ["附近", "门口", "旁边", "对面", "周边", "一带", "旁"];

/// A number written in Chinese characters: digit by digit (`二〇一` = 201) or with units
/// (`十二` = 12, `一百零五` = 105, `两千` = 2000). `None` when it is neither.
pub fn chinese_number(text: &str) -> Option<u64> {
    let digit = |c: char| match c {
        '〇' | '零' => Some(0),
        '一' => Some(1),
        '二' | '两' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    };
    let unit = |c: char| match c {
        '十' => Some(10),
        '百' => Some(100),
        '千' => Some(1000),
        _ => None,
    };
    if text.is_empty() {
        return None;
    }
    if !text.chars().any(|c| unit(c).is_some()) {
        return text
            .chars()
            .try_fold(0u64, |n, c| Some(n.checked_mul(10)? + digit(c)?));
    }
    let (mut total, mut pending, mut last_unit) = (0u64, None::<u64>, u64::MAX);
    for c in text.chars() {
        if let Some(d) = digit(c) {
            if pending.is_some() && d != 0 {
                return None; // two digits in a row: 二三十
            }
            pending = (d != 0).then_some(d);
        } else if let Some(u) = unit(c) {
            if u >= last_unit {
                return None; // units must fall: 十百
            }
            total += pending.take().unwrap_or(1) * u;
            last_unit = u;
        } else {
            return None;
        }
    }
    Some(total + pending.unwrap_or(0))
}

/// `text` with every number written in Chinese characters before a mark that counts
/// (`十二号楼`) in digits (`12号楼`); unchanged, without a scan, when it holds no such numeral.
fn numerals_as_digits(text: String) -> String {
    let numeral = |c: char| "〇零一二三四五六七八九十百千两".contains(c);
    match chinese_numbers() {
        Some(re) if text.chars().any(numeral) && re.is_match(&text) => re
            .replace_all(&text, |c: &regex::Captures<'_>| {
                match chinese_number(&c[1]) {
                    Some(n) => format!("{n}{}", &c[2]),
                    None => c[0].to_owned(),
                }
            })
            .into_owned(),
        _ => text,
    }
}

/// The text an address is parsed from: NFKC (full-width digits and marks), Traditional →
/// Simplified, no white space, Chinese numbers before a mark as digits, `3-2-301` as building,
/// unit and room; and whether it ended in a word that places the thing near it (`附近`).
fn prepare(input: &str) -> (String, bool) {
    let mut text: String = t2s(&trim(&nfkc(input)))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut near = false;
    while let Some(word) = NEAR.iter().find(|w| text.ends_with(*w)) {
        text.truncate(text.len() - word.len());
        near = true;
    }
    let mut text = numerals_as_digits(text);
    // A cheap check first: most addresses have no dash.
    if let (true, Some(re)) = (text.contains('-'), dashed_triple()) {
        text = re
            .replace_all(&text, "${1}${2}栋${3}单元${4}室")
            .into_owned();
    }
    (text, near)
}

/// Splits an address into its parts. Traditional characters, full-width forms and numbers in
/// Chinese characters are folded first; `栋`/`幢`/`#`/`号楼` all read as building, `单元`/`-`
/// as unit; a trailing `附近`/`门口`/`旁` sets [`Place::near`].
pub fn parse_address(input: &str) -> Place {
    let (text, near) = prepare(input);
    let mut place = Place {
        near,
        ..Place::default()
    };
    let Some(re) = pattern() else {
        place.rest = Some(text);
        return place;
    };
    if let Some(caps) = re.captures(&text) {
        for name in PARTS {
            let v = caps
                .name(name)
                .map(|m| m.as_str().to_owned())
                .filter(|v| !v.is_empty());
            place.set_part(name, v.map(|v| strip_leading_zeros(name, v)));
        }
        place.rest = caps
            .name("rest")
            .map(|m| m.as_str().to_owned())
            .filter(|v| !v.is_empty());
        // `社区`/`小区` end in `区` too: such a "district" is a community.
        if place.community.is_none()
            && place
                .district
                .as_deref()
                .is_some_and(|d| d.ends_with("社区") || d.ends_with("小区"))
        {
            place.community = place.district.take();
        }
    } else {
        place.rest = Some(text);
    }
    place
}

/// Normalises a building part typed on its own (`3栋`, `3#`, `3号楼`, `03`, `三栋`) to its
/// number.
pub fn normalize_part(name: &str, value: &str) -> String {
    let v: String = t2s(&nfkc(value))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let v = numerals_as_digits(v);
    let v = match name {
        "building" => v
            .trim_end_matches(['栋', '幢', '#', '座'])
            .trim_end_matches("号楼")
            .to_owned(),
        "unit" => v.trim_end_matches("单元").trim_end_matches('-').to_owned(),
        "room" => v.trim_end_matches(['室', '号', '户']).to_owned(),
        "number" => v.trim_end_matches('号').to_owned(),
        _ => v,
    };
    strip_leading_zeros(name, v)
}

fn strip_leading_zeros(name: &str, v: String) -> String {
    if matches!(name, "number" | "building" | "unit" | "room")
        && v.bytes().all(|b| b.is_ascii_digit())
    {
        let t = v.trim_start_matches('0');
        if t.is_empty() {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &Place) -> Vec<Option<&str>> {
        PARTS.iter().map(|n| p.part(n)).collect()
    }

    #[test]
    fn full_address() {
        let p = parse_address("安徽省合肥市蜀山区三里庵街道安居社区长江西路12号3栋2单元301室");
        assert_eq!(
            parts(&p),
            vec![
                Some("安徽省"),
                Some("合肥市"),
                Some("蜀山区"),
                Some("三里庵街道"),
                Some("安居社区"),
                Some("长江西路"),
                Some("12"),
                Some("3"),
                Some("2"),
                Some("301")
            ]
        );
        assert_eq!(p.rest, None);
    }

    #[test]
    fn variants_agree() {
        let a = parse_address("蜀山区长江西路12号3幢2单元301");
        let b = parse_address("合肥市蜀山区长江西路12号3#2-301");
        let c = parse_address("合肥市蜀山區長江西路１２號3棟2單元301室");
        for p in [&a, &b, &c] {
            assert_eq!(p.district.as_deref(), Some("蜀山区"));
            assert_eq!(p.road.as_deref(), Some("长江西路"));
            assert_eq!(p.number.as_deref(), Some("12"));
            assert_eq!(p.building.as_deref(), Some("3"));
            assert_eq!(p.unit.as_deref(), Some("2"));
            assert_eq!(p.room.as_deref(), Some("301"));
        }
    }

    #[test]
    fn community_and_building_only() {
        let p = parse_address("安居社区3栋301");
        assert_eq!(p.community.as_deref(), Some("安居社区"));
        assert_eq!(p.building.as_deref(), Some("3"));
        assert_eq!(p.room.as_deref(), Some("301"));
    }

    #[test]
    fn street_named_after_a_road() {
        let p = parse_address("包河区芜湖路街道望湖社区马鞍山路7号1栋1单元101室");
        assert_eq!(p.street.as_deref(), Some("芜湖路街道"));
        assert_eq!(p.road.as_deref(), Some("马鞍山路"));
    }

    #[test]
    fn parts_typed_alone() {
        assert_eq!(normalize_part("building", "3栋"), "3");
        assert_eq!(normalize_part("building", "03号楼"), "3");
        assert_eq!(normalize_part("unit", "2单元"), "2");
        assert_eq!(normalize_part("room", "301室"), "301");
    }

    #[test]
    fn chinese_numbers_read_as_digits() {
        for (text, n) in [
            ("三", 3),
            ("十", 10),
            ("十二", 12),
            ("二十", 20),
            ("二十三", 23),
            ("二〇一", 201),
            ("一百零五", 105),
            ("两千", 2000),
            ("一千二百零三", 1203),
        ] {
            assert_eq!(chinese_number(text), Some(n), "{text}");
        }
        for bad in ["", "二三十", "十百", "路"] {
            assert_eq!(chinese_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_style_of_the_sources_agrees() {
        let same = [
            "安徽省合肥市蜀山区长江西路12号3栋2单元301室",
            "合肥市蜀山区长江西路12号3#2-301",
            "蜀山区长江西路12号3-2-301",
            "蜀山区长江西路十二号三栋二单元三〇一室",
            "蜀山區長江西路１２號３幢２單元３０１",
            "蜀山区长江西路12号3号楼2单元301",
        ];
        for text in same {
            let p = parse_address(text);
            let got = (
                p.district.as_deref(),
                p.road.as_deref(),
                p.number.as_deref(),
                p.building.as_deref(),
                p.unit.as_deref(),
                p.room.as_deref(),
                p.rest.as_deref(),
            );
            let want = (
                Some("蜀山区"),
                Some("长江西路"),
                Some("12"),
                Some("3"),
                Some("2"),
                Some("301"),
                None,
            );
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn near_a_door_is_the_door_and_marked() {
        let p = parse_address("包河区大连路274号附近");
        assert_eq!(
            (p.road.as_deref(), p.number.as_deref()),
            (Some("大连路"), Some("274"))
        );
        assert!(p.near && p.rest.is_none() && p.building.is_none());
        assert!(parse_address("望湖社区5栋门口").near);
        assert!(!parse_address("包河区大连路274号").near);
    }

    #[test]
    fn grid_style_and_registry_parts() {
        let p = parse_address("梅园社区29栋2单元1803室");
        let got = (
            p.community.as_deref(),
            p.building.as_deref(),
            p.unit.as_deref(),
            p.room.as_deref(),
        );
        assert_eq!(got, (Some("梅园社区"), Some("29"), Some("2"), Some("1803")));
        let p = parse_address("和平社区潜山路300号");
        assert_eq!(
            (
                p.community.as_deref(),
                p.road.as_deref(),
                p.number.as_deref()
            ),
            (Some("和平社区"), Some("潜山路"), Some("300"))
        );
        assert_eq!(normalize_part("building", "十二号楼"), "12");
        assert_eq!(normalize_part("room", "二〇一室"), "201");
        assert_eq!(normalize_part("number", "932号"), "932");
    }

    #[test]
    fn a_road_without_a_number_is_still_the_road() {
        let p = parse_address("蜀山区黄山路");
        assert_eq!(
            (p.road.as_deref(), p.number.as_deref(), p.rest.as_deref()),
            (Some("黄山路"), None, None)
        );
    }

    #[test]
    fn unparsable_text_is_kept() {
        let p = parse_address("不详");
        assert_eq!(p.rest.as_deref(), Some("不详"));
        assert!(!p.is_empty());
    }
}
