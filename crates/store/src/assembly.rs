//! What the last assembly of places, houses and incidents covered ([`AssemblyMark`]): a run in
//! which no source record was stored, no golden record of any kind was written and the rules
//! are the same has nothing to assemble.

use crate::{now, Result, Store};

/// The state of the store an assembly saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssemblyMark {
    /// The change counter ([`Store::change_mark`]) before it read the records.
    pub change_seq: i64,
    /// The outbox's last entry ([`Store::outbox_mark`]) after it wrote.
    pub outbox_seq: i64,
    /// The rules it applied (the hub's digest of its configuration).
    pub fingerprint: String,
}

impl Store {
    /// The last outbox entry's number (0 when there is none): every golden record or
    /// relationship written queues one, so an unchanged number means none was written.
    pub async fn outbox_mark(&self) -> Result<i64> {
        let (v,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM outbox")
            .fetch_one(self.pool())
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// What the last assembly covered, `None` before the first.
    pub async fn assembly_mark(&self) -> Result<Option<AssemblyMark>> {
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT change_seq, outbox_seq, fingerprint FROM assembly_state WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map(|(change_seq, outbox_seq, fingerprint)| AssemblyMark {
                change_seq,
                outbox_seq,
                fingerprint,
            }),
        )
    }

    /// Records what an assembly covered.
    pub async fn set_assembly_mark(&self, mark: &AssemblyMark) -> Result<()> {
        sqlx::query(
            "INSERT INTO assembly_state (id, change_seq, outbox_seq, fingerprint, assembled_at) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
             change_seq = excluded.change_seq, outbox_seq = excluded.outbox_seq, \
             fingerprint = excluded.fingerprint, assembled_at = excluded.assembled_at",
        )
        .bind(mark.change_seq)
        .bind(mark.outbox_seq)
        .bind(&mark.fingerprint)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_mark_is_kept_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.assembly_mark().await.unwrap(), None);
        assert_eq!(store.outbox_mark().await.unwrap(), 0);
        let first = AssemblyMark {
            change_seq: 3,
            outbox_seq: store.outbox_mark().await.unwrap(),
            fingerprint: "a".into(),
        };
        store.set_assembly_mark(&first).await.unwrap();
        assert_eq!(store.assembly_mark().await.unwrap(), Some(first));
        let second = AssemblyMark {
            change_seq: 5,
            outbox_seq: 7,
            fingerprint: "b".into(),
        };
        store.set_assembly_mark(&second).await.unwrap();
        assert_eq!(store.assembly_mark().await.unwrap(), Some(second));
    }
}
