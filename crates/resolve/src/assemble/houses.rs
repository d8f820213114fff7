//! Houses: one golden house per house record (the housing registry's unit number is the
//! house's identity), at its room, with its owner's golden person when the evidence suffices;
//! records a steward merged (the same house registered twice) make one.

use std::collections::BTreeMap;

use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, Provenance};

use super::{Places, RecordLink, Role};
use crate::house::{OwnerLink, Owners};
use crate::ids;
use crate::{survivorship, Input, Result, SurvivorshipConfig};

/// Golden houses and their owners. The golden houses themselves are made on demand, a range
/// at a time ([`Houses::goldens`]).
#[derive(Debug, Default)]
pub struct Houses {
    /// The records of each golden house (one each unless a steward merged them).
    groups: Vec<Vec<usize>>,
    /// Each group's golden id.
    ids: Vec<String>,
    merged_from: BTreeMap<String, Vec<String>>,
    pub links: Vec<Link>,
    /// Retired golden id → the id it was merged into.
    pub retired: BTreeMap<String, String>,
    /// House records → their owner's golden person, or why none.
    pub owners: Vec<RecordLink>,
}

impl Houses {
    /// How many golden houses there are.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The golden houses of `range` (clamped to [`Houses::len`]) and their records' links;
    /// `records` and `places` are those [`houses`] was given.
    pub fn goldens(
        &self,
        range: std::ops::Range<usize>,
        records: &[Input],
        places: &Places,
        survivorship: &SurvivorshipConfig,
        now: &str,
    ) -> Result<(Vec<GoldenRecord>, Vec<Link>)> {
        let end = range.end.min(self.ids.len());
        let start = range.start.min(end);
        let mut goldens = Vec::with_capacity(end - start);
        let mut links = Vec::with_capacity(end - start);
        for (members, gid) in self.groups[start..end].iter().zip(&self.ids[start..end]) {
            let mut g =
                survivorship::golden(EntityKind::House, gid, records, members, survivorship, now)?;
            g.merged_from = self.merged_from.get(gid).cloned().unwrap_or_default();
            let placed = members.iter().find_map(|&i| {
                let r = &records[i];
                places
                    .keys
                    .get(&(r.source.clone(), r.record.key.clone()))
                    .map(|k| (r, k))
            });
            if let Some((r, k)) = placed {
                g.values.insert(id::PLACE_ID.into(), k.golden_id());
                g.provenance.push(Provenance {
                    field: id::PLACE_ID.into(),
                    source: r.source.clone(),
                    record_key: r.record.key.clone(),
                    observed_at: r.record.observed_at.clone(),
                    rule: "placed".into(),
                });
            }
            links.extend(members.iter().map(|&i| Link {
                source: records[i].source.clone(),
                record_key: records[i].record.key.clone(),
                golden_id: gid.clone(),
                rule: if members.len() > 1 { "manual" } else { "house" }.into(),
                evidence: None,
            }));
            goldens.push(g);
        }
        Ok((goldens, links))
    }
}

/// The golden houses of `records`, placed by `places`, owned as `people` says.
pub fn houses(
    records: &[Input],
    places: &Places,
    people: &Owners,
    before: super::Before<'_>,
) -> Houses {
    let singles: Vec<Vec<usize>> = (0..records.len()).map(|i| vec![i]).collect();
    let groups = crate::overrides::apply(
        singles,
        &crate::overrides::positions(records, before.decisions),
    );
    let assignment = ids::assign(EntityKind::House, records, &groups, before.previous);
    let mut out = Houses {
        retired: assignment.retired,
        merged_from: assignment.merged_from,
        ..Houses::default()
    };
    let mut golden_of = vec![(String::new(), "house"); records.len()];
    for (members, gid) in groups.iter().zip(&assignment.ids) {
        for &i in members {
            golden_of[i] = (
                gid.clone(),
                if members.len() > 1 { "manual" } else { "house" },
            );
        }
    }
    for (r, (gid, link_rule)) in records.iter().zip(golden_of) {
        let at = (r.source.clone(), r.record.key.clone());
        let place = places.keys.get(&at);
        let link = people.owner(
            r.record.get(id::OWNER_NAME),
            r.record.get(id::OWNER_ID),
            place,
        );
        let (golden_id, rule) = match link {
            OwnerLink::ById(p) => (Some(p), "resident ID".to_owned()),
            OwnerLink::ByNameAndPlace(p) => (Some(p), "name and place".to_owned()),
            OwnerLink::Ambiguous(v) => (None, format!("ambiguous: {} people fit", v.len())),
            OwnerLink::Unknown => (None, "no person fits".to_owned()),
        };
        out.owners.push(RecordLink {
            source: at.0.clone(),
            record_key: at.1.clone(),
            entity: EntityKind::House,
            role: Role::Owner,
            golden_id,
            rule,
        });
        out.links.push(Link {
            source: at.0,
            record_key: at.1,
            golden_id: gid,
            rule: link_rule.into(),
            evidence: None,
        });
    }
    out.groups = groups;
    out.ids = assignment.ids;
    out
}
