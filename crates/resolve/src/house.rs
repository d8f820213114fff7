//! Houses' owners: a house record (不动产) names its owner by resident ID and name; it links to
//! the owner's golden person by the ID when a person holds it, else by the name with the house's
//! place as evidence (a person of that name placed at the house, or in its building). Two
//! different valid IDs never link: a person who holds a valid ID other than the house's is never
//! its owner by name.

use std::collections::{BTreeSet, HashMap};

use crate::place::{same_place, PlaceKey};

/// How a house record is linked to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerLink {
    /// The golden person holding the house's resident ID.
    ById(String),
    /// The one person of the owner's name placed at the house.
    ByNameAndPlace(String),
    /// Several people fit: left to a steward, never a guess.
    Ambiguous(Vec<String>),
    /// Nobody in the base fits.
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Person {
    pub(crate) resident_id: Option<String>,
    pub(crate) names: BTreeSet<String>,
    pub(crate) places: Vec<PlaceKey>,
}

/// The golden people, indexed for finding owners (and, by [`crate::reporter`], reporters).
#[derive(Debug, Clone, Default)]
pub struct Owners {
    pub(crate) people: HashMap<String, Person>,
    pub(crate) by_id: HashMap<String, BTreeSet<String>>,
    pub(crate) by_name: HashMap<String, BTreeSet<String>>,
    pub(crate) by_phone: HashMap<String, BTreeSet<String>>,
}

impl Owners {
    /// Adds a golden person: its names (every spelling its records give), its valid resident ID
    /// and the places its records put it at.
    pub fn add(
        &mut self,
        golden_id: &str,
        names: &[&str],
        resident_id: Option<&str>,
        places: &[PlaceKey],
    ) {
        if let Some(id) = resident_id {
            self.by_id
                .entry(id.to_owned())
                .or_default()
                .insert(golden_id.to_owned());
        }
        for n in names {
            self.by_name
                .entry((*n).to_owned())
                .or_default()
                .insert(golden_id.to_owned());
        }
        let p = self.people.entry(golden_id.to_owned()).or_default();
        p.resident_id = p.resident_id.take().or(resident_id.map(str::to_owned));
        p.names.extend(names.iter().map(|n| (*n).to_owned()));
        p.places.extend_from_slice(places);
    }

    /// Adds the phones a golden person's records give.
    pub fn add_phones(&mut self, golden_id: &str, phones: &[&str]) {
        for p in phones {
            self.by_phone
                .entry((*p).to_owned())
                .or_default()
                .insert(golden_id.to_owned());
        }
    }

    /// The places a golden person's records put them at.
    pub fn places_of(&self, golden_id: &str) -> &[PlaceKey] {
        self.people
            .get(golden_id)
            .map(|p| p.places.as_slice())
            .unwrap_or_default()
    }

    /// How many golden people the index holds.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// The owner of a house: `resident_id` only when it validated, `place` where the house is.
    pub fn owner(
        &self,
        name: Option<&str>,
        resident_id: Option<&str>,
        place: Option<&PlaceKey>,
    ) -> OwnerLink {
        if let Some(found) = resident_id.and_then(|id| self.by_id.get(id)) {
            return one(found.iter().cloned().collect(), OwnerLink::ById);
        }
        let (Some(name), Some(place)) = (name, place) else {
            return OwnerLink::Unknown;
        };
        let Some(named) = self.by_name.get(name) else {
            return OwnerLink::Unknown;
        };
        let fits: Vec<String> = named
            .iter()
            .filter(|g| {
                let Some(p) = self.people.get(*g) else {
                    return false;
                };
                let id_agrees = match (&p.resident_id, resident_id) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                id_agrees && p.places.iter().any(|k| same_place(k, place))
            })
            .cloned()
            .collect();
        one(fits, OwnerLink::ByNameAndPlace)
    }
}

fn one(mut found: Vec<String>, link: fn(String) -> OwnerLink) -> OwnerLink {
    match found.len() {
        0 => OwnerLink::Unknown,
        1 => link(found.remove(0)),
        _ => OwnerLink::Ambiguous(found),
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

    fn owners() -> Owners {
        let mut o = Owners::default();
        o.add(
            "P-1",
            &["华桂珍"],
            Some("340102194807140755"),
            &[room("33", "301")],
        );
        o.add("P-2", &["王帆"], None, &[room("19", "1001")]);
        o.add(
            "P-3",
            &["王帆"],
            Some("340102198610109980"),
            &[room("19", "1002")],
        );
        o.add("P-4", &["李强"], None, &[room("5", "101")]);
        o.add("P-5", &["李强"], None, &[room("5", "102")]);
        o
    }

    #[test]
    fn by_id_first() {
        let o = owners();
        let link = o.owner(Some("华贵珍"), Some("340102194807140755"), None);
        assert_eq!(
            link,
            OwnerLink::ById("P-1".into()),
            "the ID wins over a typo in the name"
        );
    }

    #[test]
    fn by_name_with_the_place_as_evidence() {
        let o = owners();
        let at = room("19", "1001");
        assert_eq!(
            o.owner(Some("王帆"), None, Some(&at)),
            OwnerLink::ByNameAndPlace("P-2".into())
        );
        // The house's building is evidence enough for a person placed in one of its rooms.
        let building = at.parent().unwrap();
        let both = o.owner(Some("王帆"), None, Some(&building));
        assert!(matches!(both, OwnerLink::Ambiguous(v) if v.len() == 2));
        assert_eq!(
            o.owner(Some("王帆"), None, None),
            OwnerLink::Unknown,
            "a name alone is not enough"
        );
    }

    #[test]
    fn never_two_different_valid_ids() {
        let o = owners();
        let at = room("19", "1002");
        // P-3 holds another valid ID: a house under a different valid ID is not P-3's by name.
        assert_eq!(
            o.owner(Some("王帆"), Some("110101199003070011"), Some(&at)),
            OwnerLink::Unknown
        );
        assert_eq!(
            o.owner(Some("王帆"), None, Some(&at)),
            OwnerLink::ByNameAndPlace("P-3".into())
        );
        let li = room("5", "101").parent().unwrap();
        assert!(matches!(
            o.owner(Some("李强"), None, Some(&li)),
            OwnerLink::Ambiguous(_)
        ));
    }
}
