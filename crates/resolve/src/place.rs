//! Places: where a record's address puts it, at the most precise level its text supports.
//!
//! A place is a door (门牌: district + road + number), a building in it, or a room (unit and
//! room) in a building; each level's parent is the one above. Its identity is that key alone:
//! the street and community written beside an address disagree between sources and with the
//! registry, so they are attributes, not identity. The golden id is derived from the key, so a
//! place keeps its id across runs by construction.
//!
//! [`PlaceIndex`] holds the standard address registry (标准地址库): the places it knows, and the
//! ways a partial address can find them (a road and number without a district; a community and
//! building without a road, as the grid offices write). [`PlaceIndex::locate`] places an
//! address: precisely when its text or the registry makes that unambiguous, never by a guess.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tombolo_normalize::validate::Place;

/// The level of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 门牌: a road and a number in a district.
    Door,
    /// 楼栋.
    Building,
    /// 户室: a unit (when there is one) and a room.
    Room,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Door => "door",
            Level::Building => "building",
            Level::Room => "room",
        }
    }
}

/// One part of a place's key (a district, a road, a room number), shared: a city's keys hold
/// a few thousand distinct parts between them ([`Interner`]).
pub type Part = Arc<str>;

/// A place's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaceKey {
    pub district: Part,
    pub road: Part,
    pub number: Part,
    pub building: Option<Part>,
    /// With a room only; a room without a unit has none.
    pub unit: Option<Part>,
    pub room: Option<Part>,
}

impl PlaceKey {
    pub fn door(district: &str, road: &str, number: &str) -> Self {
        Self {
            district: district.into(),
            road: road.into(),
            number: number.into(),
            building: None,
            unit: None,
            room: None,
        }
    }

    pub fn level(&self) -> Level {
        match (&self.building, &self.room) {
            (_, Some(_)) => Level::Room,
            (Some(_), None) => Level::Building,
            (None, None) => Level::Door,
        }
    }

    /// The place one level up; `None` for a door.
    pub fn parent(&self) -> Option<PlaceKey> {
        match self.level() {
            Level::Door => None,
            Level::Building => Some(Self {
                building: None,
                unit: None,
                room: None,
                ..self.clone()
            }),
            Level::Room => Some(Self {
                unit: None,
                room: None,
                ..self.clone()
            }),
        }
    }

    /// The key with every level above it, the place itself first.
    pub fn lineage(&self) -> Vec<PlaceKey> {
        let mut out = vec![self.clone()];
        while let Some(p) = out.last().and_then(PlaceKey::parent) {
            out.push(p);
        }
        out
    }

    /// The place as one line in the canonical spelling (`蜀山区长江西路12号3栋2单元301室`).
    pub fn text(&self) -> String {
        let mut s = format!("{}{}{}号", self.district, self.road, self.number);
        if let Some(b) = &self.building {
            s.push_str(b);
            s.push('栋');
        }
        if let Some(u) = &self.unit {
            s.push_str(u);
            s.push_str("单元");
        }
        if let Some(r) = &self.room {
            s.push_str(r);
            s.push('室');
        }
        s
    }

    /// The golden id of the place: `L-` and the first 16 hex digits of the SHA-256 of its
    /// canonical text (stable for as long as the key is).
    pub fn golden_id(&self) -> String {
        let digest = Sha256::digest(self.text().as_bytes());
        format!("L-{}", hex::encode(&digest[..8]))
    }
}

/// Makes equal parts one: every key passed through it shares its strings with the keys
/// passed before, so the millions of keys a city's records name cost a few pointers each.
#[derive(Debug, Default)]
pub struct Interner {
    parts: HashSet<Part>,
}

impl Interner {
    fn part(&mut self, p: &Part) -> Part {
        if let Some(kept) = self.parts.get(p) {
            return kept.clone();
        }
        self.parts.insert(p.clone());
        p.clone()
    }

    /// `key` with its parts shared.
    pub fn key(&mut self, key: &PlaceKey) -> PlaceKey {
        PlaceKey {
            district: self.part(&key.district),
            road: self.part(&key.road),
            number: self.part(&key.number),
            building: key.building.as_ref().map(|p| self.part(p)),
            unit: key.unit.as_ref().map(|p| self.part(p)),
            room: key.room.as_ref().map(|p| self.part(p)),
        }
    }

    /// Where an address was located, its keys' parts shared.
    pub fn located(&mut self, located: Located) -> Located {
        match located {
            Located::Place(k) => Located::Place(self.key(&k)),
            Located::Ambiguous(ks) => Located::Ambiguous(ks.iter().map(|k| self.key(k)).collect()),
            vague => vague,
        }
    }
}

/// Where an address puts a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// The most precise place the text supports.
    Place(PlaceKey),
    /// Several places fit (a community and building the registry holds on two roads).
    Ambiguous(Vec<PlaceKey>),
    /// Too little to place it (a district alone; a community and building the registry does
    /// not hold), with the reason.
    Vague(&'static str),
}

/// A district that holds a door, with the community the registry puts the door in.
type DistrictOf = (String, Option<String>);

/// The standard address registry, indexed for placing partial addresses.
#[derive(Debug, Default, Clone)]
pub struct PlaceIndex {
    /// Every registered place, and every place above one.
    known: HashSet<PlaceKey>,
    /// (road, number) → the districts with such a door, each with the community the registry
    /// puts it in.
    districts: HashMap<(String, String), BTreeSet<DistrictOf>>,
    /// Every district the registry names (a county-level city such as `巢湖市` among them).
    district_names: HashSet<String>,
    /// (community, building) → the buildings so called.
    buildings: HashMap<(String, String), BTreeSet<PlaceKey>>,
    /// (community, building, unit, room) → the rooms so called.
    rooms: HashMap<(String, String, String, String), BTreeSet<PlaceKey>>,
}

impl PlaceIndex {
    /// Adds one registry row (a room, usually) with the community it lies in.
    pub fn register(&mut self, key: &PlaceKey, community: Option<&str>) {
        self.district_names.insert(key.district.to_string());
        self.districts
            .entry((key.road.to_string(), key.number.to_string()))
            .or_default()
            .insert((key.district.to_string(), community.map(str::to_owned)));
        for k in key.lineage() {
            if let (Some(c), Some(b)) = (community, &k.building) {
                let (c, b) = (c.to_owned(), b.to_string());
                match (k.level(), &k.room) {
                    (Level::Building, _) => {
                        self.buildings.entry((c, b)).or_default().insert(k.clone());
                    }
                    (Level::Room, Some(r)) => {
                        let u = k.unit.as_deref().unwrap_or_default().to_owned();
                        let at = (c, b, u, r.to_string());
                        self.rooms.entry(at).or_default().insert(k.clone());
                    }
                    _ => {}
                }
            }
            self.known.insert(k);
        }
    }

    /// Learns a door the registry does not hold from a record that names its district (and
    /// community): an address that gives the same road and number without a district then
    /// finds both districts, and is ambiguous rather than put in the registry's one.
    pub fn learn_door(&mut self, key: &PlaceKey, community: Option<&str>) {
        let door = PlaceKey::door(&key.district, &key.road, &key.number);
        if self.known.contains(&door) {
            return;
        }
        self.districts
            .entry((door.road.to_string(), door.number.to_string()))
            .or_default()
            .insert((door.district.to_string(), community.map(str::to_owned)));
    }

    /// Whether the registry holds the place.
    pub fn is_registered(&self, key: &PlaceKey) -> bool {
        self.known.contains(key)
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Places an address: by its district, road and number when it has them (the district
    /// found from the registry when only one district has that door), else by its community
    /// and building when the registry holds exactly one such building; then as far down as the
    /// text goes (building, then unit and room). `near` stops at the door.
    pub fn locate(&self, w: &Place) -> Located {
        let door = match (&w.road, &w.number) {
            (Some(road), Some(number)) => {
                // A county-level city (`巢湖市`) reads as a city when nothing follows it: it
                // is the district when the registry knows a district of that name.
                let written = w
                    .district
                    .as_ref()
                    .or(w.city.as_ref().filter(|c| self.district_names.contains(*c)));
                let district = match written {
                    Some(d) => Some(d.clone()),
                    None => match self.districts.get(&(road.clone(), number.clone())) {
                        Some(ds) => match one_district(ds, w.community.as_deref()) {
                            Ok(d) => Some(d),
                            Err(ds) => {
                                let doors = ds.iter().map(|d| PlaceKey::door(d, road, number));
                                return Located::Ambiguous(doors.collect());
                            }
                        },
                        None => None,
                    },
                };
                match district {
                    Some(d) => PlaceKey::door(&d, road, number),
                    None => return Located::Vague("a road and number in no known district"),
                }
            }
            _ => return self.by_community(w),
        };
        if w.near {
            return Located::Place(door);
        }
        Located::Place(below(door, w))
    }

    /// A community and building (and room), no road: the one registered room or building so
    /// called. A room narrows a building that stands on several roads.
    fn by_community(&self, w: &Place) -> Located {
        let (Some(community), Some(building)) = (&w.community, &w.building) else {
            return Located::Vague("no road and number, and no community and building");
        };
        if let (Some(room), false) = (&w.room, w.near) {
            let unit = w.unit.clone().unwrap_or_default();
            let at = (community.clone(), building.clone(), unit, room.clone());
            match self.rooms.get(&at) {
                Some(found) if found.len() == 1 => {
                    if let Some(k) = found.iter().next() {
                        return Located::Place(k.clone());
                    }
                }
                Some(found) => return Located::Ambiguous(found.iter().cloned().collect()),
                None => {}
            }
        }
        match self.buildings.get(&(community.clone(), building.clone())) {
            Some(found) if found.len() == 1 => match found.iter().next() {
                Some(b) if w.near => Located::Place(b.clone()),
                Some(b) => Located::Place(below(b.clone(), w)),
                None => Located::Vague("no such building"),
            },
            Some(found) => Located::Ambiguous(found.iter().cloned().collect()),
            None => Located::Vague("a community and building the registry does not hold"),
        }
    }
}

/// Whether two places are one at the coarser of their levels (one is the other or above it).
pub fn same_place(a: &PlaceKey, b: &PlaceKey) -> bool {
    let (fine, coarse) = if a.level() >= b.level() {
        (a, b)
    } else {
        (b, a)
    };
    // The coarse place is the fine one or above it: the same door, and below the door the
    // same parts down to the coarse place's level.
    fine.district == coarse.district
        && fine.road == coarse.road
        && fine.number == coarse.number
        && match coarse.level() {
            Level::Door => true,
            Level::Building => fine.building == coarse.building,
            Level::Room => fine == coarse,
        }
}

/// Where the same entity's other records put an address written without a road (a community
/// and building, unit and room, as the grid offices write): the one `known` place whose
/// building, unit and room are the written ones, at the level written. It holds for a building
/// the registry does not have, where [`settle`] has no candidate to choose. `None` when no
/// place or several fit.
pub fn settle_written(w: &Place, known: &[PlaceKey]) -> Option<PlaceKey> {
    let building = w.building.as_ref()?;
    let fits = |k: &&PlaceKey| {
        k.building.as_deref() == Some(building.as_str())
            && match &w.room {
                Some(room) => {
                    k.room.as_deref() == Some(room.as_str())
                        && (w.unit.is_none() || k.unit.as_deref() == w.unit.as_deref())
                }
                None => true,
            }
    };
    let mut found: BTreeSet<PlaceKey> = BTreeSet::new();
    for k in known.iter().filter(fits) {
        let at = if w.room.is_some() {
            k.clone()
        } else {
            PlaceKey {
                unit: None,
                room: None,
                ..k.clone()
            }
        };
        found.insert(at);
    }
    match found.len() {
        1 => found.pop_first(),
        _ => None,
    }
}

/// `key` (a door or building an address was settled at) as far down as the written address
/// goes.
pub fn descend(key: PlaceKey, w: &Place) -> PlaceKey {
    if w.near {
        key
    } else {
        below(key, w)
    }
}

/// The one of an ambiguous address's `candidates` that the same entity's other records put it
/// at: the only candidate that one of the `known` places (from its other records) is, lies in
/// or contains. `None` when none or several fit: still no guess.
pub fn settle(candidates: &[PlaceKey], known: &[PlaceKey]) -> Option<PlaceKey> {
    let fits = |c: &PlaceKey| known.iter().any(|k| same_place(c, k));
    let mut fitting = candidates.iter().filter(|c| fits(c));
    match (fitting.next(), fitting.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}

/// The one district among `found` (with their communities): the only one, or the only one in
/// the community written; else all the districts that fit.
fn one_district(
    found: &BTreeSet<DistrictOf>,
    community: Option<&str>,
) -> std::result::Result<String, Vec<String>> {
    let mut all: Vec<String> = found.iter().map(|(d, _)| d.clone()).collect();
    all.dedup();
    if all.len() == 1 {
        return Ok(all.remove(0));
    }
    let mut matching: Vec<String> = found
        .iter()
        .filter(|(_, c)| community.is_some() && c.as_deref() == community)
        .map(|(d, _)| d.clone())
        .collect();
    matching.dedup();
    if matching.len() == 1 {
        Ok(matching.remove(0))
    } else {
        Err(all)
    }
}

/// `at` (a door or a building) made as precise as the written building, unit and room allow.
fn below(at: PlaceKey, w: &Place) -> PlaceKey {
    let mut key = at;
    if key.building.is_none() {
        match &w.building {
            Some(b) => key.building = Some(b.as_str().into()),
            None => return key,
        }
    }
    if let Some(room) = &w.room {
        key.unit = w.unit.as_deref().map(Into::into);
        key.room = Some(room.as_str().into());
    }
    key
}

#[cfg(test)]
mod tests;
