//! Who reported an incident: a report (a hotline ticket, a grid report) links to a golden
//! person only when its evidence suffices, because a wrong link blames the wrong resident.
//!
//! * A valid resident ID held by exactly one person.
//! * A phone held by exactly one person whose names do not contradict the report's (a full
//!   name must be one of the person's; a surname with 先生/女士 must be the person's surname).
//!   Among several people sharing the phone, the one whose full name the report gives.
//! * A full name with the report's place: the one person of that name placed there (at the
//!   coarser of the two levels).
//!
//! A surname with 先生/女士, or 匿名, is never evidence on its own.

use crate::house::{OwnerLink, Owners};
use crate::place::{same_place, PlaceKey};

/// What a report's name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name<'a> {
    /// A full name (`陆婷婷`).
    Full(&'a str),
    /// A surname with a form of address (`宋女士`, `张先生`): the surname.
    Surname(&'a str),
    /// No name, or `匿名`.
    None,
}

const ADDRESS_FORMS: [&str; 5] = ["先生", "女士", "小姐", "同志", "阿姨"];
const ANONYMOUS: [&str; 4] = ["匿名", "无", "不详", "未知"];

/// Reads a report's name.
pub fn name(text: Option<&str>) -> Name<'_> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Name::None;
    };
    if ANONYMOUS.iter().any(|a| t.contains(a)) {
        return Name::None;
    }
    for form in ADDRESS_FORMS {
        if let Some(surname) = t.strip_suffix(form) {
            return if surname.is_empty() {
                Name::None
            } else {
                Name::Surname(surname)
            };
        }
    }
    if t.chars().count() < 2 {
        return Name::None;
    }
    Name::Full(t)
}

/// Where a report is, as far as its address tells.
#[derive(Debug, Clone, Copy, Default)]
pub struct At<'a> {
    pub place: Option<&'a PlaceKey>,
    /// The places an ambiguous address fits.
    pub candidates: &'a [PlaceKey],
}

/// The reporter of a report: `resident_id` only when it validated.
pub fn reporter(
    people: &Owners,
    name_text: Option<&str>,
    phone: Option<&str>,
    resident_id: Option<&str>,
    at: At<'_>,
) -> (OwnerLink, &'static str) {
    let name = name(name_text);
    if let Some(found) = resident_id.and_then(|id| people.by_id.get(id)) {
        if found.len() == 1 {
            if let Some(g) = found.iter().next() {
                return (OwnerLink::ById(g.clone()), "resident ID");
            }
        }
        return (
            OwnerLink::Ambiguous(found.iter().cloned().collect()),
            "resident ID held by several people",
        );
    }
    let agrees = |g: &String| {
        let Some(p) = people.people.get(g) else {
            return false;
        };
        match name {
            Name::Full(n) => p.names.contains(n),
            Name::Surname(s) => p.names.iter().any(|n| n.starts_with(s)),
            Name::None => true,
        }
    };
    if let Some(holders) = phone.and_then(|p| people.by_phone.get(p)) {
        let fits: Vec<String> = holders.iter().filter(|g| agrees(g)).cloned().collect();
        match fits.len() {
            1 if holders.len() == 1 || matches!(name, Name::Full(_)) => {
                return (OwnerLink::ById(fits[0].clone()), "phone");
            }
            0 if holders.len() == 1 => {
                return (OwnerLink::Unknown, "phone held by someone of another name");
            }
            _ => {}
        }
    }
    let places: Vec<&PlaceKey> = match at.place {
        Some(p) => vec![p],
        None => at.candidates.iter().collect(),
    };
    let (Name::Full(full), false) = (name, places.is_empty()) else {
        let why = match name {
            Name::Surname(_) => "surname with 先生/女士 only",
            Name::None => "no name, ID or known phone",
            Name::Full(_) => "full name without a place",
        };
        return (OwnerLink::Unknown, why);
    };
    let Some(named) = people.by_name.get(full) else {
        return (OwnerLink::Unknown, "no person of that name");
    };
    let fits: Vec<String> = named
        .iter()
        .filter(|g| {
            people.people.get(*g).is_some_and(|p| {
                p.places
                    .iter()
                    .any(|k| places.iter().any(|place| same_place(k, place)))
            })
        })
        .cloned()
        .collect();
    match fits.len() {
        0 => (OwnerLink::Unknown, "no person of that name at the place"),
        1 => (
            OwnerLink::ByNameAndPlace(fits[0].clone()),
            "full name and place",
        ),
        _ => (
            OwnerLink::Ambiguous(fits),
            "several people of that name at the place",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(b: &str, r: &str) -> PlaceKey {
        PlaceKey {
            building: Some(b.into()),
            unit: Some("1".into()),
            room: Some(r.into()),
            ..PlaceKey::door("庐阳区", "长江西路", "932")
        }
    }

    fn on(place: &PlaceKey) -> At<'_> {
        At {
            place: Some(place),
            candidates: &[],
        }
    }

    fn people() -> Owners {
        let mut o = Owners::default();
        o.add("P-1", &["陆婷婷"], None, &[room("8", "301")]);
        o.add_phones("P-1", &["19672167669"]);
        o.add("P-2", &["宋建华"], None, &[room("8", "302")]);
        o.add_phones("P-2", &["17231506815"]);
        // A family phone.
        o.add("P-3", &["王芳"], None, &[room("9", "101")]);
        o.add("P-4", &["王强"], None, &[room("9", "101")]);
        o.add_phones("P-3", &["13900000000"]);
        o.add_phones("P-4", &["13900000000"]);
        o.add(
            "P-5",
            &["李强"],
            Some("340102198610109980"),
            &[room("5", "101")],
        );
        o
    }

    #[test]
    fn names_are_read() {
        assert_eq!(name(Some("陆婷婷")), Name::Full("陆婷婷"));
        assert_eq!(name(Some("宋女士")), Name::Surname("宋"));
        assert_eq!(name(Some("匿名")), Name::None);
        assert_eq!(name(Some(" ")), Name::None);
        assert_eq!(name(Some("先生")), Name::None);
    }

    #[test]
    fn by_id_then_phone_then_name_with_place() {
        let p = people();
        let (l, _) = reporter(&p, None, None, Some("340102198610109980"), At::default());
        assert_eq!(l, OwnerLink::ById("P-5".into()));
        let (l, _) = reporter(&p, Some("陆婷婷"), Some("19672167669"), None, At::default());
        assert_eq!(l, OwnerLink::ById("P-1".into()));
        let (l, why) = reporter(&p, Some("宋女士"), Some("17231506815"), None, At::default());
        assert_eq!((l, why), (OwnerLink::ById("P-2".into()), "phone"));
        let (l, _) = reporter(&p, Some("陆婷婷"), None, None, on(&room("8", "301")));
        assert_eq!(l, OwnerLink::ByNameAndPlace("P-1".into()));
        // The building is evidence enough for a person in one of its rooms.
        let b = room("8", "301").parent();
        let (l, _) = reporter(&p, Some("陆婷婷"), None, None, on(b.as_ref().unwrap()));
        assert_eq!(l, OwnerLink::ByNameAndPlace("P-1".into()));
    }

    #[test]
    fn never_a_surname_alone_nor_a_contradicting_name() {
        let p = people();
        let at = room("8", "302");
        let (l, why) = reporter(&p, Some("宋女士"), None, None, on(&at));
        assert_eq!(l, OwnerLink::Unknown);
        assert_eq!(why, "surname with 先生/女士 only");
        // The phone's holder has another name: not them.
        let (l, _) = reporter(&p, Some("张伟"), Some("19672167669"), None, At::default());
        assert_eq!(l, OwnerLink::Unknown);
        let (l, _) = reporter(&p, Some("陈女士"), Some("19672167669"), None, At::default());
        assert_eq!(l, OwnerLink::Unknown);
        // A family phone: the full name picks one; a surname or none does not.
        let (l, _) = reporter(&p, Some("王强"), Some("13900000000"), None, At::default());
        assert_eq!(l, OwnerLink::ById("P-4".into()));
        let (l, _) = reporter(&p, Some("王先生"), Some("13900000000"), None, At::default());
        assert_ne!(l, OwnerLink::ById("P-4".into()));
        assert_ne!(l, OwnerLink::ById("P-3".into()));
        let (l, _) = reporter(&p, Some("匿名"), Some("13900000000"), None, At::default());
        assert!(!matches!(l, OwnerLink::ById(_)));
    }

    #[test]
    fn a_full_name_with_the_places_an_ambiguous_address_fits() {
        let p = people();
        let fits = [room("8", "301"), room("12", "301")];
        let at = At {
            place: None,
            candidates: &fits,
        };
        let (l, _) = reporter(&p, Some("陆婷婷"), None, None, at);
        assert_eq!(l, OwnerLink::ByNameAndPlace("P-1".into()));
        let (l, _) = reporter(&p, Some("宋建华"), None, None, at);
        assert_eq!(l, OwnerLink::Unknown, "placed at neither");
    }
}
