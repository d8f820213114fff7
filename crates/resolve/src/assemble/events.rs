//! Incidents: reports grouped by [`crate::event::incidents`] (categories mapped onto a common
//! vocabulary by configuration), one golden incident per group, each report linked to its
//! reporter when the evidence suffices ([`crate::reporter`]).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, Provenance};

use super::{Places, RecordLink, Role};
use crate::event::Report;
use crate::house::{OwnerLink, Owners};
use crate::ids;
use crate::place::{descend, same_place, settle, Level, PlaceKey};
use crate::reporter::At;
use crate::{survivorship, Input, Result, SurvivorshipConfig};

/// How reports become incidents.
#[derive(Debug, Clone)]
pub struct EventRules {
    /// How long after an incident's first report a report can still be of it, in minutes.
    pub window_minutes: i64,
    /// A source's category → the common category.
    pub categories: BTreeMap<String, String>,
}

/// Golden incidents, their reporters, and reports placed through their incident.
#[derive(Debug, Default)]
pub struct Incidents {
    pub goldens: Vec<GoldenRecord>,
    pub links: Vec<Link>,
    pub retired: BTreeMap<String, String>,
    /// Reports → their reporter's golden person, or why none.
    pub reporters: Vec<RecordLink>,
    /// Ambiguous reports placed by the incident they joined (replacing their place link).
    pub placed: Vec<RecordLink>,
}

fn minutes(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp().div_euclid(60))
}

/// A report placed at `at` by `rule`.
fn placed(key: &(String, String), at: &PlaceKey, rule: &str) -> RecordLink {
    RecordLink {
        source: key.0.clone(),
        record_key: key.1.clone(),
        entity: EntityKind::Event,
        role: Role::Place,
        golden_id: Some(at.golden_id()),
        rule: rule.to_owned(),
    }
}

/// The deepest place every key lies in (or is): the incident's place.
fn common(keys: &[&PlaceKey]) -> Option<PlaceKey> {
    let first = keys.first()?;
    first
        .lineage()
        .into_iter()
        .find(|up| keys.iter().all(|k| k.lineage().contains(up)))
}

/// The incidents of `records` (event reports).
pub fn incidents(
    records: &[Input],
    places: &Places,
    people: &Owners,
    rules: &EventRules,
    before: super::Before<'_>,
    survivorship: &SurvivorshipConfig,
    now: &str,
) -> Result<Incidents> {
    let at = |r: &Input| (r.source.clone(), r.record.key.clone());
    let category = |r: &Input| {
        let c = r.record.get(id::CATEGORY).unwrap_or_default();
        rules.categories.get(c).map_or(c, String::as_str).to_owned()
    };
    let mut out = Incidents::default();
    // Reporters first: a report whose address fits several places is at the one its
    // reporter's other records put them at, when exactly one fits.
    let mut reporters = Vec::with_capacity(records.len());
    let mut settled: Vec<Option<PlaceKey>> = Vec::with_capacity(records.len());
    for r in records {
        let key = at(r);
        let candidates = places
            .candidates
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (link, why) = crate::reporter::reporter(
            people,
            r.record.get(id::REPORTER_NAME),
            r.record.get(id::REPORTER_PHONE),
            r.record.get(id::REPORTER_ID),
            At {
                place: places.keys.get(&key),
                candidates,
            },
        );
        let golden_id = match link {
            OwnerLink::ById(p) | OwnerLink::ByNameAndPlace(p) => Some(p),
            OwnerLink::Ambiguous(_) | OwnerLink::Unknown => None,
        };
        let home = golden_id
            .as_deref()
            .filter(|_| !candidates.is_empty())
            .and_then(|g| settle(candidates, people.places_of(g)))
            .map(|k| match super::address_of(&r.record) {
                Some(written) => descend(k, &written),
                None => k,
            });
        if let Some(k) = &home {
            out.placed
                .push(placed(&key, k, "settled by the reporter's other records"));
        }
        settled.push(home);
        reporters.push(RecordLink {
            source: key.0,
            record_key: key.1,
            entity: EntityKind::Event,
            role: Role::Reporter,
            golden_id,
            rule: why.to_owned(),
        });
    }
    out.reporters = reporters;
    let reports: Vec<Report> = records
        .iter()
        .zip(&settled)
        .map(|(r, home)| {
            let when = r.record.get(id::REPORTED_AT).and_then(minutes);
            let key = at(r);
            let place = home.clone().or_else(|| places.keys.get(&key).cloned());
            Report {
                category: category(r),
                at_minutes: when.unwrap_or_default(),
                // Without a time nothing says a report is of the same incident as another.
                place: when.and(place.clone()),
                candidates: match (when, place) {
                    (Some(_), None) => places.candidates.get(&key).cloned().unwrap_or_default(),
                    _ => Vec::new(),
                },
            }
        })
        .collect();
    // Stewards' merges and splits of incidents, over the rule's groups.
    let groups = crate::overrides::apply(
        crate::event::incidents(&reports, rules.window_minutes),
        &crate::overrides::positions(records, before.decisions),
    );
    let assignment = ids::assign(EntityKind::Event, records, &groups, before.previous);
    out.retired = assignment.retired;
    for (members, gid) in groups.iter().zip(&assignment.ids) {
        let mut g =
            survivorship::golden(EntityKind::Event, gid, records, members, survivorship, now)?;
        g.merged_from = assignment.merged_from.get(gid).cloned().unwrap_or_default();
        let first = &records[members[0]];
        let from = at(first);
        let mut set = |field: &str, value: String, rule: &str| {
            g.provenance.retain(|p| p.field != field);
            g.provenance.push(Provenance {
                field: field.to_owned(),
                source: from.0.clone(),
                record_key: from.1.clone(),
                observed_at: first.record.observed_at.clone(),
                rule: rule.to_owned(),
            });
            g.values.insert(field.to_owned(), value);
        };
        set(
            id::CATEGORY,
            reports[members[0]].category.clone(),
            "category mapping",
        );
        if let Some(t) = first.record.get(id::REPORTED_AT) {
            set(id::REPORTED_AT, t.to_owned(), "first report");
        }
        set(id::REPORTS, members.len().to_string(), "incident");
        let at_places: Vec<&PlaceKey> = members
            .iter()
            .filter_map(|&m| reports[m].place.as_ref())
            .collect();
        let place = common(&at_places);
        if let Some(p) = &place {
            set(id::PLACE_ID, p.golden_id(), "incident");
            // The building it is in (or is), for whoever may know the building but not the room.
            if let Some(b) = p
                .lineage()
                .into_iter()
                .find(|k| k.level() == Level::Building)
            {
                set(id::BUILDING_ID, b.golden_id(), "incident");
            }
        }
        g.provenance.sort_by(|a, b| a.field.cmp(&b.field));
        for &m in members {
            let r = &records[m];
            let key = at(r);
            // An ambiguous report that joined a placed incident: the candidate it shares.
            if let (None, false, Some(p)) =
                (&reports[m].place, reports[m].candidates.is_empty(), &place)
            {
                let fits: Vec<&PlaceKey> = reports[m]
                    .candidates
                    .iter()
                    .filter(|c| same_place(c, p))
                    .collect();
                if let [one] = fits.as_slice() {
                    let k = if one.level() >= p.level() { *one } else { p };
                    out.placed
                        .push(placed(&key, k, "settled by the incident's other reports"));
                }
            }
            out.links.push(Link {
                source: key.0,
                record_key: key.1,
                golden_id: gid.clone(),
                rule: if members.len() > 1 {
                    "same category, place and time window".into()
                } else {
                    "single report".into()
                },
                evidence: None,
            });
        }
        out.goldens.push(g);
    }
    Ok(out)
}
