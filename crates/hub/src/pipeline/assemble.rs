//! Resolving the kinds placed by rule: places, houses and incidents, after people and
//! organisations (whose golden records settle ambiguous addresses, own houses and report
//! incidents). One pass loads what they need, applies `tombolo_resolve::assemble`, writes each
//! kind's golden records, crosswalk and outbox, and replaces the links from records to golden
//! records of other kinds (`record_link`).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, LinkRole, RecordLink};
use tombolo_resolve::assemble::{self, Asserted, EventRules, Named};
use tombolo_resolve::house::Owners;
use tombolo_resolve::Input;
use tombolo_store::apply::PreviousLinks;

use super::resolve::{peak_memory_mib, Links};
use super::{EntityReport, Hub};
use crate::Result;

/// Golden records written per transaction chunk.
const WRITE: usize = 4_000;

/// What one kind's assembly wrote.
struct Written<'a> {
    entity: EntityKind,
    records: u64,
    goldens: &'a [GoldenRecord],
    links: &'a [Link],
    retired: &'a BTreeMap<String, String>,
    record_links: &'a [RecordLink],
}

impl Hub {
    /// Places, houses and incidents from the records stored now (always whole: each depends on
    /// every address named anywhere and on the golden people).
    pub(super) async fn assemble(&self) -> Result<Vec<EntityReport>> {
        let t = Instant::now();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let configured = self.entities();
        let (registry, houses, events) = tokio::try_join!(
            self.inputs(EntityKind::Place),
            self.inputs(EntityKind::House),
            self.inputs(EntityKind::Event),
        )?;
        // The people and organisations, with the golden record each of their records is in.
        let mut named: Vec<Named> = Vec::new();
        let mut people: Vec<(Input, String)> = Vec::new();
        // For relationships: each record's time, organisations by credit code, and people's
        // employers' credit codes.
        let mut observed: HashMap<(String, String), String> = HashMap::new();
        let mut org_codes: HashMap<String, String> = HashMap::new();
        let mut employers: Vec<(String, String, String)> = Vec::new();
        for kind in [EntityKind::Person, EntityKind::Organization] {
            if !configured.contains(&kind) {
                continue;
            }
            let (records, crosswalk) = tokio::try_join!(self.inputs(kind), async {
                Ok(self.store.previous_links(kind).await?)
            })?;
            for r in records {
                let owner = crosswalk
                    .golden(&r.source, &r.record.key)
                    .map(str::to_owned);
                let at = (r.source.clone(), r.record.key.clone());
                if let Some(t) = &r.record.observed_at {
                    observed.insert(at.clone(), t.clone());
                }
                match (kind, &owner) {
                    (EntityKind::Organization, Some(g)) => {
                        if let Some(code) = r.record.get(id::CREDIT_CODE) {
                            org_codes.insert(code.to_owned(), g.clone());
                        }
                    }
                    (EntityKind::Person, Some(_)) => {
                        if let Some(code) = r.record.get(id::EMPLOYER_CREDIT_CODE) {
                            employers.push((at.0.clone(), at.1.clone(), code.to_owned()));
                        }
                    }
                    _ => {}
                }
                if let Some(address) = assemble::address_of(&r.record) {
                    named.push(Named {
                        source: r.source.clone(),
                        record_key: r.record.key.clone(),
                        entity: kind,
                        owner: owner.clone(),
                        address,
                    });
                }
                if let (EntityKind::Person, Some(g)) = (kind, owner) {
                    people.push((r, g));
                }
            }
        }
        for (kind, records) in [(EntityKind::House, &houses), (EntityKind::Event, &events)] {
            named.extend(records.iter().filter_map(|r| {
                Some(Named {
                    source: r.source.clone(),
                    record_key: r.record.key.clone(),
                    entity: kind,
                    owner: None,
                    address: assemble::address_of(&r.record)?,
                })
            }));
        }
        let loaded_ms = t.elapsed().as_millis() as u64;
        let places = assemble::place_all(&registry, &named, &now);
        drop(named);
        let owners = owners(&people, &places.keys);
        drop(people);
        for r in houses.iter().chain(events.iter()) {
            if let Some(t) = &r.record.observed_at {
                observed.insert((r.source.clone(), r.record.key.clone()), t.clone());
            }
        }
        let survivorship = &self.config.resolve.survivorship;
        let (house_links, event_links) = tokio::try_join!(
            async { Ok::<_, crate::Error>(self.store.previous_links(EntityKind::House).await?) },
            async { Ok::<_, crate::Error>(self.store.previous_links(EntityKind::Event).await?) },
        )?;
        let houses_made = assemble::houses(
            &houses,
            &places,
            &owners,
            &Links(house_links),
            survivorship,
            &now,
        )?;
        let rules = EventRules {
            window_minutes: i64::from(self.config.events.window_hours) * 60,
            categories: self.config.events.categories.clone(),
        };
        let incidents = assemble::incidents(
            &events,
            &places,
            &owners,
            &rules,
            &Links(event_links),
            survivorship,
            &now,
        )?;
        let resolve_ms = t.elapsed().as_millis() as u64 - loaded_ms;
        for (source, key, why) in &places.unkeyed {
            tracing::warn!(%source, key, why, "registry row not made a place");
        }
        // Place links: the incidents' settled reports replace their `ambiguous` ones.
        let settled: HashMap<(&str, &str), &RecordLink> = incidents
            .placed
            .iter()
            .map(|l| ((l.source.as_str(), l.record_key.as_str()), l))
            .collect();
        let place_links: Vec<RecordLink> = places
            .placed
            .iter()
            .map(|l| {
                settled
                    .get(&(l.source.as_str(), l.record_key.as_str()))
                    .map_or_else(|| l.clone(), |s| (*s).clone())
            })
            .collect();
        let no_retired = BTreeMap::new();
        let mut written = vec![Written {
            entity: EntityKind::Place,
            records: registry.len() as u64,
            goldens: &places.goldens,
            links: &places.links,
            retired: &no_retired,
            record_links: &place_links,
        }];
        if configured.contains(&EntityKind::House) {
            written.push(Written {
                entity: EntityKind::House,
                records: houses.len() as u64,
                goldens: &houses_made.goldens,
                links: &houses_made.links,
                retired: &houses_made.retired,
                record_links: &houses_made.owners,
            });
        }
        if configured.contains(&EntityKind::Event) {
            written.push(Written {
                entity: EntityKind::Event,
                records: events.len() as u64,
                goldens: &incidents.goldens,
                links: &incidents.links,
                retired: &incidents.retired,
                record_links: &incidents.reporters,
            });
        }
        let mut reports = Vec::new();
        for w in &written {
            reports.push(self.write_assembled(w, resolve_ms).await?);
        }
        let from_all = [
            EntityKind::Person,
            EntityKind::Organization,
            EntityKind::House,
            EntityKind::Event,
        ];
        self.store
            .replace_record_links(LinkRole::Place, &from_all, &place_links)
            .await?;
        self.store
            .replace_record_links(LinkRole::Owner, &[EntityKind::House], &houses_made.owners)
            .await?;
        self.store
            .replace_record_links(
                LinkRole::Reporter,
                &[EntityKind::Event],
                &incidents.reporters,
            )
            .await?;
        let (people_xw, org_xw) = tokio::try_join!(
            async { Ok::<_, crate::Error>(self.store.crosswalk(EntityKind::Person).await?) },
            async { Ok::<_, crate::Error>(self.store.crosswalk(EntityKind::Organization).await?) },
        )?;
        let mut asserted = Asserted::default();
        asserted.crosswalk(EntityKind::Person, &people_xw);
        asserted.crosswalk(EntityKind::Organization, &org_xw);
        asserted.crosswalk(EntityKind::House, &houses_made.links);
        asserted.crosswalk(EntityKind::Event, &incidents.links);
        asserted.links = place_links
            .iter()
            .chain(&houses_made.owners)
            .chain(&incidents.reporters)
            .collect();
        asserted.observed = observed
            .iter()
            .map(|((s, k), t)| ((s.as_str(), k.as_str()), t.as_str()))
            .collect();
        asserted.incident_places = incidents
            .goldens
            .iter()
            .filter_map(|g| {
                let place = g.values.get(id::PLACE_ID)?;
                let first = g.provenance.iter().find(|p| p.field == id::PLACE_ID)?;
                Some((
                    g.golden_id.as_str(),
                    place.as_str(),
                    (first.source.as_str(), first.record_key.as_str()),
                ))
            })
            .collect();
        asserted.employers = employers
            .iter()
            .map(|(s, k, c)| (s.as_str(), k.as_str(), c.as_str()))
            .collect();
        asserted.organisations = org_codes
            .iter()
            .map(|(c, g)| (c.as_str(), g.as_str()))
            .collect();
        let relations = assemble::relations(&asserted);
        let changed = self.store.replace_relations(&relations).await?;
        tracing::info!(
            relations = relations.len(),
            started = changed.started,
            changed = changed.changed,
            ended = changed.ended,
            "relationships"
        );
        tracing::info!(
            places = places.goldens.len(),
            houses = houses_made.goldens.len(),
            incidents = incidents.goldens.len(),
            load_ms = loaded_ms,
            resolve_ms,
            total_ms = t.elapsed().as_millis() as u64,
            peak_mib = peak_memory_mib(),
            "places, houses and incidents assembled"
        );
        Ok(reports)
    }

    async fn write_assembled(&self, w: &Written<'_>, resolve_ms: u64) -> Result<EntityReport> {
        let t = Instant::now();
        let clock = self.store.clock();
        let mark = self.store.change_mark().await?;
        let previous: PreviousLinks = self.store.previous_links(w.entity).await?;
        let mut writer = self
            .store
            .begin_resolution(w.entity, None, previous)
            .await?;
        for (goldens, start) in w.goldens.chunks(WRITE).zip((0..).step_by(WRITE)) {
            let ids: std::collections::HashSet<&str> =
                goldens.iter().map(|g| g.golden_id.as_str()).collect();
            let links: Vec<Link> = if start == 0 && w.goldens.len() <= WRITE {
                w.links.to_vec()
            } else {
                w.links
                    .iter()
                    .filter(|l| ids.contains(l.golden_id.as_str()))
                    .cloned()
                    .collect()
            };
            writer.write(goldens, &links).await?;
        }
        let outcome = writer.finish(w.retired).await?;
        self.store
            .set_resolve_state(
                w.entity,
                &tombolo_store::resolution::ResolveState {
                    model_id: None,
                    resolved_at: clock,
                    resolved_seq: Some(mark),
                },
            )
            .await?;
        let mut links: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for l in w.record_links {
            // Counted by rule, the rule's number (`ambiguous: 2 places fit`) folded.
            let rule: String = l.rule.split(':').next().unwrap_or_default().to_owned();
            *links
                .entry(l.role.as_str().to_owned())
                .or_default()
                .entry(rule)
                .or_default() += 1;
        }
        Ok(EntityReport {
            entity: w.entity,
            records: w.records,
            golden_records: self.store.golden_count(w.entity).await?,
            mode: "full",
            records_resolved: w.records,
            pairs_scored: 0,
            review_items: 0,
            model_id: None,
            timings: tombolo_resolve::Timings {
                golden_ms: resolve_ms,
                ..Default::default()
            },
            store_ms: t.elapsed().as_millis() as u64,
            outcome,
            oversized_keys: Vec::new(),
            stale_model: false,
            links,
        })
    }
}

/// The golden people as owners and reporters are looked up: names, valid resident IDs, phones
/// and the places their records put them at.
fn owners(
    people: &[(Input, String)],
    keys: &HashMap<(String, String), tombolo_resolve::place::PlaceKey>,
) -> Owners {
    let mut by_golden: BTreeMap<&str, Vec<&Input>> = BTreeMap::new();
    for (r, g) in people {
        by_golden.entry(g.as_str()).or_default().push(r);
    }
    let mut out = Owners::default();
    for (g, records) in by_golden {
        let names: Vec<&str> = records
            .iter()
            .filter_map(|r| r.record.get(id::NAME))
            .collect();
        let resident_id = records.iter().find_map(|r| r.record.get(id::RESIDENT_ID));
        let places: Vec<_> = records
            .iter()
            .filter_map(|r| keys.get(&(r.source.clone(), r.record.key.clone())).cloned())
            .collect();
        out.add(g, &names, resident_id, &places);
        let phones: Vec<&str> = records
            .iter()
            .filter_map(|r| r.record.get(id::PHONE))
            .collect();
        out.add_phones(g, &phones);
    }
    out
}
