//! Places: the registry's rows and every address another record names, placed at the most
//! precise level the text (or the registry, or the same entity's other records) supports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tombolo_core::fields::id;
use tombolo_core::{AddressPart, EntityKind, GoldenRecord, Link, Provenance};
use tombolo_normalize::validate::address::NEAR_MARK;
use tombolo_normalize::validate::Place;

use super::{RecordLink, Role};
use crate::place::{
    descend, settle, settle_written, Interner, Located, Part, PlaceIndex, PlaceKey,
};

const SETTLED: &str = "settled by the same owner's other records";
const OUTRANKED: &str =
    "settled by the same owner's other records (over the registry's one place so called)";

/// The places one owner's records are at: those placed by a written road and number first.
#[derive(Debug, Default)]
struct Homes {
    places: Vec<PlaceKey>,
    firm: usize,
}

impl Homes {
    fn all(&self) -> &[PlaceKey] {
        &self.places
    }

    fn firm(&self) -> &[PlaceKey] {
        &self.places[..self.firm]
    }
}

/// Whether an address writes its door (a road and a number).
fn has_door(w: &Place) -> bool {
    w.road.is_some() && w.number.is_some()
}
use crate::Input;

/// A record of another kind that names an address.
#[derive(Debug, Clone)]
pub struct Named {
    pub source: String,
    pub record_key: String,
    pub entity: EntityKind,
    /// The golden record the record itself belongs to (a person's, an organisation's), whose
    /// other records may settle an ambiguous address.
    pub owner: Option<String>,
    pub address: Place,
}

/// The address a record's values hold (`address.<part>`; `near` from the line), `None` when
/// it has none (a line without any part recognised is an address with no parts).
pub fn address_of(record: &crate::Record) -> Option<Place> {
    let mut place = Place::default();
    let mut any = false;
    for part in AddressPart::ALL {
        if let Some(v) = record.get(part.field()).filter(|v| !v.is_empty()) {
            place.set_part(part.name(), Some(v.to_owned()));
            any = true;
        }
    }
    let line = record.get(id::ADDRESS).filter(|l| !l.is_empty());
    place.near = line.is_some_and(|l| l.ends_with(NEAR_MARK));
    // A line in which no part was recognised is still an address: placed nowhere, with why.
    (any || line.is_some()).then_some(place)
}

/// The key of a registry row: its district, road and number, and below them whatever it has.
fn registry_key(record: &crate::Record) -> Result<PlaceKey, &'static str> {
    let part = |p: AddressPart| record.get(p.field()).map(Part::from);
    let (Some(district), Some(road), Some(number)) = (
        part(AddressPart::District),
        part(AddressPart::Road),
        part(AddressPart::Number),
    ) else {
        return Err("a registry row without district, road and number");
    };
    let building = part(AddressPart::Building);
    let room = building.as_ref().and(part(AddressPart::Room));
    Ok(PlaceKey {
        district,
        road,
        number,
        building,
        unit: room.as_ref().and(part(AddressPart::Unit)),
        room,
    })
}

/// One golden place to be made: its key, the registry rows it holds and where its values come
/// from when it has no row of its own.
#[derive(Debug)]
struct Entry {
    key: PlaceKey,
    members: Vec<usize>,
    origin: (String, String),
    registered: bool,
}

/// Places and what placed the records. The golden places themselves are made on demand, a
/// range at a time ([`Places::goldens`]): a city's million places are never all in memory.
#[derive(Debug, Default)]
pub struct Places {
    /// Every place: registered ones, the levels above them, and those records named that the
    /// registry does not hold (`registered = false`), in key order.
    entries: Vec<Entry>,
    /// District → its GB/T 2260 code, from the registry.
    codes: HashMap<String, String>,
    /// Registry rows no place could be made of, with the reason.
    pub unkeyed: Vec<(String, String, &'static str)>,
    /// Named records → their place, or why none.
    pub placed: Vec<RecordLink>,
    /// Where each placed record is.
    pub keys: HashMap<(String, String), PlaceKey>,
    /// The places an ambiguous address fits.
    pub candidates: HashMap<(String, String), Vec<PlaceKey>>,
    /// Places a steward merged into another ([`Places::merge`]): golden id → the id it went
    /// into.
    merged: HashMap<String, String>,
}

impl Places {
    /// How many golden places there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The golden places of `range` (clamped to [`Places::len`]) and the registry rows'
    /// links into them; `registry` is the slice [`place_all`] was given.
    pub fn goldens(
        &self,
        range: std::ops::Range<usize>,
        registry: &[Input],
        now: &str,
    ) -> (Vec<GoldenRecord>, Vec<Link>) {
        let end = range.end.min(self.entries.len());
        let start = range.start.min(end);
        let mut goldens = Vec::with_capacity(end - start);
        let mut links = Vec::new();
        for e in &self.entries[start..end] {
            let mut g = golden(e, registry, &self.codes, now);
            // A place whose parent a steward merged into another is under that one.
            if let Some(into) = g.values.get(id::PARENT_ID).and_then(|p| self.merged.get(p)) {
                g.values.insert(id::PARENT_ID.into(), into.clone());
            }
            links.extend(e.members.iter().map(|&i| Link {
                source: registry[i].source.clone(),
                record_key: registry[i].record.key.clone(),
                golden_id: g.golden_id.clone(),
                rule: "registry".into(),
                evidence: None,
            }));
            goldens.push(g);
        }
        (goldens, links)
    }
}

impl Places {
    /// Stewards' merges of places (two addresses of one place): `into` maps a golden place id
    /// to the id it is merged into (chains followed). The merged place's registry rows join
    /// the other's, every record placed at it (and every incident or house there) is placed at
    /// the other, and it is made no more. Returns the merges made (retired id → survivor):
    /// those whose two places both exist.
    pub fn merge(&mut self, into: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        if into.is_empty() {
            return BTreeMap::new();
        }
        let final_of = |id: &str| {
            let mut at = id;
            for _ in 0..into.len() {
                match into.get(at) {
                    Some(next) if next != id => at = next,
                    _ => break,
                }
            }
            at.to_owned()
        };
        let position: HashMap<String, usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.golden_id(), i))
            .collect();
        let mut retired = BTreeMap::new();
        let mut moved: HashMap<PlaceKey, PlaceKey> = HashMap::new();
        let mut gone = vec![false; self.entries.len()];
        for from in into.keys() {
            let to = final_of(from);
            let (Some(&f), Some(&t)) = (position.get(from), position.get(&to)) else {
                continue;
            };
            if f == t || gone[t] {
                continue;
            }
            let members = std::mem::take(&mut self.entries[f].members);
            self.entries[t].members.extend(members);
            self.entries[t].members.sort_unstable();
            self.entries[t].registered |= self.entries[f].registered;
            gone[f] = true;
            moved.insert(self.entries[f].key.clone(), self.entries[t].key.clone());
            retired.insert(from.clone(), to);
        }
        let mut i = 0;
        self.entries.retain(|_| {
            i += 1;
            !gone[i - 1]
        });
        for k in self.keys.values_mut() {
            if let Some(to) = moved.get(k) {
                *k = to.clone();
            }
        }
        for c in self.candidates.values_mut() {
            for k in c.iter_mut() {
                if let Some(to) = moved.get(k) {
                    *k = to.clone();
                }
            }
            c.sort();
            c.dedup();
        }
        for l in &mut self.placed {
            if let Some(to) = l.golden_id.as_ref().and_then(|g| retired.get(g)) {
                l.golden_id = Some(to.clone());
            }
        }
        self.merged = retired
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        retired
    }
}

/// Places every record: the registry indexed, each named address located, ambiguous ones
/// settled by their owner's other records, and the golden places made.
pub fn place_all(registry: &[Input], named: &[Named]) -> Places {
    let mut out = Places::default();
    let mut index = PlaceIndex::default();
    let mut interner = Interner::default();
    // Key → registry rows (indices); district → its GB/T 2260 code.
    let mut rows: BTreeMap<PlaceKey, Vec<usize>> = BTreeMap::new();
    let mut codes: HashMap<String, String> = HashMap::new();
    for (i, r) in registry.iter().enumerate() {
        match registry_key(&r.record) {
            Ok(key) => {
                let key = interner.key(&key);
                index.register(&key, r.record.get(AddressPart::Community.field()));
                if let Some(code) = r.record.get(id::DISTRICT_CODE) {
                    codes.insert(key.district.to_string(), code.to_owned());
                }
                rows.entry(key).or_default().push(i);
            }
            Err(why) => out
                .unkeyed
                .push((r.source.clone(), r.record.key.clone(), why)),
        }
    }
    // First pass: doors the registry lacks, from the records that name their district.
    for n in named.iter().filter(|n| n.address.district.is_some()) {
        if let Located::Place(k) = index.locate(&n.address) {
            index.learn_door(&k, n.address.community.as_deref());
        }
    }
    // Second pass: every address located; what each owner's records say where it is.
    let located: Vec<Located> = named
        .iter()
        .map(|n| interner.located(index.locate(&n.address)))
        .collect();
    // Each owner's places, those its records' own roads and numbers put it at first (`firm`
    // of them): a place found by community alone is the registry's guess, not the record's.
    let mut homes: HashMap<&str, Homes> = HashMap::new();
    for (n, l) in named.iter().zip(&located) {
        if let (Some(owner), Located::Place(k)) = (&n.owner, l) {
            let h = homes.entry(owner.as_str()).or_default();
            if has_door(&n.address) {
                h.places.insert(h.firm, k.clone());
                h.firm += 1;
            } else {
                h.places.push(k.clone());
            }
        }
    }
    // Where a place's values come from when it has no registry row of its own: the first
    // registry row below it, else the first record that named it.
    let mut first_named: HashMap<PlaceKey, (String, String)> = HashMap::new();
    for (key, at) in &rows {
        for up in key.lineage() {
            let r = &registry[at[0]];
            first_named
                .entry(up)
                .or_insert_with(|| (r.source.clone(), r.record.key.clone()));
        }
    }
    // Third pass: ambiguous addresses settled by the owner's other records.
    for (n, l) in named.iter().zip(located) {
        let at = (n.source.clone(), n.record_key.clone());
        let (key, rule) = match l {
            Located::Place(k) => {
                // Found by community alone (no road): the registry's one place so called.
                // The owner's records that write a road outrank it when they put the same
                // building, unit and room elsewhere (a building of that name the registry
                // does not hold): in a big city the registry's only match is not the only
                // place so called.
                let firm = (!has_door(&n.address))
                    .then(|| n.owner.as_deref().and_then(|o| homes.get(o)))
                    .flatten()
                    .and_then(|h| settle_written(&n.address, h.firm()))
                    .filter(|s| *s != k);
                match firm {
                    Some(s) => (Some(s), OUTRANKED.into()),
                    None => {
                        let rule = if index.is_registered(&k) {
                            "registry"
                        } else {
                            "created: not in the registry"
                        };
                        (Some(k), rule.to_owned())
                    }
                }
            }
            Located::Ambiguous(fits) => {
                let known = n
                    .owner
                    .as_deref()
                    .and_then(|o| homes.get(o))
                    .map(Homes::all);
                let settled = known.and_then(|k| {
                    settle(&fits, k)
                        .map(|s| descend(s, &n.address))
                        .or_else(|| settle_written(&n.address, k))
                });
                match settled {
                    // `descend` may have written parts of its own below the settled place.
                    Some(k) => (Some(interner.key(&k)), SETTLED.into()),
                    None => {
                        let rule = format!("ambiguous: {} places fit", fits.len());
                        out.candidates.insert(at.clone(), fits);
                        (None, rule)
                    }
                }
            }
            Located::Vague(why) => {
                let known = n
                    .owner
                    .as_deref()
                    .and_then(|o| homes.get(o))
                    .map(Homes::all);
                match known.and_then(|k| settle_written(&n.address, k)) {
                    Some(k) => (Some(k), SETTLED.into()),
                    None => (None, format!("vague: {why}")),
                }
            }
        };
        // Every other key is already shared: located through the interner, or settled on one
        // of the owner's (shared) places.
        if let Some(k) = &key {
            for up in k.lineage() {
                first_named.entry(up).or_insert_with(|| at.clone());
            }
            out.keys.insert(at.clone(), k.clone());
        }
        out.placed.push(RecordLink {
            source: at.0,
            record_key: at.1,
            entity: n.entity,
            role: Role::Place,
            golden_id: key.as_ref().map(PlaceKey::golden_id),
            rule,
        });
    }
    // Every place: the registry's, those named, and every level above them.
    let mut all: BTreeSet<PlaceKey> = BTreeSet::new();
    for k in rows.keys().chain(out.keys.values()) {
        all.extend(k.lineage());
    }
    out.entries = all
        .into_iter()
        .map(|key| {
            let members = rows.remove(&key).unwrap_or_default();
            let origin = first_named.remove(&key).unwrap_or_default();
            let registered = !members.is_empty() || index.is_registered(&key);
            Entry {
                key,
                members,
                origin,
                registered,
            }
        })
        .collect();
    out.codes = codes;
    out
}

/// A golden place's values as they are set, each with where it came from.
#[derive(Default)]
struct Values {
    values: BTreeMap<String, String>,
    provenance: Vec<Provenance>,
}

impl Values {
    fn set(&mut self, field: &str, value: String, rule: &str, from: &(String, String)) {
        self.provenance.push(Provenance {
            field: field.to_owned(),
            source: from.0.clone(),
            record_key: from.1.clone(),
            observed_at: None,
            rule: rule.to_owned(),
        });
        self.values.insert(field.to_owned(), value);
    }
}

fn golden(
    entry: &Entry,
    registry: &[Input],
    codes: &HashMap<String, String>,
    now: &str,
) -> GoldenRecord {
    let Entry {
        key,
        members,
        origin,
        registered,
    } = entry;
    let mut v = Values::default();
    // A registered room: the registry row's own values (its line, street and community).
    if let Some(&first) = members.first() {
        let row = &registry[first];
        let from = (row.source.clone(), row.record.key.clone());
        for (f, value) in row.record.values() {
            v.set(f, value.to_owned(), "registry", &from);
        }
    } else {
        v.set(id::ADDRESS, key.text(), "placed", origin);
    }
    // Identity parts from the key (a door's place has no building, whatever a row says).
    for (part, value) in [
        (AddressPart::District, Some(&*key.district)),
        (AddressPart::Road, Some(&*key.road)),
        (AddressPart::Number, Some(&*key.number)),
        (AddressPart::Building, key.building.as_deref()),
        (AddressPart::Unit, key.unit.as_deref()),
        (AddressPart::Room, key.room.as_deref()),
    ] {
        match value {
            Some(value) => {
                if v.values.get(part.field()).map(String::as_str) != Some(value) {
                    v.set(part.field(), value.to_owned(), "placed", origin);
                }
            }
            None => {
                v.values.remove(part.field());
            }
        }
    }
    if members.is_empty() {
        if let Some(code) = codes.get(&*key.district) {
            v.set(id::DISTRICT_CODE, code.clone(), "registry district", origin);
        }
    }
    v.set(id::LEVEL, key.level().as_str().into(), "placed", origin);
    if let Some(parent) = key.parent() {
        v.set(id::PARENT_ID, parent.golden_id(), "placed", origin);
    }
    v.set(id::REGISTERED, registered.to_string(), "placed", origin);
    let Values {
        values,
        mut provenance,
    } = v;
    // One provenance per value, the last set (the value kept).
    provenance.retain(|p| values.contains_key(&p.field));
    provenance.reverse();
    provenance.sort_by(|a, b| a.field.cmp(&b.field));
    provenance.dedup_by(|later, kept| later.field == kept.field);
    let members = crate::survivorship::source_refs(registry, members);
    GoldenRecord {
        golden_id: key.golden_id(),
        entity: EntityKind::Place,
        version: 0,
        values,
        provenance,
        members,
        merged_from: Vec::new(),
        retired_into: None,
        updated_at: now.to_owned(),
    }
}
