//! What the store holds, read for exports and listings: the crosswalk, golden records and
//! quarantined input.

use tombolo_core::{EntityKind, GoldenRecord, Link};
use tombolo_store::status::QuarantineRow;

use crate::{Hub, Result};

impl Hub {
    /// The crosswalk of a kind.
    pub async fn crosswalk(&self, entity: EntityKind) -> Result<Vec<Link>> {
        Ok(self.store.crosswalk(entity).await?)
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
