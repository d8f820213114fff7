//! Department feeds: each department's view of the golden records on topics of its own
//! (`<prefix>.<entity>.v1.dept.<department>`), framed with the schema derived from its grant,
//! keyed by the department's record id, each delivered batch recorded in the audit trail.
//!
//! A department whose grant is new or changed gets a backfill: every golden record of the
//! kinds it receives, as they are now, under the grant in force. The backfill resumes from its
//! cursor after a crash, and outbox entries it already covers are not sent to it again.

use std::collections::BTreeMap;

use apache_avro::rabin::Rabin;
use apache_avro::Schema;
use tombolo_core::{EntityKind, GoldenRecord};
use tombolo_store::audit::Delivery;
use tombolo_store::feeds::FeedState;

use tombolo_privacy::{view, DepartmentConfig, DepartmentView, PseudonymKeys};

use crate::avro::{department_schema, frame, view_to_avro, Framing};
use crate::kafka::{ensure_topics, Delivered, Outgoing};
use crate::ports::{FeedLedger, Outbox, Producer};
use crate::schema_registry::RegistryClient;
use crate::stats::PublishStats;
use crate::{Error, KafkaConfig, Result};

/// One department's topic for one entity kind.
#[derive(Debug)]
struct FeedTopic {
    topic: String,
    /// The derived schema as JSON text (what is registered) and parsed.
    text: String,
    schema: Schema,
    framing: Framing,
    fingerprint: Vec<u8>,
    /// `(field, treatment)` delivered, for the audit trail.
    fields: Vec<(String, String)>,
}

/// One department: its grant, the version in force, and its topics.
#[derive(Debug)]
struct Feed {
    department: DepartmentConfig,
    grant_version: i64,
    topics: BTreeMap<EntityKind, FeedTopic>,
}

/// What a produced department message carried, for its delivery audit entry.
#[derive(Debug, Clone)]
pub(crate) struct FeedMessage {
    feed: usize,
    entity: EntityKind,
    golden_id: String,
    version: i64,
}

/// Every department's feed.
#[derive(Debug)]
pub struct Feeds {
    feeds: Vec<Feed>,
    keys: PseudonymKeys,
    /// `YYYY-MM-DD`, for age bands.
    today: String,
}

impl Feeds {
    /// No departments: nothing beyond the hub's own topics.
    pub fn none() -> Self {
        Self {
            feeds: Vec::new(),
            keys: PseudonymKeys::default(),
            today: String::new(),
        }
    }

    /// The feeds of `departments` (each with its grant version in force), their schemas
    /// derived from the grants, framed as single objects until [`Feeds::connect`].
    pub fn new(
        config: &KafkaConfig,
        departments: &[(DepartmentConfig, i64)],
        keys: PseudonymKeys,
        today: &str,
    ) -> Result<Self> {
        let mut feeds = Vec::with_capacity(departments.len());
        for (dept, grant_version) in departments {
            let mut topics = BTreeMap::new();
            for entity in EntityKind::ALL {
                let Some(text) = department_schema(dept, entity)? else {
                    continue;
                };
                let schema = Schema::parse_str(&text)?;
                let fields = view::delivered(dept, entity)
                    .into_iter()
                    .map(|d| (d.field, d.treatment.to_owned()))
                    .collect();
                topics.insert(
                    entity,
                    FeedTopic {
                        topic: config.department_topic(entity, &dept.name),
                        fingerprint: schema.fingerprint::<Rabin>().bytes,
                        schema,
                        text,
                        framing: Framing::SingleObject,
                        fields,
                    },
                );
            }
            feeds.push(Feed {
                department: dept.clone(),
                grant_version: *grant_version,
                topics,
            });
        }
        Ok(Self {
            feeds,
            keys,
            today: today.to_owned(),
        })
    }

    /// Every department topic.
    pub fn topics(&self) -> Vec<String> {
        self.feeds
            .iter()
            .flat_map(|f| f.topics.values().map(|t| t.topic.clone()))
            .collect()
    }

    /// The derived schema of a department topic, if it is one of these feeds'.
    pub fn schema_of(&self, topic: &str) -> Option<&Schema> {
        self.feeds
            .iter()
            .flat_map(|f| f.topics.values())
            .find(|t| t.topic == topic)
            .map(|t| &t.schema)
    }

    /// Creates the department topics (when the hub creates topics) and registers their
    /// schemas under `<topic>-value` (when a registry is configured).
    pub async fn connect(&mut self, config: &KafkaConfig) -> Result<()> {
        let topics = self.topics();
        if topics.is_empty() {
            return Ok(());
        }
        if config.create_topics {
            ensure_topics(config, &topics).await?;
        }
        if let Some(r) = &config.registry {
            let client = RegistryClient::new(&r.url)?;
            for t in self.feeds.iter_mut().flat_map(|f| f.topics.values_mut()) {
                let subject = format!("{}-value", t.topic);
                let id = client
                    .ensure(&subject, &t.text, r.check_compatibility)
                    .await?;
                t.framing = Framing::Registry(id);
            }
        }
        Ok(())
    }

    /// The messages of one golden record version for every department that receives its
    /// kind (`skip`: departments not to send it to).
    pub(crate) fn messages(
        &self,
        g: &GoldenRecord,
        event: &str,
        skip: impl Fn(usize) -> bool,
        out: &mut Vec<Outgoing>,
        meta: &mut Vec<FeedMessage>,
    ) -> Result<()> {
        for (i, feed) in self.feeds.iter().enumerate() {
            if skip(i) {
                continue;
            }
            let Some(topic) = feed.topics.get(&g.entity) else {
                continue;
            };
            let Some(view) = DepartmentView::of(&feed.department, g, &self.keys, &self.today)?
            else {
                continue;
            };
            let body = view_to_avro(&view, &topic.schema)?;
            out.push(Outgoing {
                topic: topic.topic.clone(),
                key: view.golden_id.clone(),
                payload: Some(frame(topic.framing, &topic.fingerprint, &body)),
                headers: vec![
                    ("tombolo.event".into(), event.to_owned()),
                    ("tombolo.version".into(), g.version.to_string()),
                    ("tombolo.entity".into(), g.entity.as_str().into()),
                    (
                        "tombolo.grant_version".into(),
                        feed.grant_version.to_string(),
                    ),
                ],
            });
            meta.push(FeedMessage {
                feed: i,
                entity: g.entity,
                golden_id: g.golden_id.clone(),
                version: g.version,
            });
        }
        Ok(())
    }

    /// Records one audit entry per (department, topic, partition) of a delivered batch:
    /// `meta[i]` describes the message acknowledged as `delivered[i]`. Returns the number of
    /// entries written.
    pub(crate) async fn audit(
        &self,
        store: &impl Outbox,
        meta: &[FeedMessage],
        delivered: &[Delivered],
    ) -> Result<u64> {
        let deliveries = self.deliveries(meta, delivered)?;
        store.record_delivered(&deliveries, &[]).await?;
        Ok(deliveries.len() as u64)
    }

    /// One delivery per (department, topic, partition) of a delivered batch: `meta[i]`
    /// describes the message acknowledged as `delivered[i]`.
    pub(crate) fn deliveries(
        &self,
        meta: &[FeedMessage],
        delivered: &[Delivered],
    ) -> Result<Vec<Delivery>> {
        let mut batches: BTreeMap<(usize, EntityKind, i32), Delivery> = BTreeMap::new();
        for (m, d) in meta.iter().zip(delivered) {
            let feed = &self.feeds[m.feed];
            let topic = feed
                .topics
                .get(&m.entity)
                .ok_or_else(|| Error::Config(format!("no {} feed", m.entity)))?;
            let entry = batches
                .entry((m.feed, m.entity, d.partition))
                .or_insert_with(|| Delivery {
                    department: feed.department.name.clone(),
                    purpose: feed.department.purpose.clone(),
                    topic: topic.topic.clone(),
                    partition: d.partition,
                    first_offset: d.offset,
                    last_offset: d.offset,
                    grant_version: feed.grant_version,
                    fields: topic.fields.clone(),
                    records: Vec::new(),
                });
            entry.first_offset = entry.first_offset.min(d.offset);
            entry.last_offset = entry.last_offset.max(d.offset);
            entry.records.push((m.golden_id.clone(), m.version));
        }
        Ok(batches.into_values().collect())
    }

    /// Backfills every department whose feed is not complete for its grant version in force;
    /// returns each department's `skip_through` (outbox entries its backfill covers).
    pub(crate) async fn backfill(
        &self,
        store: &(impl Outbox + FeedLedger),
        sink: &impl Producer,
        batch: i64,
        stats: &mut PublishStats,
    ) -> Result<Vec<i64>> {
        let mut skips = Vec::with_capacity(self.feeds.len());
        for (i, feed) in self.feeds.iter().enumerate() {
            let name = &feed.department.name;
            let mut state = match store.feed_state(name).await? {
                Some(s) if s.grant_version == feed.grant_version && s.cursor.is_none() => {
                    skips.push(s.skip_through);
                    continue;
                }
                Some(s) if s.grant_version == feed.grant_version => s,
                previous => {
                    if let Some(p) = previous {
                        self.withdraw(store, sink, feed, p.grant_version, batch, stats)
                            .await?;
                    }
                    FeedState {
                        grant_version: feed.grant_version,
                        cursor: Some(String::new()),
                        skip_through: store.outbox_high_water().await?,
                    }
                }
            };
            store.set_feed_state(name, &state).await?;
            let entities: Vec<EntityKind> = feed.topics.keys().copied().collect();
            tracing::info!(department = %name, grant_version = feed.grant_version, "backfilling department feed");
            while let Some(after) = state.cursor.clone() {
                let page = store.golden_page(&entities, &after, batch).await?;
                let Some(last) = page.last() else {
                    state.cursor = None;
                    break;
                };
                let (mut out, mut meta) = (Vec::new(), Vec::new());
                for g in &page {
                    self.messages(g, "backfill", |j| j != i, &mut out, &mut meta)?;
                }
                let delivered = sink.send_all(&out).await?;
                stats.deliveries += self.audit(store, &meta, &delivered).await?;
                stats.count(&out);
                state.cursor = Some(last.golden_id.clone());
                store.set_feed_state(name, &state).await?;
            }
            store.set_feed_state(name, &state).await?;
            skips.push(state.skip_through);
        }
        Ok(skips)
    }
}

impl Feeds {
    /// Tombstones, on the department's topic of every kind its grant at `previous` covered and
    /// the grant in force does not, for each golden record of that kind: compaction then
    /// removes what the department may no longer hold. (Not audited as deliveries: they carry
    /// no data.)
    async fn withdraw(
        &self,
        store: &impl FeedLedger,
        sink: &impl Producer,
        feed: &Feed,
        previous: i64,
        batch: i64,
        stats: &mut PublishStats,
    ) -> Result<()> {
        let name = &feed.department.name;
        let Some(json) = store.grant_at(name, previous).await? else {
            return Ok(());
        };
        let old: DepartmentConfig =
            serde_json::from_str(&json).map_err(|source| tombolo_privacy::Error::StoredGrant {
                department: name.clone(),
                version: previous,
                source,
            })?;
        for entity in EntityKind::ALL {
            if old.grant(entity).is_none() || feed.topics.contains_key(&entity) {
                continue;
            }
            let topic = sink.config().department_topic(entity, name);
            tracing::info!(department = %name, %topic, "grant withdrawn: tombstoning the department's records");
            let mut after = String::new();
            loop {
                let page = store.golden_page(&[entity], &after, batch).await?;
                let Some(last) = page.last() else { break };
                let out = page
                    .iter()
                    .map(|g| {
                        Ok(Outgoing {
                            topic: topic.clone(),
                            key: self.keys.record_id(name, &g.golden_id)?,
                            payload: None,
                            headers: vec![(
                                "tombolo.grant_version".into(),
                                feed.grant_version.to_string(),
                            )],
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                sink.send_all(&out).await?;
                stats.count(&out);
                after = last.golden_id.clone();
            }
        }
        Ok(())
    }
}

/// Today's date in UTC, `YYYY-MM-DD` (what age bands are computed against).
pub fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_date() {
        let t = today();
        assert_eq!((t.len(), &t[4..5], &t[7..8]), (10, "-", "-"));
    }
}
