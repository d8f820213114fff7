//! Resolving the kinds placed by rule: places, houses and incidents, after people and
//! organisations (whose golden records settle ambiguous addresses, own houses and report
//! incidents). One pass loads what they need, applies `tombolo_resolve::assemble`, writes each
//! kind's golden records, crosswalk and outbox, and replaces the links from records to golden
//! records of other kinds (`record_link`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::time::Instant;

use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, LinkRole, RecordLink};
use tombolo_resolve::assemble::{self, Asserted, EventRules, Named};
use tombolo_resolve::house::Owners;
use tombolo_resolve::Input;
use tombolo_store::apply::PreviousLinks;
use tombolo_store::assembly::AssemblyMark;

use super::resolve::{peak_memory_mib, Links};
use super::{EntityReport, Hub};
use crate::Result;

/// Golden records written per transaction chunk.
const WRITE: usize = 4_000;

/// One kind's golden records, made a range at a time, with their records' links.
type Make<'a> =
    Box<dyn Fn(Range<usize>) -> Result<(Vec<GoldenRecord>, Vec<Link>)> + Send + Sync + 'a>;

/// What one kind's assembly writes.
struct Written<'a> {
    entity: EntityKind,
    records: u64,
    /// How many golden records `make` makes.
    count: usize,
    make: Make<'a>,
    retired: &'a BTreeMap<String, String>,
    record_links: &'a [RecordLink],
    /// The kind's crosswalk as it stood before (already read for its golden ids).
    previous: Option<PreviousLinks>,
    /// What stewards' actions asked of this kind (houses, incidents).
    steering: Option<super::steward::Steering>,
}

/// What the assembly keeps of a golden person's record: how an owner or a reporter is found.
struct PersonFacts {
    source: String,
    key: String,
    golden: String,
    name: Option<String>,
    resident_id: Option<String>,
    phone: Option<String>,
}

/// People and organisations as the assembly needs them, read once.
#[derive(Default)]
struct Parties {
    named: Vec<Named>,
    people: Vec<PersonFacts>,
    /// Each kind's crosswalk, for relationships.
    crosswalks: Vec<(EntityKind, Vec<Link>)>,
    /// Each record's time, for relationships.
    observed: HashMap<(String, String), String>,
    /// Credit code → the organisation's golden id.
    org_codes: HashMap<String, String>,
    /// Person records naming an employer: (source, key, credit code).
    employers: Vec<(String, String, String)>,
    /// Organisation records naming their legal representative: (source, key, name).
    representatives: Vec<(String, String, String)>,
}

impl Hub {
    /// The rules an assembly applies, as text: the hub's version, the kinds configured, the
    /// incident rules and survivorship (a change to any of them assembles again).
    fn assembly_rules(&self) -> String {
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "entities": self.entities().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            "events": self.config.events,
            "survivorship": self.config.resolve.survivorship,
        })
        .to_string()
    }

    /// Whether anything an assembly reads changed since the last one: a source record stored,
    /// a golden record of any kind written (a run's resolution, a steward's decision), or
    /// the rules.
    pub(super) async fn assembly_due(&self) -> Result<bool> {
        let Some(last) = self.store.assembly_mark().await? else {
            return Ok(true);
        };
        Ok(last.change_seq != self.store.change_mark().await?
            || last.outbox_seq != self.store.outbox_mark().await?
            || last.fingerprint != self.assembly_rules())
    }

    /// People and organisations with the golden record each of their records is in, read
    /// record by record into what the assembly needs (the records themselves are not kept).
    async fn parties(&self, configured: &[EntityKind]) -> Result<Parties> {
        let mut out = Parties::default();
        for kind in [EntityKind::Person, EntityKind::Organization] {
            if !configured.contains(&kind) {
                continue;
            }
            let (records, crosswalk) = tokio::try_join!(self.inputs(kind), async {
                Ok(self.store.previous_links(kind).await?)
            })?;
            let mut links = Vec::with_capacity(records.len());
            for Input { source, record } in records {
                let owner = crosswalk.golden(&source, &record.key).map(str::to_owned);
                if let Some(address) = assemble::address_of(&record) {
                    out.named.push(Named {
                        source: source.clone(),
                        record_key: record.key.clone(),
                        entity: kind,
                        owner: owner.clone(),
                        address,
                    });
                }
                let Some(golden) = owner else {
                    continue;
                };
                match kind {
                    EntityKind::Organization => {
                        if let Some(code) = record.get(id::CREDIT_CODE) {
                            out.org_codes.insert(code.to_owned(), golden.clone());
                        }
                        if let Some(name) = record.get(id::LEGAL_REP) {
                            out.representatives.push((
                                source.clone(),
                                record.key.clone(),
                                name.to_owned(),
                            ));
                        }
                    }
                    _ => {
                        if let Some(code) = record.get(id::EMPLOYER_CREDIT_CODE) {
                            out.employers.push((
                                source.clone(),
                                record.key.clone(),
                                code.to_owned(),
                            ));
                        }
                        out.people.push(PersonFacts {
                            source: source.clone(),
                            key: record.key.clone(),
                            golden: golden.clone(),
                            name: record.get(id::NAME).map(str::to_owned),
                            resident_id: record.get(id::RESIDENT_ID).map(str::to_owned),
                            phone: record.get(id::PHONE).map(str::to_owned),
                        });
                    }
                }
                if let Some(t) = record.observed_at {
                    out.observed.insert((source.clone(), record.key.clone()), t);
                }
                links.push(Link {
                    source,
                    record_key: record.key,
                    golden_id: golden,
                    rule: String::new(),
                    evidence: None,
                });
            }
            out.crosswalks.push((kind, links));
        }
        Ok(out)
    }

    /// Places, houses and incidents from the records stored now (whole when it runs: each
    /// depends on every address named anywhere and on the golden people; a run in which none
    /// of that changed skips it, [`Hub::assembly_due`]). Golden records are made and written a
    /// chunk at a time; record links and relationships are written where they differ.
    pub(super) async fn assemble(&self) -> Result<Vec<EntityReport>> {
        let t = Instant::now();
        let change_seq = self.store.change_mark().await?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let configured = self.entities();
        let (registry, houses, events) = tokio::try_join!(
            self.inputs(EntityKind::Place),
            self.inputs(EntityKind::House),
            self.inputs(EntityKind::Event),
        )?;
        let Parties {
            mut named,
            people,
            crosswalks,
            mut observed,
            org_codes,
            employers,
            representatives,
        } = self.parties(&configured).await?;
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
        let step = Instant::now();
        let mut places = assemble::place_all(&registry, &named);
        drop(named);
        // Stewards' merges of places (two addresses of one place), before anything is placed.
        let place_steering = self.steering(EntityKind::Place, &registry).await?;
        let place_retired = places.merge(&place_steering.standing_merges);
        let place_ms = step.elapsed().as_millis() as u64;
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
        // Stewards' merges and splits of houses and incidents.
        let (mut house_steering, mut event_steering) = (
            self.steering(EntityKind::House, &houses).await?,
            self.steering(EntityKind::Event, &events).await?,
        );
        let house_links = Links(house_links, std::mem::take(&mut house_steering.preferred));
        let step = Instant::now();
        let houses_made = assemble::houses(
            &houses,
            &places,
            &owners,
            assemble::Before {
                previous: &house_links,
                decisions: &house_steering.decisions,
            },
        );
        let house_ms = step.elapsed().as_millis() as u64;
        let rules = EventRules {
            window_minutes: i64::from(self.config.events.window_hours) * 60,
            categories: self.config.events.categories.clone(),
        };
        let event_links = Links(event_links, std::mem::take(&mut event_steering.preferred));
        let step = Instant::now();
        let incidents = assemble::incidents(
            &events,
            &places,
            &owners,
            &rules,
            assemble::Before {
                previous: &event_links,
                decisions: &event_steering.decisions,
            },
            survivorship,
            &now,
        )?;
        let event_ms = step.elapsed().as_millis() as u64;
        let resolve_ms = t.elapsed().as_millis() as u64 - loaded_ms;
        tracing::info!(
            place_ms,
            house_ms,
            event_ms,
            peak_mib = peak_memory_mib(),
            "places, houses and incidents made"
        );
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
        drop(settled);
        let (places_ref, registry_ref, now_ref) = (&places, &registry, now.as_str());
        let mut written = vec![Written {
            entity: EntityKind::Place,
            records: registry.len() as u64,
            count: places.len(),
            make: Box::new(move |range| Ok(places_ref.goldens(range, registry_ref, now_ref))),
            retired: &place_retired,
            record_links: &place_links,
            previous: None,
            steering: Some(place_steering),
        }];
        let (houses_ref, house_records) = (&houses_made, &houses);
        if configured.contains(&EntityKind::House) {
            written.push(Written {
                entity: EntityKind::House,
                records: houses.len() as u64,
                count: houses_made.len(),
                make: Box::new(move |range| {
                    Ok(houses_ref.goldens(
                        range,
                        house_records,
                        places_ref,
                        survivorship,
                        now_ref,
                    )?)
                }),
                retired: &houses_made.retired,
                record_links: &houses_made.owners,
                previous: Some(house_links.0),
                steering: Some(house_steering),
            });
        }
        if configured.contains(&EntityKind::Event) {
            let incidents_ref = &incidents;
            written.push(Written {
                entity: EntityKind::Event,
                records: events.len() as u64,
                count: incidents.goldens.len(),
                make: Box::new(move |range| {
                    let all = &incidents_ref.goldens;
                    let end = range.end.min(all.len());
                    let goldens = all[range.start.min(end)..end].to_vec();
                    let ids: HashSet<&str> = goldens.iter().map(|g| g.golden_id.as_str()).collect();
                    let links = incidents_ref
                        .links
                        .iter()
                        .filter(|l| ids.contains(l.golden_id.as_str()))
                        .cloned()
                        .collect();
                    Ok((goldens, links))
                }),
                retired: &incidents.retired,
                record_links: &incidents.reporters,
                previous: Some(event_links.0),
                steering: Some(event_steering),
            });
        }
        let mut reports = Vec::new();
        for w in written {
            let step = Instant::now();
            let entity = w.entity;
            reports.push(self.write_assembled(w, resolve_ms).await?);
            tracing::info!(%entity, write_ms = step.elapsed().as_millis() as u64, "written");
        }
        let step = Instant::now();
        let from_all = [
            EntityKind::Person,
            EntityKind::Organization,
            EntityKind::House,
            EntityKind::Event,
        ];
        let link_changes = [
            self.store
                .replace_record_links(LinkRole::Place, &from_all, &place_links)
                .await?,
            self.store
                .replace_record_links(LinkRole::Owner, &[EntityKind::House], &houses_made.owners)
                .await?,
            self.store
                .replace_record_links(
                    LinkRole::Reporter,
                    &[EntityKind::Event],
                    &incidents.reporters,
                )
                .await?,
        ];
        tracing::info!(
            written = link_changes.iter().map(|c| c.written).sum::<u64>(),
            removed = link_changes.iter().map(|c| c.removed).sum::<u64>(),
            write_ms = step.elapsed().as_millis() as u64,
            "record links"
        );
        let step = Instant::now();
        let mut asserted = Asserted::default();
        for (kind, links) in &crosswalks {
            asserted.crosswalk(*kind, links);
        }
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
        asserted.representatives = representatives
            .iter()
            .map(|(s, k, n)| (s.as_str(), k.as_str(), n.as_str()))
            .collect();
        asserted.people = Some(&owners);
        asserted.places = Some(&places.keys);
        let relations = assemble::relations(&asserted);
        drop(asserted);
        let changed = self.store.replace_relations(&relations).await?;
        tracing::info!(
            relations = relations.len(),
            started = changed.started,
            changed = changed.changed,
            ended = changed.ended,
            ms = step.elapsed().as_millis() as u64,
            "relationships"
        );
        self.store
            .set_assembly_mark(&AssemblyMark {
                change_seq,
                outbox_seq: self.store.outbox_mark().await?,
                fingerprint: self.assembly_rules(),
            })
            .await?;
        tracing::info!(
            places = places.len(),
            houses = houses_made.len(),
            incidents = incidents.goldens.len(),
            load_ms = loaded_ms,
            resolve_ms,
            total_ms = t.elapsed().as_millis() as u64,
            peak_mib = peak_memory_mib(),
            "places, houses and incidents assembled"
        );
        Ok(reports)
    }

    async fn write_assembled(&self, w: Written<'_>, resolve_ms: u64) -> Result<EntityReport> {
        let t = Instant::now();
        let clock = self.store.clock();
        let mark = self.store.change_mark().await?;
        let previous: PreviousLinks = match w.previous {
            Some(p) => p,
            None => self.store.previous_links(w.entity).await?,
        };
        let steering = w.steering.unwrap_or_default();
        let merges = super::steward::merge_events(w.retired, &previous, &steering);
        let mut writer = self
            .store
            .begin_resolution(w.entity, None, previous)
            .await?;
        writer.record_merges(merges);
        if let Some(id) = steering.newest {
            writer.applied_up_to(id);
        }
        for start in (0..w.count).step_by(WRITE) {
            let (goldens, links) = (w.make)(start..start + WRITE)?;
            writer.write(&goldens, &links).await?;
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
    people: &[PersonFacts],
    keys: &HashMap<(String, String), tombolo_resolve::place::PlaceKey>,
) -> Owners {
    let mut by_golden: BTreeMap<&str, Vec<&PersonFacts>> = BTreeMap::new();
    for p in people {
        by_golden.entry(p.golden.as_str()).or_default().push(p);
    }
    let mut out = Owners::default();
    for (g, records) in by_golden {
        let names: Vec<&str> = records.iter().filter_map(|r| r.name.as_deref()).collect();
        let resident_id = records.iter().find_map(|r| r.resident_id.as_deref());
        let places: Vec<_> = records
            .iter()
            .filter_map(|r| keys.get(&(r.source.clone(), r.key.clone())).cloned())
            .collect();
        out.add(g, &names, resident_id, &places);
        let phones: Vec<&str> = records.iter().filter_map(|r| r.phone.as_deref()).collect();
        out.add_phones(g, &phones);
    }
    out
}
