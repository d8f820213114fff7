//! Houses: one golden house per house record (the housing registry's unit number is the
//! house's identity), at its room, with its owner's golden person when the evidence suffices.

use std::collections::BTreeMap;

use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, Provenance};

use super::{Places, RecordLink, Role};
use crate::house::{OwnerLink, Owners};
use crate::ids::{self, Previous};
use crate::{survivorship, Input, Result, SurvivorshipConfig};

/// Golden houses and their owners.
#[derive(Debug, Default)]
pub struct Houses {
    pub goldens: Vec<GoldenRecord>,
    pub links: Vec<Link>,
    /// Retired golden id → the id it was merged into.
    pub retired: BTreeMap<String, String>,
    /// House records → their owner's golden person, or why none.
    pub owners: Vec<RecordLink>,
}

/// The golden houses of `records`, placed by `places`, owned as `people` says.
pub fn houses(
    records: &[Input],
    places: &Places,
    people: &Owners,
    previous: &dyn Previous,
    survivorship: &SurvivorshipConfig,
    now: &str,
) -> Result<Houses> {
    let groups: Vec<Vec<usize>> = (0..records.len()).map(|i| vec![i]).collect();
    let assignment = ids::assign(EntityKind::House, records, &groups, previous);
    let mut out = Houses {
        retired: assignment.retired,
        ..Houses::default()
    };
    for (members, gid) in groups.iter().zip(&assignment.ids) {
        let mut g =
            survivorship::golden(EntityKind::House, gid, records, members, survivorship, now)?;
        g.merged_from = assignment.merged_from.get(gid).cloned().unwrap_or_default();
        let r = &records[members[0]];
        let at = (r.source.clone(), r.record.key.clone());
        let place = places.keys.get(&at);
        if let Some(k) = place {
            g.values.insert(id::PLACE_ID.into(), k.golden_id());
            g.provenance.push(Provenance {
                field: id::PLACE_ID.into(),
                source: at.0.clone(),
                record_key: at.1.clone(),
                observed_at: r.record.observed_at.clone(),
                rule: "placed".into(),
            });
        }
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
            golden_id: gid.clone(),
            rule: "house".into(),
            evidence: None,
        });
        out.goldens.push(g);
    }
    Ok(out)
}
