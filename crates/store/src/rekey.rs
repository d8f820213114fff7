//! Key rotation: every sealed column rewritten under the keyring's current key, and the count
//! of values per key id (`tombolo keys status`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seal::{self, column};
use crate::{Backend, Error, Result, Store};

/// A sealed column and the primary key of its table.
struct Sealed {
    column: &'static str,
    table: &'static str,
    name: &'static str,
    /// Primary key columns (text), or empty for the integer `id`.
    key: &'static [&'static str],
    /// The columns whose values bind a sealed value to its row (`seal::row`).
    bind: &'static [&'static str],
}

const SEALED: [Sealed; 9] = [
    Sealed {
        column: column::SOURCE_RECORD,
        table: "source_record",
        name: "data",
        key: &["source", "record_key"],
        bind: &["source", "record_key"],
    },
    Sealed {
        column: column::QUARANTINE,
        table: "quarantine",
        name: "excerpt",
        key: &[],
        bind: &["source", "record_key"],
    },
    Sealed {
        column: column::QUARANTINE_REASON,
        table: "quarantine",
        name: "reason",
        key: &[],
        bind: &["source", "record_key"],
    },
    Sealed {
        column: column::GOLDEN,
        table: "golden",
        name: "data",
        key: &["golden_id"],
        bind: &["golden_id"],
    },
    Sealed {
        column: column::OUTBOX,
        table: "outbox",
        name: "payload",
        key: &[],
        bind: &["golden_id", "version"],
    },
    Sealed {
        column: column::EVIDENCE,
        table: "crosswalk",
        name: "evidence",
        key: &["source", "record_key"],
        bind: &["source", "record_key"],
    },
    Sealed {
        column: column::REVIEW,
        table: "review_queue",
        name: "explanation",
        key: &[],
        bind: &["a_source", "a_key", "b_source", "b_key"],
    },
    Sealed {
        column: column::MODEL,
        table: "model",
        name: "params",
        key: &[],
        bind: &["entity", "trained_at"],
    },
    Sealed {
        column: column::LAST_ERROR,
        table: "source_status",
        name: "last_error",
        key: &["source"],
        bind: &["source"],
    },
];

const PAGE: i64 = 1000;

/// What a rotation did to one column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resealed {
    /// Values rewritten under the current key (sealed under another key, or plaintext).
    pub resealed: u64,
    /// Values already under the current key.
    pub current: u64,
    /// Values rewritten by another writer between reading and resealing them, left as that
    /// writer sealed them (a rotation run again reseals them if they are under an old key).
    pub changed_meanwhile: u64,
}

/// A row's key (text columns, or the integer id), its sealed value and its row binding.
type Row = (Vec<String>, Option<i64>, String, String);

/// The SQL expression of a sealed column's row binding (`seal::row` of its bind columns).
fn bind_expr(s: &Sealed) -> String {
    s.bind
        .iter()
        .map(|c| format!("CAST({c} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(" || '\u{1f}' || ")
}

impl Store {
    /// Rewrites every value of every sealed column under the keyring's current key, a page at a
    /// time (each page in one transaction, so an interrupted rotation resumes by running
    /// again). Returns what it did per column (`table.column`).
    pub async fn reseal(&self) -> Result<BTreeMap<&'static str, Resealed>> {
        let keyring = self
            .keyring()
            .ok_or_else(|| Error::Key("rotation needs the store's keyring".into()))?;
        let current = keyring.current_id().to_owned();
        let mut out = BTreeMap::new();
        for s in &SEALED {
            let mut done = Resealed::default();
            let mut after: Row = (
                vec![String::new(); s.key.len()],
                Some(i64::MIN),
                String::new(),
                String::new(),
            );
            loop {
                let page = self.page(s, &after).await?;
                let Some(last) = page.last().cloned() else {
                    break;
                };
                let mut tx = self.begin_write().await?;
                for (key, id, value, bound) in page {
                    if seal::key_id(&value) == Some(current.as_str())
                        && value.starts_with(seal::PREFIX)
                    {
                        done.current += 1;
                        continue;
                    }
                    let old = value.clone();
                    let plain = self.unseal(s.column, &bound, value)?;
                    let sealed = keyring.seal(s.column, &bound, &plain)?;
                    // Compare and set: a value rewritten since the page was read (by a writer
                    // that held the lock before this rotation did) is left as it is.
                    let sql = format!(
                        "UPDATE {} SET {} = {} WHERE {} AND {} = {}",
                        s.table,
                        s.name,
                        param(self, 1),
                        where_key(self, s),
                        s.name,
                        param(self, 2 + s.key.len().max(1))
                    );
                    let mut q = sqlx::query(&sql).bind(sealed);
                    match id {
                        Some(id) => q = q.bind(id),
                        None => {
                            for k in key {
                                q = q.bind(k);
                            }
                        }
                    }
                    if q.bind(old).execute(&mut *tx).await?.rows_affected() == 1 {
                        done.resealed += 1;
                    } else {
                        done.changed_meanwhile += 1;
                    }
                }
                tx.commit().await?;
                after = last;
            }
            out.insert(s.column, done);
        }
        Ok(out)
    }

    /// One sealed value of each sealed column that holds any: what a keyring must open before
    /// the hub writes anything with it (an empty list: the store holds no sealed value).
    /// Each as `(column, row binding, sealed value)`.
    pub async fn sealed_samples(&self) -> Result<Vec<(&'static str, String, String)>> {
        let mut out = Vec::new();
        for s in &SEALED {
            let row: Option<(String, String)> = sqlx::query_as(&format!(
                "SELECT {0}, {3} FROM {1} WHERE {0} LIKE '{2}%' LIMIT 1",
                s.name,
                s.table,
                seal::PREFIX_ANY,
                bind_expr(s)
            ))
            .fetch_optional(self.pool())
            .await?;
            if let Some((v, bound)) = row {
                out.push((s.column, bound, v));
            }
        }
        Ok(out)
    }

    /// Per sealed column, the number of values under each key id (`plaintext` for values not
    /// sealed).
    pub async fn key_usage(&self) -> Result<BTreeMap<&'static str, BTreeMap<String, u64>>> {
        let mut out = BTreeMap::new();
        for s in &SEALED {
            let rows: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT substr({0}, 1, 40) FROM {1} WHERE {0} IS NOT NULL",
                s.name, s.table
            ))
            .fetch_all(self.pool())
            .await?;
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for (prefix,) in rows {
                let id = seal::key_id(&prefix).unwrap_or("plaintext").to_owned();
                *counts.entry(id).or_default() += 1;
            }
            out.insert(s.column, counts);
        }
        Ok(out)
    }

    /// The page of a sealed column after `after`, in key order (rows where it is null skipped).
    async fn page(&self, s: &Sealed, after: &Row) -> Result<Vec<Row>> {
        let p = |i| param(self, i);
        let not_null = format!("{} IS NOT NULL", s.name);
        if s.key.is_empty() {
            let sql = format!(
                "SELECT id, {0}, {4} FROM {1} WHERE id > {2} AND {not_null} ORDER BY id LIMIT {3}",
                s.name,
                s.table,
                p(1),
                p(2),
                bind_expr(s)
            );
            let rows: Vec<(i64, String, String)> = sqlx::query_as(&sql)
                .bind(after.1.unwrap_or(i64::MIN))
                .bind(PAGE)
                .fetch_all(self.pool())
                .await?;
            return Ok(rows
                .into_iter()
                .map(|(id, v, b)| (Vec::new(), Some(id), v, b))
                .collect());
        }
        let keys = s.key.join(", ");
        let (cond, binds) = match s.key {
            [a] => (format!("{a} > {}", p(1)), 1),
            [a, b] => (
                format!("({a} > {0} OR ({a} = {0} AND {b} > {1}))", p(1), p(2)),
                2,
            ),
            _ => return Err(Error::Corrupt(format!("{}: unexpected key", s.table))),
        };
        let sql = format!(
            "SELECT {keys}, {0}, {3} FROM {1} WHERE {cond} AND {not_null} ORDER BY {keys} LIMIT {2}",
            s.name,
            s.table,
            p(binds + 1),
            bind_expr(s)
        );
        let mut rows = Vec::new();
        if binds == 1 {
            let got: Vec<(String, String, String)> = sqlx::query_as(&sql)
                .bind(&after.0[0])
                .bind(PAGE)
                .fetch_all(self.pool())
                .await?;
            rows.extend(got.into_iter().map(|(k, v, b)| (vec![k], None, v, b)));
        } else {
            let got: Vec<(String, String, String, String)> = sqlx::query_as(&sql)
                .bind(&after.0[0])
                .bind(&after.0[1])
                .bind(PAGE)
                .fetch_all(self.pool())
                .await?;
            rows.extend(
                got.into_iter()
                    .map(|(a, b, v, bound)| (vec![a, b], None, v, bound)),
            );
        }
        Ok(rows)
    }
}

/// The `i`th parameter, numbered (a parameter may appear twice).
fn param(store: &Store, i: usize) -> String {
    match store.backend() {
        Backend::Sqlite => format!("?{i}"),
        Backend::Postgres => format!("${i}"),
    }
}

/// `pk = $2 [AND pk2 = $3]` of a sealed column's table.
fn where_key(store: &Store, s: &Sealed) -> String {
    if s.key.is_empty() {
        return format!("id = {}", param(store, 2));
    }
    s.key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = {}", param(store, i + 2)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden::tests::{golden, link};
    use crate::testing::stores;
    use crate::Keyring;
    use tombolo_core::{EntityKind, Resolution};

    #[tokio::test]
    async fn rotation_reseals_every_value_and_reads_stay_the_same() {
        let k1 = Keyring::new_key_line("k1");
        let k2 = Keyring::new_key_line("k2");
        for (plain, _dir) in stores().await {
            // Written in plaintext first (a store from before encryption), then under k1.
            let ids = ["P-1", "P-2"];
            let resolution = |name: &str| Resolution {
                entity: EntityKind::Person,
                links: ids
                    .iter()
                    .map(|id| tombolo_core::Link {
                        evidence: Some(format!("{{\"why\":\"{name}\"}}")),
                        ..link(id, id)
                    })
                    .collect(),
                goldens: ids.iter().map(|id| golden(id, name, &[id])).collect(),
                retired: Default::default(),
                partial: None,
            };
            plain.apply_resolution(&resolution("张三")).await.unwrap();
            plain
                .save_model(EntityKind::Person, "{\"tf\":\"张三\"}", 2)
                .await
                .unwrap();
            let store = plain.clone().with_keyring(Keyring::parse(&k1).unwrap());
            store.apply_resolution(&resolution("李四")).await.unwrap();
            let usage = store.key_usage().await.unwrap();
            assert_eq!(usage[column::GOLDEN]["k1"], 2);
            assert_eq!(usage[column::OUTBOX]["plaintext"], 2);
            assert_eq!(usage[column::OUTBOX]["k1"], 2);
            assert_eq!(usage[column::MODEL]["plaintext"], 1);
            assert!(
                plain.goldens(EntityKind::Person, true).await.is_err(),
                "sealed values need the keyring"
            );

            // Rotate to k2 (k1 still held for reading), then drop k1.
            let both = plain
                .clone()
                .with_keyring(Keyring::parse(&format!("{k1}\n{k2}")).unwrap());
            let report = both.reseal().await.unwrap();
            assert_eq!(report[column::GOLDEN].resealed, 2);
            assert_eq!(report[column::OUTBOX].resealed, 4);
            assert_eq!(report[column::EVIDENCE].resealed, 2);
            assert_eq!(report[column::MODEL].resealed, 1);
            let again = both.reseal().await.unwrap();
            assert!(again.values().all(|r| r.resealed == 0));
            let only_new = plain.clone().with_keyring(Keyring::parse(&k2).unwrap());
            let usage = only_new.key_usage().await.unwrap();
            for (col, counts) in &usage {
                assert!(counts.keys().all(|k| k == "k2"), "{col}: {counts:?}");
            }
            let g = only_new.goldens(EntityKind::Person, true).await.unwrap();
            assert_eq!(g[0].values["name"], "李四");
            let m = only_new.model(EntityKind::Person).await.unwrap().unwrap();
            assert_eq!(m.params, "{\"tf\":\"张三\"}");
            assert_eq!(only_new.outbox_pending(10).await.unwrap().len(), 4);
            let (_, l) = only_new.link("s", "P-1").await.unwrap().unwrap();
            assert!(l.evidence.unwrap().starts_with("{\"why\":"));
        }
    }
}
