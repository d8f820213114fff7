//! What the store holds, read for exports and listings: the crosswalk, golden records and
//! quarantined input.

use tombolo_core::fields::id;
use tombolo_core::{EntityKind, GoldenRecord, Link, LinkRole, RecordLink};
use tombolo_store::status::QuarantineRow;

use crate::{Hub, Result};

impl Hub {
    /// The stored records among `members` (a golden record's, as the crosswalk names them), as
    /// survivorship reads them: what lineage and corrections weigh again.
    pub(crate) async fn member_inputs(
        &self,
        members: &[(String, String)],
    ) -> Result<Vec<tombolo_resolve::Input>> {
        let mut inputs = Vec::with_capacity(members.len());
        for (source, key) in members {
            if let Some(r) = self.store.record(source, key).await? {
                inputs.push(tombolo_resolve::Input {
                    source: source.clone(),
                    record: (&r).into(),
                });
            }
        }
        Ok(inputs)
    }

    /// The crosswalk of a kind.
    /// For places: the registry's rows and every record whose address a place was found for
    /// (people, organisations, houses, incidents), each with the rule that placed it.
    pub async fn crosswalk(&self, entity: EntityKind) -> Result<Vec<Link>> {
        let mut links = self.store.crosswalk(entity).await?;
        if entity == EntityKind::Place {
            let placed = self.store.record_links(LinkRole::Place, None).await?;
            links.extend(placed.into_iter().filter_map(|l| {
                Some(Link {
                    golden_id: l.golden_id?,
                    source: l.source,
                    record_key: l.record_key,
                    rule: l.rule,
                    evidence: None,
                })
            }));
            links.sort_unstable_by(|a, b| {
                (&a.source, &a.record_key).cmp(&(&b.source, &b.record_key))
            });
        }
        Ok(links)
    }

    /// Links from records of `from` to golden records of the kind `role` points to, with the
    /// records no link was made for (`golden_id` absent, `rule` says why).
    pub async fn record_links(
        &self,
        role: LinkRole,
        from: Option<EntityKind>,
    ) -> Result<Vec<RecordLink>> {
        Ok(self.store.record_links(role, from).await?)
    }

    /// Relationships between golden records (in force, or every one ever when `ended`).
    pub async fn relations(
        &self,
        ended: bool,
    ) -> Result<Vec<tombolo_store::relations::StoredRelation>> {
        Ok(self.store.relations(ended).await?)
    }

    /// Every golden place with its level and the golden id of the place one level up.
    pub async fn place_hierarchy(&self) -> Result<Vec<(String, String, Option<String>)>> {
        Ok(self
            .store
            .goldens(EntityKind::Place, false)
            .await?
            .into_iter()
            .map(|g| {
                let level = g.values.get(id::LEVEL).cloned().unwrap_or_default();
                let parent = g.values.get(id::PARENT_ID).cloned();
                (g.golden_id, level, parent)
            })
            .collect())
    }

    /// Golden records of a kind, ordered by golden id; retired ones too when `retired`.
    pub async fn goldens(&self, entity: EntityKind, retired: bool) -> Result<Vec<GoldenRecord>> {
        Ok(self.store.goldens(entity, retired).await?)
    }

    /// Quarantined input, newest first: one source's or all, open entries or `all`.
    pub async fn quarantine(
        &self,
        source: Option<&str>,
        all: bool,
        limit: i64,
    ) -> Result<Vec<QuarantineRow>> {
        Ok(self.store.quarantine(source, all, limit).await?)
    }
}
