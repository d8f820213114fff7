//! The identifier index: exact lookups of resident IDs, phones and names, which are sealed at
//! rest, through a keyed hash of each value under the keyring's lookup key ([`crate::lookup`]:
//! kept apart from the data keys, so rotating them leaves the index as it is). A store without
//! a keyring keeps plain SHA-256 hashes, beside values it holds in clear anyway.
//!
//! Every batch a source writes appends its records' entries to `identifier_pending` (cheap: no
//! index to keep); [`Store::merge_identifiers`] (at every resolution) moves them into
//! `identifier_index` sorted, which a large index takes far better than random inserts.
//! [`Store::find_identifier`] reads both and checks each record's current values, so entries
//! a changed or withdrawn record left behind find nothing. `identifier_state` says under which
//! key the whole index was built; [`Store::index_identifiers`] builds it again from the stored
//! records when that is not the current key (a store from before the index, or given a keyring).

use serde::Serialize;
use sqlx::{Any, Transaction};
use tombolo_core::fields::id;
use tombolo_core::NormalizedRecord;

use crate::bulk::{self, Arg};
use crate::lookup::{self, purpose};
use crate::seal::{column, row};
use crate::{now, Backend, Result, Store};

/// What can be looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identifier {
    ResidentId,
    Phone,
    Name,
}

impl Identifier {
    pub const ALL: [Identifier; 3] = [Self::ResidentId, Self::Phone, Self::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::Phone => "phone",
            Self::Name => "name",
        }
    }

    /// Its code in `identifier_index.field`.
    fn code(self) -> &'static str {
        match self {
            Self::ResidentId => "i",
            Self::Phone => "p",
            Self::Name => "n",
        }
    }

    /// The fields of any kind's records that hold it: a person's own, a house owner's, an
    /// incident reporter's.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::ResidentId => &[id::RESIDENT_ID, id::OWNER_ID, id::REPORTER_ID],
            Self::Phone => &[id::PHONE, id::REPORTER_PHONE],
            Self::Name => &[id::NAME, id::OWNER_NAME, id::REPORTER_NAME],
        }
    }
}

/// How many records a page of [`Store::index_identifiers`] reads.
const PAGE: i64 = 2_000;

/// What the index holds of one record: (identifier, hash) pairs, each once.
fn entries(
    lookup: Option<&lookup::LookupKey>,
    rec: &NormalizedRecord,
) -> Vec<(Identifier, String)> {
    let mut out: Vec<(Identifier, String)> = Vec::new();
    if rec.deleted {
        return out;
    }
    for ident in Identifier::ALL {
        for field in ident.fields() {
            if let Some(v) = rec.values.get(*field).filter(|v| !v.is_empty()) {
                let h = hash(lookup, ident, v);
                if !out.iter().any(|(i, x)| *i == ident && *x == h) {
                    out.push((ident, h));
                }
            }
        }
    }
    out
}

/// How many hex digits of the hash an entry keeps: 64 bits tell a value from the others well
/// enough, and a lookup checks the record it finds anyway (a pull writes an entry for every
/// identifier it stores: short entries keep it fast).
const HASH_DIGITS: usize = 16;

/// The index's hash of one value: the last [`HASH_DIGITS`] of its keyed hash (the key is the
/// one `identifier_state` names).
fn hash(lookup: Option<&lookup::LookupKey>, ident: Identifier, value: &str) -> String {
    let text = format!("{}\u{0}{value}", ident.as_str());
    let full = lookup::content(lookup, purpose::IDENTIFIER, &text);
    full[full.len().saturating_sub(HASH_DIGITS)..].to_owned()
}

/// The id of the key the index is under: the lookup key's, or `sha256` without a keyring.
fn key_id(lookup: Option<&lookup::LookupKey>) -> String {
    lookup.map_or_else(|| "sha256".to_owned(), |k| k.id().to_owned())
}

/// What [`Store::index_identifiers`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Indexed {
    pub records: u64,
    pub entries: u64,
}

impl Store {
    /// Appends the index entries of `records` (all of one source) in the batch's transaction.
    pub(crate) async fn stage_identifiers(
        &self,
        tx: &mut Transaction<'static, Any>,
        source: &str,
        records: &[&NormalizedRecord],
    ) -> Result<()> {
        let mut rows = Vec::new();
        for rec in records {
            for (ident, h) in entries(self.lookup_key(), rec) {
                rows.push(vec![
                    Arg::Text(ident.code().to_owned()),
                    Arg::Text(h),
                    Arg::Text(source.to_owned()),
                    Arg::Text(rec.key.clone()),
                ]);
            }
        }
        bulk::insert(
            tx,
            self.backend(),
            "INSERT INTO identifier_pending (field, hash, source, record_key)",
            "",
            &rows,
        )
        .await
    }

    /// Moves the pending entries into the index, sorted, in one transaction; how many.
    pub async fn merge_identifiers(&self) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        // `WHERE true`: SQLite reads `ON CONFLICT` after a bare `SELECT … FROM t` as a join's.
        let moved = sqlx::query(
            "INSERT INTO identifier_index (field, hash, source, record_key) \
             SELECT DISTINCT field, hash, source, record_key FROM identifier_pending WHERE true \
             ORDER BY field, hash, source, record_key ON CONFLICT DO NOTHING",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // PostgreSQL's DELETE leaves every row dead until a vacuum; TRUNCATE gives the space
        // back at commit. SQLite empties a table without a WHERE in one step.
        let empty = match self.backend() {
            Backend::Postgres => "TRUNCATE identifier_pending",
            Backend::Sqlite => "DELETE FROM identifier_pending",
        };
        sqlx::query(empty).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// The records (source, key) whose `ident` is `value` (as the normaliser writes it) now,
    /// in source and key order.
    pub async fn find_identifier(
        &self,
        ident: Identifier,
        value: &str,
    ) -> Result<Vec<(String, String)>> {
        let h = hash(self.lookup_key(), ident, value);
        let candidates: Vec<(String, String)> = sqlx::query_as(
            "SELECT source, record_key FROM identifier_index WHERE field = $1 AND hash = $2 \
             UNION SELECT source, record_key FROM identifier_pending WHERE field = $1 AND hash = $2 \
             ORDER BY 1, 2",
        )
        .bind(ident.code())
        .bind(&h)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(candidates.len());
        for (source, key) in candidates {
            // Only while the record holds it (not an entry a change or a deletion left).
            let holds = self
                .record(&source, &key)
                .await?
                .is_some_and(|r| entries(self.lookup_key(), &r).contains(&(ident, h.clone())));
            if holds {
                out.push((source, key));
            }
        }
        Ok(out)
    }

    /// Whether the whole index is under the current key (else lookups may miss records
    /// stored before it was built: any writing command builds it).
    pub async fn identifiers_indexed(&self) -> Result<bool> {
        let at: Option<(String,)> =
            sqlx::query_as("SELECT lookup_id FROM identifier_state WHERE id = 1")
                .fetch_optional(self.pool())
                .await?;
        Ok(at.is_some_and(|(k,)| k == key_id(self.lookup_key())))
    }

    /// Builds the index again from every stored record when it is not under the current key,
    /// a page per transaction; when it is, merges what is pending (a run that stopped before
    /// its resolution). Callers hold the writer lock.
    pub async fn index_identifiers(&self) -> Result<Indexed> {
        let mut out = Indexed::default();
        if self.identifiers_indexed().await? {
            self.merge_identifiers().await?;
            return Ok(out);
        }
        sqlx::query("DELETE FROM identifier_index")
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM identifier_pending")
            .execute(self.pool())
            .await?;
        let mut after: (String, String) = (String::new(), String::new());
        loop {
            let page: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT source, record_key, data FROM source_record \
                 WHERE deleted = 0 AND (source > $1 OR (source = $1 AND record_key > $2)) \
                 ORDER BY source, record_key LIMIT $3",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = (last.0.clone(), last.1.clone());
            let mut tx = self.begin_write().await?;
            let mut rows = Vec::new();
            for (source, key, data) in page {
                let data = self.unseal(column::SOURCE_RECORD, &row(&[&source, &key]), data)?;
                let rec: NormalizedRecord = serde_json::from_str(&data)?;
                out.records += 1;
                for (ident, h) in entries(self.lookup_key(), &rec) {
                    rows.push(vec![
                        Arg::Text(ident.code().to_owned()),
                        Arg::Text(h),
                        Arg::Text(source.clone()),
                        Arg::Text(key.clone()),
                    ]);
                }
            }
            out.entries += rows.len() as u64;
            bulk::insert(
                &mut tx,
                self.backend(),
                "INSERT INTO identifier_pending (field, hash, source, record_key)",
                "",
                &rows,
            )
            .await?;
            tx.commit().await?;
        }
        self.merge_identifiers().await?;
        sqlx::query(
            "INSERT INTO identifier_state (id, lookup_id, indexed_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET lookup_id = excluded.lookup_id, indexed_at = excluded.indexed_at",
        )
        .bind(key_id(self.lookup_key()))
        .bind(now())
        .execute(self.pool())
        .await?;
        if out.records > 0 {
            tracing::info!(
                records = out.records,
                entries = out.entries,
                "identifier index built"
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
