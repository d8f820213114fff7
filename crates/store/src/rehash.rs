//! Content hashes brought under the keyring's lookup key ([`crate::lookup`]): a store written
//! without a keyring, or before hashes were keyed, holds plain SHA-256 hashes; a writer with a
//! keyring rewrites them once, from the stored records, so no record looks changed for it.

use serde::Serialize;
use tombolo_core::GoldenRecord;
use tombolo_core::NormalizedRecord;

use crate::apply::golden_hash;
use crate::records::content_hash;
use crate::seal::{column, row};
use crate::{Result, Store};

const PAGE: i64 = 1000;

/// What [`Store::rehash_contents`] rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rehashed {
    pub source_records: u64,
    pub goldens: u64,
}

impl Store {
    /// Rewrites every content hash not under the keyring's lookup key, a page per transaction
    /// (an interrupted pass resumes by running again). Without a keyring there is nothing to
    /// key and nothing is done. Callers hold the writer lock.
    pub async fn rehash_contents(&self) -> Result<Rehashed> {
        let mut out = Rehashed::default();
        let Some(lookup) = self.lookup_key() else {
            return Ok(out);
        };
        let keyed = format!("{}%", lookup.hash_prefix());
        loop {
            let page: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT source, record_key, data, content_hash FROM source_record \
                 WHERE content_hash NOT LIKE $1 ORDER BY source, record_key LIMIT $2",
            )
            .bind(&keyed)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            if page.is_empty() {
                break;
            }
            let mut tx = self.begin_write().await?;
            for (source, key, data, old) in page {
                let data = self.unseal(column::SOURCE_RECORD, &row(&[&source, &key]), data)?;
                let rec: NormalizedRecord = serde_json::from_str(&data)?;
                let hash = content_hash(Some(lookup), &rec)?;
                sqlx::query(
                    "UPDATE source_record SET content_hash = $1 \
                     WHERE source = $2 AND record_key = $3 AND content_hash = $4",
                )
                .bind(hash)
                .bind(&source)
                .bind(&key)
                .bind(old)
                .execute(&mut *tx)
                .await?;
                out.source_records += 1;
            }
            tx.commit().await?;
        }
        loop {
            let page: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT golden_id, data, content_hash FROM golden \
                 WHERE content_hash NOT LIKE $1 ORDER BY golden_id LIMIT $2",
            )
            .bind(&keyed)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            if page.is_empty() {
                break;
            }
            let mut tx = self.begin_write().await?;
            for (id, data, old) in page {
                let data = self.unseal(column::GOLDEN, &id, data)?;
                let g: GoldenRecord = serde_json::from_str(&data)?;
                let hash = golden_hash(Some(lookup), &g)?;
                sqlx::query(
                    "UPDATE golden SET content_hash = $1 WHERE golden_id = $2 AND content_hash = $3",
                )
                .bind(hash)
                .bind(&id)
                .bind(old)
                .execute(&mut *tx)
                .await?;
                out.goldens += 1;
            }
            tx.commit().await?;
        }
        if out != Rehashed::default() {
            tracing::info!(
                source_records = out.source_records,
                goldens = out.goldens,
                lookup_key = lookup.id(),
                "content hashes keyed under the lookup key"
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::tests::{golden, link};
    use crate::records::tests::rec as record;
    use crate::testing::stores;
    use crate::Keyring;
    use tombolo_core::{EntityKind, Resolution};

    async fn hashes(store: &Store) -> Vec<String> {
        let mut out: Vec<(String,)> = sqlx::query_as("SELECT content_hash FROM source_record")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let g: Vec<(String,)> = sqlx::query_as("SELECT content_hash FROM golden")
            .fetch_all(store.pool())
            .await
            .unwrap();
        out.extend(g);
        out.into_iter().map(|(h,)| h).collect()
    }

    #[tokio::test]
    async fn l1_a_store_with_a_keyring_holds_keyed_hashes_only_and_upgrading_changes_nothing() {
        let k1 = Keyring::new_key_line("k1");
        for (plain, _dir) in stores().await {
            let batch = [record("a", "张三"), record("b", "李四")];
            let resolution = Resolution {
                entity: EntityKind::Person,
                links: vec![link("a", "P-1")],
                goldens: vec![golden("P-1", "张三", &["a"])],
                retired: Default::default(),
                partial: None,
            };
            // A store from before: plain SHA-256 hashes, an unsealed golden record.
            plain
                .write_batch("s", EntityKind::Person, &batch, &[], None)
                .await
                .unwrap();
            plain.apply_resolution(&resolution).await.unwrap();
            let before = hashes(&plain).await;
            assert!(before.iter().all(|h| h.len() == 64 && !h.contains(':')));

            let store = plain.clone().with_keyring(Keyring::parse(&k1).unwrap());
            let done = store.rehash_contents().await.unwrap();
            assert_eq!(
                done,
                Rehashed {
                    source_records: 2,
                    goldens: 1
                }
            );
            let after = hashes(&store).await;
            let prefix = store.lookup_key().unwrap().hash_prefix();
            assert!(after.iter().all(|h| h.starts_with(&prefix)), "{after:?}");
            assert!(after.iter().all(|h| !before.iter().any(|b| h.contains(b))));
            assert_eq!(store.rehash_contents().await.unwrap(), Rehashed::default());

            // Nothing looks changed: the same records and resolution again are unchanged.
            let again = store
                .write_batch("s", EntityKind::Person, &batch, &[], None)
                .await
                .unwrap();
            assert_eq!((again.unchanged, again.changed, again.new), (2, 0, 0));
            let applied = store.apply_resolution(&resolution).await.unwrap();
            assert_eq!((applied.unchanged, applied.updated), (1, 0));
            // New writes are keyed from the start.
            store
                .write_batch("s", EntityKind::Person, &[record("c", "王五")], &[], None)
                .await
                .unwrap();
            assert!(hashes(&store).await.iter().all(|h| h.starts_with(&prefix)));
        }
    }
}
