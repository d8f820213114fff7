//! The audit trail's hash chain: each entry carries the hash of the one before it, written by
//! [`insert_entry`] and checked by [`Store::verify_audit`] (`tombolo audit verify`); entries from
//! before the chain existed are chained by migration 6 ([`chain_unchained`]).

use serde::Serialize;

use crate::audit::AuditKind;
use crate::{Result, Store};

/// The hash of an entry: over the previous entry's hash, its place and its content, each part
/// length-prefixed so no two different entries hash alike.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    n: i64,
    at: &str,
    kind: &str,
    actor: &str,
    department: Option<&str>,
    action: &str,
    detail: &str,
    records: &[(String, i64)],
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut part = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    part(b"tombolo audit v1");
    part(prev.as_bytes());
    part(&n.to_be_bytes());
    for p in [
        at,
        kind,
        actor,
        department.unwrap_or("\u{0}none"),
        action,
        detail,
    ] {
        part(p.as_bytes());
    }
    let mut records = records.to_vec();
    records.sort();
    for (g, v) in &records {
        part(g.as_bytes());
        part(&v.to_be_bytes());
    }
    hex::encode(h.finalize())
}

/// The chain's head: `(n, entry_hash)` of the newest chained entry.
async fn head(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT n, entry_hash FROM audit WHERE entry_hash IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or((0, String::new())))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_entry(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    at: &str,
    kind: AuditKind,
    actor: &str,
    department: Option<&str>,
    action: &str,
    detail: &str,
    records: &[(String, i64)],
) -> Result<i64> {
    let (prev_n, prev) = head(tx).await?;
    let n = prev_n + 1;
    let hash = entry_hash(
        &prev,
        n,
        at,
        kind.as_str(),
        actor,
        department,
        action,
        detail,
        records,
    );
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit (at, kind, actor, department, action, detail, n, prev_hash, entry_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(at)
    .bind(kind.as_str())
    .bind(actor)
    .bind(department)
    .bind(action)
    .bind(detail)
    .bind(n)
    .bind(prev)
    .bind(hash)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

type EntryRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// The hash a stored entry should carry at place `n` after `prev`.
fn row_hash(prev: &str, n: i64, r: &EntryRow, records: &[(String, i64)]) -> String {
    entry_hash(
        prev,
        n,
        &r.1,
        &r.2,
        &r.3,
        r.4.as_deref(),
        &r.5,
        &r.6,
        records,
    )
}

/// The golden records a delivery entry carried.
async fn records_of(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT golden_id, version FROM audit_record WHERE audit_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Chains the entries written before the chain existed (migration 6), in id order.
pub(crate) async fn chain_unchained(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT id, at, kind, actor, department, action, detail, n, prev_hash, entry_hash FROM audit ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let (mut n, mut prev) = (0i64, String::new());
    for r in rows {
        let records = records_of(tx, r.0).await?;
        n += 1;
        let hash = row_hash(&prev, n, &r, &records);
        sqlx::query("UPDATE audit SET n = $1, prev_hash = $2, entry_hash = $3 WHERE id = $4")
            .bind(n)
            .bind(&prev)
            .bind(&hash)
            .bind(r.0)
            .execute(&mut **tx)
            .await?;
        prev = hash;
    }
    Ok(())
}

/// What `tombolo audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: u64,
    /// The newest entry's place and hash: keep them apart from the store (a trail cut short
    /// at its end is told only by a head seen before).
    pub head_n: i64,
    pub head_hash: String,
    /// The first entry (id) where the chain breaks, and why; `None` when it holds.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
}

impl Store {
    /// Walks the audit trail in order and recomputes every entry's hash and link.
    pub async fn verify_audit(&self) -> Result<ChainReport> {
        let mut conn = self.pool().acquire().await?;
        let mut report = ChainReport {
            entries: 0,
            head_n: 0,
            head_hash: String::new(),
            broken_at: None,
            problem: None,
        };
        let mut after = 0i64;
        let (mut n, mut prev) = (0i64, String::new());
        loop {
            let rows: Vec<EntryRow> = sqlx::query_as(
                "SELECT id, at, kind, actor, department, action, detail, n, prev_hash, entry_hash \
                 FROM audit WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                after = r.0;
                report.entries += 1;
                let records = records_of(&mut conn, r.0).await?;
                n += 1;
                let want = row_hash(&prev, n, &r, &records);
                let problem = if r.7 != Some(n) {
                    Some(format!("entry {} is number {:?} in the chain, expected {n} (an entry before it is missing)", r.0, r.7))
                } else if r.8.as_deref() != Some(prev.as_str()) {
                    Some(format!(
                        "entry {} does not follow the entry before it (removed or reordered)",
                        r.0
                    ))
                } else if r.9.as_deref() != Some(want.as_str()) {
                    Some(format!(
                        "entry {} was altered (its hash does not match its content)",
                        r.0
                    ))
                } else {
                    None
                };
                if let Some(p) = problem {
                    report.broken_at = Some(r.0);
                    report.problem = Some(p);
                    return Ok(report);
                }
                prev = want;
                report.head_n = n;
                report.head_hash = prev.clone();
            }
        }
        // SQLite hands out ids once (AUTOINCREMENT): ids handed out past the last entry mean
        // entries were cut from the end of the trail.
        if self.backend() == crate::Backend::Sqlite {
            let issued: Option<(i64,)> =
                sqlx::query_as("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some((issued,)) = issued {
                if issued > after {
                    report.broken_at = Some(after + 1);
                    report.problem = Some(format!(
                        "the trail ends at entry {after} but entries up to {issued} were written \
                         (cut from the end)"
                    ));
                }
            }
        }
        Ok(report)
    }
}
