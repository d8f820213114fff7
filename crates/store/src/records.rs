//! Source records, written batch by batch together with the connector's checkpoint.

use serde::Serialize;
use tombolo_core::NormalizedRecord;
use tombolo_core::{EntityKind, ErrorClass};

use std::collections::BTreeMap;

use crate::bulk::{self, Arg};
use crate::lookup::{self, LookupKey};
use crate::seal::{column, row};
use crate::{now, unseal, Backend, Result, Store};

/// A record or piece of input that goes to quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub record_key: String,
    pub class: ErrorClass,
    pub reason: String,
    pub excerpt: String,
}

/// What storing a batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    /// Records the hub had not seen before.
    pub new: u64,
    /// Records whose normalised content changed.
    pub changed: u64,
    /// Records pulled again with the same content.
    pub unchanged: u64,
    /// Records the source marked as deleted, withdrawn from the hub.
    pub deleted: u64,
}

impl BatchOutcome {
    pub fn add(&mut self, o: BatchOutcome) {
        self.new += o.new;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
        self.deleted += o.deleted;
    }
}

/// A source record as stored.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub source: String,
    pub record: NormalizedRecord,
}

#[derive(Serialize)]
struct Content<'a> {
    values: &'a std::collections::BTreeMap<String, String>,
    issues: &'a [tombolo_core::FieldIssue],
    derived: &'a [String],
}

/// Hash of what a record says (not of when it was seen): keyed under `lookup` when the store
/// has a keyring ([`crate::lookup`]).
pub fn content_hash(lookup: Option<&LookupKey>, r: &NormalizedRecord) -> Result<String> {
    let text = serde_json::to_string(&Content {
        values: &r.values,
        issues: &r.issues,
        derived: &r.derived,
    })?;
    Ok(lookup::content(
        lookup,
        lookup::purpose::SOURCE_CONTENT,
        &text,
    ))
}

/// The next value of the store's change counter. Its row stays locked until the transaction
/// commits, so values follow commit order (see `Store::changed_since`).
async fn next_change(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64> {
    let (seq,): (i64,) =
        sqlx::query_as("UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value")
            .fetch_one(&mut **tx)
            .await?;
    Ok(seq)
}

/// Text as a store column can hold it: PostgreSQL refuses U+0000 in text, so a NUL (in the
/// key, reason or excerpt of quarantined input) is written as the visible `\0`.
fn storable(text: &str) -> String {
    if text.contains('\0') {
        text.replace('\0', "\\0")
    } else {
        text.to_owned()
    }
}

/// The statement that reads what the store holds for `n` keys of one source (`$1`, then the
/// keys), as (record key, content hash).
pub(crate) fn known_sql(backend: Backend, n: usize) -> String {
    match backend {
        // One probe of the primary key per key, whatever the planner believes of the source:
        // a source its statistics have not met yet looks like one row, and an `IN` list is then
        // planned as a scan of all the source's rows filtered by key, slower with every batch
        // of the pull. The subquery with its `LIMIT` is planned alone, for one key, so it is
        // always the probe.
        Backend::Postgres => format!(
            "SELECT k.key, r.content_hash FROM (VALUES {}) AS k (key) CROSS JOIN LATERAL \
             (SELECT content_hash FROM source_record WHERE source = $1 AND record_key = k.key LIMIT 1) AS r",
            (2..n + 2)
                .map(|i| format!("(${i})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Backend::Sqlite => format!(
            "SELECT record_key, content_hash FROM source_record WHERE source = ? AND record_key IN ({})",
            bulk::placeholders(backend, 2, n)
        ),
    }
}

impl Store {
    /// Stores one batch of a source in one transaction: accepted records (skipping unchanged
    /// content), quarantine entries, the source's running totals and, last, the checkpoint
    /// that follows the batch. So the totals never drift from the data: a batch is counted
    /// exactly when it is stored, however the run ends.
    pub async fn write_batch(
        &self,
        source: &str,
        entity: EntityKind,
        accepted: &[NormalizedRecord],
        quarantined: &[QuarantineEntry],
        checkpoint: Option<&serde_json::Value>,
    ) -> Result<BatchOutcome> {
        let at = now();
        let mut out = BatchOutcome::default();
        let t0 = std::time::Instant::now();
        let mut tx = self.begin_write().await?;
        let seq = next_change(&mut tx).await?;
        // What the store holds for these keys, in chunks of one IN list each.
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        for chunk in accepted.chunks(500) {
            let sql = known_sql(self.backend(), chunk.len());
            let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(source);
            for rec in chunk {
                q = q.bind(&rec.key);
            }
            known.extend(q.fetch_all(&mut *tx).await?);
        }
        let t_lookup = t0.elapsed();
        let mut rows = Vec::new();
        let mut touched = Vec::new();
        let mut withdrawn = Vec::new();
        // The records written, the later of a key seen twice, for the identifier index.
        let mut written: BTreeMap<&str, &NormalizedRecord> = BTreeMap::new();
        for rec in accepted.iter().filter(|r| r.deleted) {
            if known.remove(&rec.key).is_some() {
                withdrawn.push(rec.key.clone());
            }
            out.deleted += 1;
        }
        for rec in accepted.iter().filter(|r| !r.deleted) {
            let hash = content_hash(self.lookup_key(), rec)?;
            match known.get(&rec.key) {
                Some(h) if *h == hash => {
                    out.unchanged += 1;
                    continue;
                }
                Some(_) => out.changed += 1,
                None => out.new += 1,
            }
            // A key seen twice in one batch: the later record wins, as it would row by row.
            known.insert(rec.key.clone(), hash.clone());
            rows.push(vec![
                Arg::Text(source.to_owned()),
                Arg::Text(rec.key.clone()),
                Arg::Text(rec.entity.as_str().to_owned()),
                Arg::Text(hash),
                Arg::Text(self.seal(
                    column::SOURCE_RECORD,
                    &row(&[source, &rec.key]),
                    serde_json::to_string(rec)?,
                )?),
                Arg::OptText(rec.observed_at.clone()),
                Arg::Text(at.clone()),
                Arg::Text(at.clone()),
                Arg::Int(seq),
            ]);
            touched.push(rec.key.clone());
            written.insert(&rec.key, rec);
        }
        // Later duplicates of a key in the same statement would conflict with themselves.
        let mut last: BTreeMap<String, Vec<Arg>> = BTreeMap::new();
        for row in rows {
            if let Arg::Text(k) = &row[1] {
                last.insert(k.clone(), row);
            }
        }
        let rows: Vec<Vec<Arg>> = last.into_values().collect();
        bulk::insert(
            &mut tx,
            self.backend(),
            "INSERT INTO source_record (source, record_key, entity, content_hash, data, observed_at, first_seen_at, updated_at, change_seq)",
            "ON CONFLICT (source, record_key) DO UPDATE SET entity = excluded.entity, content_hash = excluded.content_hash, \
             data = excluded.data, observed_at = excluded.observed_at, updated_at = excluded.updated_at, deleted = 0, \
             change_seq = excluded.change_seq",
            &rows,
        )
        .await?;
        let t_insert = t0.elapsed();
        let written: Vec<&NormalizedRecord> = written.into_values().collect();
        self.stage_identifiers(&mut tx, source, &written).await?;
        let t_ident = t0.elapsed();
        for key in &withdrawn {
            sqlx::query(
                "UPDATE source_record SET deleted = 1, updated_at = $1, change_seq = $4 WHERE source = $2 AND record_key = $3 AND deleted = 0",
            )
            .bind(&at)
            .bind(source)
            .bind(key)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in touched.chunks(500) {
            let sql = format!(
                "UPDATE quarantine SET resolved_at = {} WHERE source = {} AND resolved_at IS NULL AND record_key IN ({})",
                bulk::placeholders(self.backend(), 1, 1),
                bulk::placeholders(self.backend(), 2, 1),
                bulk::placeholders(self.backend(), 3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(&at).bind(source);
            for k in chunk {
                q = q.bind(k);
            }
            q.execute(&mut *tx).await?;
        }
        for q in quarantined {
            // One open entry per source and key: input read again (a source re-read every
            // run) refreshes its entry instead of adding another.
            let key = storable(&q.record_key);
            let bound = row(&[source, &key]);
            let reason = self.seal(column::QUARANTINE_REASON, &bound, storable(&q.reason))?;
            let excerpt = self.seal(column::QUARANTINE, &bound, storable(&q.excerpt))?;
            let refreshed = sqlx::query(
                "UPDATE quarantine SET error_class = $1, reason = $2, excerpt = $3, at = $4 \
                 WHERE source = $5 AND record_key = $6 AND resolved_at IS NULL",
            )
            .bind(q.class.as_str())
            .bind(&reason)
            .bind(&excerpt)
            .bind(&at)
            .bind(source)
            .bind(&key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if refreshed > 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO quarantine (source, record_key, error_class, reason, excerpt, at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(source)
            .bind(&key)
            .bind(q.class.as_str())
            .bind(reason)
            .bind(excerpt)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        let pulled = (accepted.len() + quarantined.len()) as i64;
        sqlx::query(
            "INSERT INTO source_status (source, entity, total_pulled, total_accepted, total_quarantined) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source) DO UPDATE SET entity = excluded.entity, \
               total_pulled = source_status.total_pulled + excluded.total_pulled, \
               total_accepted = source_status.total_accepted + excluded.total_accepted, \
               total_quarantined = source_status.total_quarantined + excluded.total_quarantined",
        )
        .bind(source)
        .bind(entity.as_str())
        .bind(pulled)
        .bind(accepted.len() as i64)
        .bind(quarantined.len() as i64)
        .execute(&mut *tx)
        .await?;
        if let Some(cp) = checkpoint {
            sqlx::query(
                "INSERT INTO checkpoint (source, state, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (source) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(serde_json::to_string(cp)?)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        let t_rest = t0.elapsed();
        tx.commit().await?;
        // Where a batch's time goes, for the `-vv` log.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        tracing::debug!(
            source,
            lookup_ms = ms(t_lookup),
            insert_ms = ms(t_insert - t_lookup),
            identifiers_ms = ms(t_ident - t_insert),
            rest_ms = ms(t_rest - t_ident),
            commit_ms = ms(t0.elapsed() - t_rest),
            "batch written"
        );
        Ok(out)
    }

    /// The keys of a source's live (not withdrawn) records.
    pub async fn live_keys(&self, source: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT record_key FROM source_record WHERE source = $1 AND deleted = 0",
        )
        .bind(source)
        .fetch_all(self.pool())
        .await?)
    }

    /// Withdraws records deleted at the source (found missing from its listing), in one
    /// transaction: the next resolution takes them out of their golden records.
    pub async fn withdraw(&self, source: &str, keys: &[String]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let at = now();
        let mut tx = self.begin_write().await?;
        let seq = next_change(&mut tx).await?;
        let mut n = 0;
        for key in keys {
            n += sqlx::query(
                "UPDATE source_record SET deleted = 1, updated_at = $1, change_seq = $2 \
                 WHERE source = $3 AND record_key = $4 AND deleted = 0",
            )
            .bind(&at)
            .bind(seq)
            .bind(source)
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// The saved checkpoint of a source.
    pub async fn checkpoint(&self, source: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT state FROM checkpoint WHERE source = $1")
                .bind(source)
                .fetch_optional(self.pool())
                .await?;
        row.map(|(s,)| serde_json::from_str(&s).map_err(Into::into))
            .transpose()
    }

    /// Forgets a source's checkpoint, so its next pull starts from the beginning.
    pub async fn reset_checkpoint(&self, source: &str) -> Result<()> {
        sqlx::query("DELETE FROM checkpoint WHERE source = $1")
            .bind(source)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// All live source records of an entity kind, ordered by source and key. Rows are decoded
    /// as they stream in, so the raw JSON is never all in memory at once.
    pub async fn records(&self, entity: EntityKind) -> Result<Vec<StoredRecord>> {
        Ok(self
            .records_as::<NormalizedRecord>(entity)
            .await?
            .into_iter()
            .map(|(source, record)| StoredRecord { source, record })
            .collect())
    }

    /// [`records`](Self::records), each decoded straight into `T` (any type that reads a
    /// stored [`NormalizedRecord`]'s JSON, such as a more compact form), with its source.
    pub async fn records_as<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        entity: EntityKind,
    ) -> Result<Vec<(String, T)>> {
        use futures::TryStreamExt;
        // Sorted here rather than by the database: an ORDER BY makes SQLite sort every row
        // with its data in a temporary B-tree, several times slower than sorting the keys.
        let mut rows = sqlx::query_as::<_, (String, String, String)>(
            "SELECT source, record_key, data FROM source_record WHERE entity = $1 AND deleted = 0",
        )
        .bind(entity.as_str())
        .fetch(self.pool());
        // Rows are decoded in batches on the blocking pool while the next ones are read.
        const BATCH: usize = 16_384;
        type Decoded<T> = Result<Vec<(String, String, T)>>;
        let decode = |batch: Vec<(String, String, String)>| {
            let keyring = self.keyring.clone();
            tokio::task::spawn_blocking(move || -> Decoded<T> {
                batch
                    .into_iter()
                    .map(|(source, key, data)| {
                        let bound = row(&[&source, &key]);
                        let data = unseal(keyring.as_deref(), column::SOURCE_RECORD, &bound, data)?;
                        Ok((source, key, serde_json::from_str(&data)?))
                    })
                    .collect()
            })
        };
        let mut pending = Vec::new();
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
            if batch.len() == BATCH {
                pending.push(decode(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH),
                )));
            }
        }
        pending.push(decode(batch));
        let mut out = Vec::new();
        for p in pending {
            out.extend(p.await.map_err(crate::Error::Task)??);
        }
        out.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(out.into_iter().map(|(source, _, r)| (source, r)).collect())
    }

    /// One stored source record.
    pub async fn record(&self, source: &str, key: &str) -> Result<Option<NormalizedRecord>> {
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT data FROM source_record WHERE source = $1 AND record_key = $2 AND deleted = 0",
        )
        .bind(source)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        found
            .map(|(d,)| {
                let d = self.unseal(column::SOURCE_RECORD, &row(&[source, key]), d)?;
                serde_json::from_str(&d).map_err(Into::into)
            })
            .transpose()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::stores;

    pub(crate) fn rec(key: &str, name: &str) -> NormalizedRecord {
        NormalizedRecord {
            entity: EntityKind::Person,
            key: key.into(),
            observed_at: None,
            values: [("name".to_owned(), name.to_owned())].into(),
            issues: vec![],
            derived: vec![],
            deleted: false,
        }
    }

    #[tokio::test]
    async fn batches_detect_new_changed_unchanged_and_keep_checkpoint() {
        for (store, _dir) in stores().await {
            let cp = serde_json::json!({"watermark": "2020-01-01", "pk": 3});
            let q = QuarantineEntry {
                record_key: "K9".into(),
                class: ErrorClass::BadRecord,
                reason: "bad".into(),
                excerpt: "x".into(),
            };
            let o = store
                .write_batch(
                    "s",
                    EntityKind::Person,
                    &[rec("K1", "张三"), rec("K2", "李四")],
                    &[q],
                    Some(&cp),
                )
                .await
                .unwrap();
            assert_eq!(
                o,
                BatchOutcome {
                    new: 2,
                    changed: 0,
                    unchanged: 0,
                    deleted: 0,
                }
            );
            assert_eq!(store.checkpoint("s").await.unwrap(), Some(cp));
            let o = store
                .write_batch(
                    "s",
                    EntityKind::Person,
                    &[rec("K1", "张三"), rec("K2", "李四四"), rec("K9", "王五")],
                    &[],
                    None,
                )
                .await
                .unwrap();
            assert_eq!(
                o,
                BatchOutcome {
                    new: 1,
                    changed: 1,
                    unchanged: 1,
                    deleted: 0,
                }
            );
            let all = store.records(EntityKind::Person).await.unwrap();
            assert_eq!(all.len(), 3);
            assert_eq!(
                store.record("s", "K2").await.unwrap().unwrap().get("name"),
                Some("李四四")
            );
            let open = store.quarantine(Some("s"), false, 10).await.unwrap();
            assert!(
                open.is_empty(),
                "K9 was accepted later, so its quarantine entry is resolved"
            );
            let all_q = store.quarantine(Some("s"), true, 10).await.unwrap();
            assert_eq!(all_q.len(), 1);
        }
    }

    #[tokio::test]
    async fn m11_totals_are_counted_with_each_stored_batch_and_h6_nul_is_storable() {
        for (store, _dir) in stores().await {
            let q = QuarantineEntry {
                record_key: "k\u{0}6".into(),
                class: ErrorClass::BadRecord,
                reason: "the record key contains a NUL byte (U+0000)".into(),
                excerpt: "Zh\u{0}ou".into(),
            };
            store
                .write_batch("s", EntityKind::Person, &[rec("K1", "甲")], &[q], None)
                .await
                .unwrap();
            // No finish_run: a run killed here has still counted the batch it stored.
            let st = store.status().await.unwrap();
            assert_eq!(
                (
                    st[0].total_pulled,
                    st[0].total_accepted,
                    st[0].total_quarantined
                ),
                (2, 1, 1)
            );
            let counts = crate::status::RunCounts {
                pulled: 2,
                accepted: 1,
                quarantined: 1,
                ..Default::default()
            };
            store
                .finish_run("s", EntityKind::Person, counts, Some("boom\u{0}"))
                .await
                .unwrap();
            let st = store.status().await.unwrap();
            assert_eq!(st[0].total_pulled, 2, "the end of a run adds nothing again");
            assert_eq!(st[0].last.pulled, 2);
            assert_eq!(st[0].last_error.as_deref(), Some("boom\\0"));
            let qs = store.quarantine(Some("s"), true, 10).await.unwrap();
            assert_eq!(qs[0].record_key, "k\\06");
            assert_eq!(qs[0].excerpt, "Zh\\0ou");
        }
    }
}
