//! Writing a resolution: golden records, crosswalk (with history) and outbox of one entity kind,
//! in one transaction, chunk by chunk as the resolver produces them.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::Serialize;
use sqlx::{Any, Transaction};
use tombolo_core::{EntityKind, GoldenRecord, Link, Partial, Resolution};

use crate::bulk::{self, Arg};
use crate::lookup::{self, LookupKey};
use crate::seal::{column, row};
use crate::steward::NewMergeEvent;
use crate::{now, seal, unseal, Backend, Keyring, Result, Store};

/// What applying a resolution changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub retired: u64,
    pub relinked: u64,
}

#[derive(Serialize)]
struct Hashed<'a> {
    values: &'a BTreeMap<String, String>,
    provenance: &'a [tombolo_core::Provenance],
    members: &'a [tombolo_core::SourceRef],
    merged_from: &'a [String],
    retired_into: &'a Option<String>,
}

/// Hash of what a golden record says: keyed under `lookup` when the store has a keyring.
pub(crate) fn golden_hash(lookup: Option<&LookupKey>, g: &GoldenRecord) -> Result<String> {
    let text = serde_json::to_string(&Hashed {
        values: &g.values,
        provenance: &g.provenance,
        members: &g.members,
        merged_from: &g.merged_from,
        retired_into: &g.retired_into,
    })?;
    Ok(lookup::content(
        lookup,
        lookup::purpose::GOLDEN_CONTENT,
        &text,
    ))
}

fn rule_hash(rule: &str) -> u64 {
    let mut h = DefaultHasher::new();
    rule.hash(&mut h);
    h.finish()
}

/// The crosswalk of one entity kind as it stands: source → record key → (golden id, hash of
/// the rule). Read once per resolution, it gives the resolver the previous golden ids and the
/// writer what each record's link was.
#[derive(Debug, Default)]
pub struct PreviousLinks {
    links: HashMap<Box<str>, SourceLinks>,
}

/// One source's links: record key → (golden id, hash of the rule).
type SourceLinks = HashMap<Box<str>, (Box<str>, u64)>;

impl PreviousLinks {
    /// The golden id a source record had.
    pub fn golden(&self, source: &str, key: &str) -> Option<&str> {
        self.links.get(source)?.get(key).map(|(g, _)| &**g)
    }

    /// Every golden id linked to.
    pub fn golden_ids(&self) -> Vec<&str> {
        self.links
            .values()
            .flat_map(|m| m.values().map(|(g, _)| &**g))
            .collect()
    }

    /// Every linked record, `(source, key)`.
    pub fn records(&self) -> impl Iterator<Item = (&str, &str)> {
        self.links
            .iter()
            .flat_map(|(s, m)| m.keys().map(move |k| (&**s, &**k)))
    }

    pub fn len(&self) -> usize {
        self.links.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove(&mut self, source: &str, key: &str) -> Option<(Box<str>, u64)> {
        self.links.get_mut(source)?.remove(key)
    }
}

const XW: &str =
    "INSERT INTO crosswalk (source, record_key, entity, golden_id, rule, linked_at, evidence)";
const RELINK: &str =
    "ON CONFLICT (source, record_key) DO UPDATE SET golden_id = excluded.golden_id, \
     rule = excluded.rule, linked_at = excluded.linked_at, evidence = excluded.evidence";
const REEXPLAIN: &str =
    "ON CONFLICT (source, record_key) DO UPDATE SET rule = excluded.rule, evidence = excluded.evidence";
const HISTORY: &str = "INSERT INTO crosswalk_history (source, record_key, entity, old_golden_id, new_golden_id, rule, at)";

/// One resolution being written. Golden records whose content changed get the next version and
/// an outbox entry; those no longer produced are retired at [`finish`](Self::finish) (with a
/// redirect when merged) and announced too. Nothing is visible before `finish` commits.
pub struct ResolutionWriter<'p> {
    tx: Transaction<'static, Any>,
    backend: Backend,
    keyring: Option<Arc<Keyring>>,
    entity: EntityKind,
    at: String,
    partial: Option<&'p Partial>,
    /// Golden records of the kind: id → (version, content hash, retired into).
    existing: HashMap<String, (i64, String, Option<String>)>,
    /// Links before this resolution, of the records it covers. Entries are taken out as the
    /// new links arrive; what is left at the end was removed.
    old: PreviousLinks,
    active: HashSet<String>,
    out: ApplyOutcome,
    /// Merges to record with the resolution ([`record_merges`](Self::record_merges)).
    merges: Vec<NewMergeEvent>,
    /// Steward's actions this resolution applied, up to this id.
    applied: Option<i64>,
}

impl std::fmt::Debug for ResolutionWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolutionWriter")
            .field("entity", &self.entity)
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The crosswalk of `entity` as it stands.
    pub async fn previous_links(&self, entity: EntityKind) -> Result<PreviousLinks> {
        use futures::TryStreamExt;
        let mut out = PreviousLinks::default();
        let mut rows = sqlx::query_as::<_, (String, String, String, String)>(
            "SELECT source, record_key, golden_id, rule FROM crosswalk WHERE entity = $1",
        )
        .bind(entity.as_str())
        .fetch(self.pool());
        while let Some((s, k, g, rule)) = rows.try_next().await? {
            out.links
                .entry(s.into_boxed_str())
                .or_default()
                .insert(k.into_boxed_str(), (g.into_boxed_str(), rule_hash(&rule)));
        }
        Ok(out)
    }

    /// Starts writing a resolution of `entity`: all of the kind (`partial` is `None`) or only
    /// the records and golden records `partial` names. `previous`: the crosswalk as it stood
    /// when the resolution began ([`previous_links`](Self::previous_links)).
    pub async fn begin_resolution<'p>(
        &self,
        entity: EntityKind,
        partial: Option<&'p Partial>,
        previous: PreviousLinks,
    ) -> Result<ResolutionWriter<'p>> {
        let mut tx = self.begin_write().await?;
        let kind = entity.as_str();
        type GRow = (String, i64, String, Option<String>);
        let existing: Vec<GRow> = sqlx::query_as(
            "SELECT golden_id, version, content_hash, retired_into FROM golden WHERE entity = $1",
        )
        .bind(kind)
        .fetch_all(&mut *tx)
        .await?;
        let existing = existing
            .into_iter()
            .map(|(id, v, h, ret)| (id, (v, h, ret)))
            .collect();
        let mut old = previous;
        if let Some(p) = partial {
            for (s, m) in old.links.iter_mut() {
                m.retain(|k, _| p.records.contains(&(s.to_string(), k.to_string())));
            }
        }
        Ok(ResolutionWriter {
            tx,
            backend: self.backend(),
            keyring: self.keyring.clone(),
            entity,
            at: now(),
            partial,
            existing,
            old,
            active: HashSet::new(),
            out: ApplyOutcome::default(),
            merges: Vec::new(),
            applied: None,
        })
    }

    /// Writes a whole resolution in one transaction (see [`ResolutionWriter`]).
    pub async fn apply_resolution(&self, r: &Resolution) -> Result<ApplyOutcome> {
        let previous = self.previous_links(r.entity).await?;
        let mut w = self
            .begin_resolution(r.entity, r.partial.as_ref(), previous)
            .await?;
        w.write(&r.goldens, &r.links).await?;
        w.finish(&r.retired).await
    }
}

/// Rows written per statement batch.
const CHUNK: usize = 2_000;

impl ResolutionWriter<'_> {
    /// Merges this resolution made, recorded when it commits (so they can be undone).
    pub fn record_merges(&mut self, merges: Vec<NewMergeEvent>) {
        self.merges.extend(merges);
    }

    /// Marks the kind's steward's actions up to `id` applied when this resolution commits.
    pub fn applied_up_to(&mut self, id: i64) {
        self.applied = Some(id);
    }

    /// Writes golden records and links (any split of them over calls).
    pub async fn write(&mut self, goldens: &[GoldenRecord], links: &[Link]) -> Result<()> {
        let mut versions = Vec::with_capacity(goldens.len());
        for g in goldens {
            self.active.insert(g.golden_id.clone());
            let hash = golden_hash(self.keyring.as_deref().map(Keyring::lookup), g)?;
            let version = match self.existing.get(&g.golden_id) {
                Some((_, h, None)) if *h == hash => {
                    self.out.unchanged += 1;
                    continue;
                }
                Some((v, _, _)) => {
                    self.out.updated += 1;
                    v + 1
                }
                None => {
                    self.out.created += 1;
                    1
                }
            };
            let mut g = g.clone();
            g.version = version;
            g.retired_into = None;
            versions.push((g, hash));
        }
        self.write_goldens(versions).await?;
        self.write_links(links).await
    }

    async fn write_goldens(&mut self, versions: Vec<(GoldenRecord, String)>) -> Result<()> {
        let entity = self.entity.as_str();
        let mut versions = versions.into_iter().peekable();
        while versions.peek().is_some() {
            let mut golden_rows = Vec::with_capacity(CHUNK);
            let mut outbox_rows = Vec::with_capacity(CHUNK);
            for (mut g, hash) in versions.by_ref().take(CHUNK) {
                g.updated_at = self.at.clone();
                let data = serde_json::to_string(&g)?;
                let event = if g.retired_into.is_some() {
                    "retire"
                } else {
                    "upsert"
                };
                outbox_rows.push(vec![
                    Arg::Text(entity.to_owned()),
                    Arg::Text(g.golden_id.clone()),
                    Arg::Int(g.version),
                    Arg::Text(event.to_owned()),
                    Arg::Text(seal(
                        self.keyring.as_deref(),
                        column::OUTBOX,
                        &row(&[&g.golden_id, &g.version.to_string()]),
                        data.clone(),
                    )?),
                    Arg::Text(self.at.clone()),
                ]);
                let sealed = seal(self.keyring.as_deref(), column::GOLDEN, &g.golden_id, data)?;
                golden_rows.push(vec![
                    Arg::Text(g.golden_id),
                    Arg::Text(entity.to_owned()),
                    Arg::Int(g.version),
                    Arg::Text(hash),
                    Arg::Text(sealed),
                    Arg::Text(self.at.clone()),
                    Arg::Text(self.at.clone()),
                    Arg::OptText(g.retired_into),
                ]);
            }
            bulk::insert(
                &mut self.tx,
                self.backend,
                "INSERT INTO golden (golden_id, entity, version, content_hash, data, created_at, updated_at, retired_into)",
                "ON CONFLICT (golden_id) DO UPDATE SET version = excluded.version, content_hash = excluded.content_hash, \
                 data = excluded.data, updated_at = excluded.updated_at, retired_into = excluded.retired_into",
                &golden_rows,
            )
            .await?;
            bulk::insert(
                &mut self.tx,
                self.backend,
                "INSERT INTO outbox (entity, golden_id, version, event, payload, created_at)",
                "",
                &outbox_rows,
            )
            .await?;
        }
        Ok(())
    }

    fn history(
        &self,
        source: &str,
        key: &str,
        old: Option<String>,
        new: Option<String>,
        rule: &str,
    ) -> Vec<Arg> {
        vec![
            Arg::Text(source.to_owned()),
            Arg::Text(key.to_owned()),
            Arg::Text(self.entity.as_str().to_owned()),
            Arg::OptText(old),
            Arg::OptText(new),
            Arg::Text(rule.to_owned()),
            Arg::Text(self.at.clone()),
        ]
    }

    /// The crosswalk, with history of every change.
    async fn write_links(&mut self, links: &[Link]) -> Result<()> {
        for chunk in links.chunks(CHUNK) {
            let mut link_rows = Vec::new();
            let mut evidence_rows = Vec::new();
            let mut history_rows = Vec::new();
            for l in chunk {
                let row = vec![
                    Arg::Text(l.source.clone()),
                    Arg::Text(l.record_key.clone()),
                    Arg::Text(self.entity.as_str().to_owned()),
                    Arg::Text(l.golden_id.clone()),
                    Arg::Text(l.rule.clone()),
                    Arg::Text(self.at.clone()),
                    Arg::OptText(
                        l.evidence
                            .clone()
                            .map(|e| {
                                seal(
                                    self.keyring.as_deref(),
                                    column::EVIDENCE,
                                    &row(&[&l.source, &l.record_key]),
                                    e,
                                )
                            })
                            .transpose()?,
                    ),
                ];
                let prev = self.old.remove(&l.source, &l.record_key);
                match prev {
                    Some((g, rule)) if *g == *l.golden_id => {
                        // Same golden record; the evidence changed if the rule (with its
                        // score) did.
                        if rule != rule_hash(&l.rule) {
                            evidence_rows.push(row);
                        }
                        continue;
                    }
                    Some(_) => self.out.relinked += 1,
                    None => {}
                }
                link_rows.push(row);
                history_rows.push(self.history(
                    &l.source,
                    &l.record_key,
                    prev.map(|(g, _)| g.into_string()),
                    Some(l.golden_id.clone()),
                    &l.rule,
                ));
            }
            bulk::insert(&mut self.tx, self.backend, XW, RELINK, &link_rows).await?;
            bulk::insert(&mut self.tx, self.backend, XW, REEXPLAIN, &evidence_rows).await?;
            bulk::insert(&mut self.tx, self.backend, HISTORY, "", &history_rows).await?;
        }
        Ok(())
    }

    /// Retires the golden records of the covered scope that no cluster produced (into the id
    /// `retired` names, or into nothing), removes the links of records that are gone, commits.
    pub async fn finish(mut self, retired: &BTreeMap<String, String>) -> Result<ApplyOutcome> {
        let in_scope = |id: &str| self.partial.is_none_or(|p| p.goldens.contains(id));
        let mut gone: Vec<(String, i64)> = self
            .existing
            .iter()
            .filter(|(id, (_, _, into))| {
                into.is_none() && !self.active.contains(id.as_str()) && in_scope(id)
            })
            .map(|(id, (v, _, _))| (id.clone(), *v))
            .collect();
        gone.sort();
        let mut versions = Vec::with_capacity(gone.len());
        for (id, version) in gone {
            let (data,): (String,) = sqlx::query_as("SELECT data FROM golden WHERE golden_id = $1")
                .bind(&id)
                .fetch_one(&mut *self.tx)
                .await?;
            let data = unseal(self.keyring.as_deref(), column::GOLDEN, &id, data)?;
            let mut g: GoldenRecord = serde_json::from_str(&data)?;
            g.version = version + 1;
            g.retired_into = Some(retired.get(&id).cloned().unwrap_or_default());
            g.members.clear();
            self.out.retired += 1;
            let hash = golden_hash(self.keyring.as_deref().map(Keyring::lookup), &g)?;
            versions.push((g, hash));
        }
        self.write_goldens(versions).await?;
        let mut removed: Vec<(Box<str>, Box<str>, Box<str>)> = std::mem::take(&mut self.old.links)
            .into_iter()
            .flat_map(|(s, m)| m.into_iter().map(move |(k, (g, _))| (s.clone(), k, g)))
            .collect();
        removed.sort();
        let mut history_rows = Vec::new();
        for (source, key, golden) in removed {
            sqlx::query("DELETE FROM crosswalk WHERE source = $1 AND record_key = $2")
                .bind(&*source)
                .bind(&*key)
                .execute(&mut *self.tx)
                .await?;
            history_rows.push(self.history(
                &source,
                &key,
                Some(golden.into_string()),
                None,
                "record removed",
            ));
        }
        bulk::insert(&mut self.tx, self.backend, HISTORY, "", &history_rows).await?;
        for m in std::mem::take(&mut self.merges) {
            sqlx::query(
                "INSERT INTO merge_event (entity, survivor, retired, survivor_members, retired_members, cause, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(self.entity.as_str())
            .bind(&m.survivor)
            .bind(&m.retired)
            .bind(serde_json::to_string(&m.survivor_members)?)
            .bind(serde_json::to_string(&m.retired_members)?)
            .bind(&m.cause)
            .bind(&self.at)
            .execute(&mut *self.tx)
            .await?;
        }
        if let Some(id) = self.applied {
            sqlx::query(
                "UPDATE steward_action SET applied_at = $1 WHERE entity = $2 AND id <= $3 AND applied_at IS NULL",
            )
            .bind(&self.at)
            .bind(self.entity.as_str())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        tracing::debug!(entity = %self.entity, out = ?self.out, "resolution applied");
        Ok(self.out)
    }
}
