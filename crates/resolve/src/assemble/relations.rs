//! Relationships between golden records, derived from the records that assert them: a
//! person's or organisation's record placed at a place (lives at, located at), a house record's
//! owner (owns), an incident's place (happened at) and each report's reporter (reported by), a
//! social-security record's employer by credit code (works for), an organisation's legal
//! representative named in its register when the name is backed by evidence (legal
//! representative of). Each relationship is keyed by its kind and both golden ids, so it is
//! derived again from the crosswalks as they stand: a golden id merged away no longer appears,
//! and its relationships are the survivor's.

use std::collections::{BTreeMap, HashMap};

use tombolo_core::{EntityKind, Link, RecordLink, Relation, RelationKind};

use crate::house::Owners;
use crate::place::{same_place, Level, PlaceKey};

/// What relationships are derived from: the golden record each record is in (every kind), the
/// records' links to golden records of other kinds, each record's time, the incidents' places,
/// and the employer credit codes of social-security records.
#[derive(Debug, Default)]
pub struct Asserted<'a> {
    /// (source, key) → (the record's kind, its golden id).
    pub goldens: HashMap<(&'a str, &'a str), (EntityKind, &'a str)>,
    pub links: Vec<&'a RecordLink>,
    pub observed: HashMap<(&'a str, &'a str), &'a str>,
    /// Incident golden id → its place's golden id, with the report that first placed it.
    pub incident_places: Vec<(&'a str, &'a str, (&'a str, &'a str))>,
    /// Person records naming an employer's credit code: (source, key, credit code).
    pub employers: Vec<(&'a str, &'a str, &'a str)>,
    /// Credit code → the organisation's golden id.
    pub organisations: HashMap<&'a str, &'a str>,
    /// Organisation records naming their legal representative: (source, key, name).
    pub representatives: Vec<(&'a str, &'a str, &'a str)>,
    /// The golden people by name and place, for the representatives.
    pub people: Option<&'a Owners>,
    /// Where each placed record is, for the representatives.
    pub places: Option<&'a HashMap<(String, String), PlaceKey>>,
}

impl<'a> Asserted<'a> {
    /// Adds a kind's crosswalk.
    pub fn crosswalk(&mut self, entity: EntityKind, links: &'a [Link]) {
        for l in links {
            self.goldens.insert(
                (l.source.as_str(), l.record_key.as_str()),
                (entity, l.golden_id.as_str()),
            );
        }
    }
}

/// Every relationship the records assert, one per key (the first asserting record, in source
/// and key order, stands for all).
pub fn relations(a: &Asserted<'_>) -> Vec<Relation> {
    let mut out: BTreeMap<(RelationKind, String, String), Relation> = BTreeMap::new();
    let mut add = |kind: RelationKind, from: &str, to: &str, at: (&str, &str)| {
        let candidate = Relation {
            kind,
            from: from.to_owned(),
            to: to.to_owned(),
            source: at.0.to_owned(),
            record_key: at.1.to_owned(),
            observed_at: a.observed.get(&at).map(|t| (*t).to_owned()),
        };
        out.entry((kind, from.to_owned(), to.to_owned()))
            .and_modify(|r| {
                if (candidate.source.as_str(), candidate.record_key.as_str())
                    < (r.source.as_str(), r.record_key.as_str())
                {
                    *r = candidate.clone();
                }
            })
            .or_insert(candidate);
    };
    for l in &a.links {
        let Some(target) = l.golden_id.as_deref() else {
            continue;
        };
        let at = (l.source.as_str(), l.record_key.as_str());
        let Some(&(entity, own)) = a.goldens.get(&at) else {
            continue;
        };
        let kind = match (l.role, entity) {
            (tombolo_core::LinkRole::Place, EntityKind::Person) => RelationKind::LivesAt,
            (tombolo_core::LinkRole::Place, EntityKind::Organization) => RelationKind::LocatedAt,
            (tombolo_core::LinkRole::Owner, EntityKind::House) => {
                // The person owns the house.
                add(RelationKind::Owns, target, own, at);
                continue;
            }
            (tombolo_core::LinkRole::Reporter, EntityKind::Event) => RelationKind::ReportedBy,
            // A house's room and a report's own place are the house's and the incident's
            // attributes (`place_id`), not relationships of their own.
            _ => continue,
        };
        add(kind, own, target, at);
    }
    for &(incident, place, at) in &a.incident_places {
        add(RelationKind::HappenedAt, incident, place, at);
    }
    for &(source, key, code) in &a.employers {
        let (Some(&(EntityKind::Person, person)), Some(org)) =
            (a.goldens.get(&(source, key)), a.organisations.get(code))
        else {
            continue;
        };
        add(RelationKind::WorksFor, person, org, (source, key));
    }
    for (person, org, at) in representatives(a) {
        add(RelationKind::LegalRepresentativeOf, person, org, at);
    }
    out.into_values().collect()
}

/// The legal representatives the registers name, where the name is backed by evidence: the one
/// golden person of that name who lives in the building (or room) the organisation is
/// registered at. A register gives the name alone, and a name alone is no evidence; nor is a
/// namesake on the organisation's payroll (common names repeat in any large employer: measured
/// on the islands data, both such links were wrong), a district, or a door that a compound
/// shares. When nobody or several people fit, nothing is derived.
fn representatives<'a>(a: &Asserted<'a>) -> Vec<(&'a str, &'a str, (&'a str, &'a str))> {
    let (Some(people), Some(places)) = (a.people, a.places) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &(source, key, name) in &a.representatives {
        let Some(&(EntityKind::Organization, org)) = a.goldens.get(&(source, key)) else {
            continue;
        };
        let Some(named) = people.by_name.get(name) else {
            continue;
        };
        let Some(seat) = places.get(&(source.to_owned(), key.to_owned())) else {
            continue;
        };
        if seat.level() < Level::Building {
            continue;
        }
        let fits: Vec<&str> = named
            .iter()
            .map(String::as_str)
            .filter(|person| {
                people
                    .places_of(person)
                    .iter()
                    .any(|home| home.level() >= Level::Building && same_place(home, seat))
            })
            .collect();
        if let [person] = fits.as_slice() {
            out.push((*person, org, (source, key)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombolo_core::LinkRole;

    fn link(source: &str, key: &str, entity: EntityKind, role: LinkRole, to: &str) -> RecordLink {
        RecordLink {
            source: source.into(),
            record_key: key.into(),
            entity,
            role,
            golden_id: Some(to.into()),
            rule: "test".into(),
        }
    }

    fn xw(source: &str, key: &str, golden: &str) -> Link {
        Link {
            source: source.into(),
            record_key: key.into(),
            golden_id: golden.into(),
            rule: "test".into(),
            evidence: None,
        }
    }

    #[test]
    fn relationships_are_keyed_by_kind_and_both_golden_ids() {
        let people = [
            xw("hukou", "1", "P-1"),
            xw("health", "9", "P-1"),
            xw("hrss", "5", "P-2"),
        ];
        let orgs = [xw("market", "91", "O-1")];
        let houses = [xw("housing", "h", "H-1")];
        let events = [xw("hotline", "t1", "E-1"), xw("grid_event", "s1", "E-1")];
        let links = [
            link("hukou", "1", EntityKind::Person, LinkRole::Place, "L-1"),
            // Another record of the same person at the same place: one relationship.
            link("health", "9", EntityKind::Person, LinkRole::Place, "L-1"),
            link(
                "market",
                "91",
                EntityKind::Organization,
                LinkRole::Place,
                "L-2",
            ),
            link("housing", "h", EntityKind::House, LinkRole::Owner, "P-1"),
            link("housing", "h", EntityKind::House, LinkRole::Place, "L-1"),
            link(
                "hotline",
                "t1",
                EntityKind::Event,
                LinkRole::Reporter,
                "P-1",
            ),
        ];
        let mut a = Asserted::default();
        for (e, x) in [
            (EntityKind::Person, &people[..]),
            (EntityKind::Organization, &orgs[..]),
            (EntityKind::House, &houses[..]),
            (EntityKind::Event, &events[..]),
        ] {
            a.crosswalk(e, x);
        }
        a.links = links.iter().collect();
        a.observed.insert(("hukou", "1"), "2024-01-01");
        a.incident_places.push(("E-1", "L-3", ("hotline", "t1")));
        a.employers.push(("hrss", "5", "91340100MA2N0YQ22X"));
        a.organisations.insert("91340100MA2N0YQ22X", "O-1");
        let r = relations(&a);
        let keys: Vec<String> = r.iter().map(Relation::key).collect();
        assert_eq!(
            keys,
            [
                "lives_at:P-1:L-1",
                "owns:P-1:H-1",
                "works_for:P-2:O-1",
                "happened_at:E-1:L-3",
                "reported_by:E-1:P-1",
                "located_at:O-1:L-2",
            ]
        );
        assert!(
            !keys
                .iter()
                .any(|k| k.starts_with("legal_representative_of")),
            "no register names a representative here"
        );
        let home = &r[0];
        assert_eq!(
            (
                home.source.as_str(),
                home.record_key.as_str(),
                home.observed_at.as_deref()
            ),
            ("health", "9", None),
            "the first asserting record in source and key order stands for all"
        );
    }

    fn room(building: &str, room: &str) -> PlaceKey {
        PlaceKey {
            building: Some(building.into()),
            unit: Some("1".into()),
            room: Some(room.into()),
            ..PlaceKey::door("蜀山区", "长江西路", "12")
        }
    }

    #[test]
    fn a_legal_representative_needs_evidence_beyond_the_name() {
        let mut people = Owners::default();
        // Two 张伟 and one 李娜: one 张伟 works for O-1, the other lives where O-2 is
        // registered; 李娜 lives at the same road and number as O-3, in another building.
        people.add("P-1", &["张伟"], None, &[room("1", "101")]);
        people.add("P-2", &["张伟"], None, &[room("2", "201")]);
        people.add("P-3", &["李娜"], None, &[room("3", "301")]);
        let person_xw = [xw("hrss", "e1", "P-1")];
        let org_xw = [
            xw("market", "m1", "O-1"),
            xw("market", "m2", "O-2"),
            xw("market", "m3", "O-3"),
            xw("market", "m4", "O-4"),
        ];
        let mut places = HashMap::new();
        places.insert(("market".to_owned(), "m2".to_owned()), room("2", "201"));
        places.insert(
            ("market".to_owned(), "m3".to_owned()),
            PlaceKey {
                building: Some("9".into()),
                ..PlaceKey::door("蜀山区", "长江西路", "12")
            },
        );
        places.insert(
            ("market".to_owned(), "m4".to_owned()),
            PlaceKey::door("蜀山区", "长江西路", "12"),
        );
        let mut a = Asserted::default();
        a.crosswalk(EntityKind::Person, &person_xw);
        a.crosswalk(EntityKind::Organization, &org_xw);
        a.employers.push(("hrss", "e1", "CODE-1"));
        a.organisations.insert("CODE-1", "O-1");
        a.representatives = vec![
            ("market", "m1", "张伟"),
            ("market", "m2", "张伟"),
            ("market", "m3", "李娜"),
            ("market", "m4", "张伟"),
        ];
        a.people = Some(&people);
        a.places = Some(&places);
        let keys: Vec<String> = relations(&a)
            .iter()
            .filter(|r| r.kind == RelationKind::LegalRepresentativeOf)
            .map(Relation::key)
            .collect();
        // O-2 by the room its representative lives in. O-1's namesake on its payroll is no
        // evidence; O-3's building is not 李娜's; O-4 is known only by its door, which both
        // 张伟 share: no guess.
        assert_eq!(keys, ["legal_representative_of:P-2:O-2"]);
        // Without the index of people nothing is derived from a name.
        a.people = None;
        assert!(relations(&a)
            .iter()
            .all(|r| r.kind != RelationKind::LegalRepresentativeOf));
    }
}
