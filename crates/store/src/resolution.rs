//! The engine's state: trained parameters, the last resolution of each kind, the review queue
//! and reviewers' decisions.

use serde::Serialize;
use tombolo_core::{EntityKind, ReviewVerdict};

use crate::bulk::{self, Arg};
use crate::seal::{column, row};
use crate::{now, Error, Result, Store};

/// A record by source and key.
pub type RecordRef = (String, String);

/// Stored parameters.
#[derive(Debug, Clone, Serialize)]
pub struct StoredModel {
    pub id: i64,
    pub entity: EntityKind,
    /// The parameters as JSON.
    pub params: String,
    pub records: u64,
    pub trained_at: String,
}

/// Where the last resolution of a kind left off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveState {
    pub model_id: Option<i64>,
    /// When it ran (for people to read; never compared).
    pub resolved_at: String,
    /// The store's change counter it covered ([`Store::change_mark`]); `None` for a state
    /// written before the counter existed, which makes the next resolution a full one.
    pub resolved_seq: Option<i64>,
}

/// A pair for review, as the engine files it.
#[derive(Debug, Clone, Serialize)]
pub struct NewReview {
    pub a: RecordRef,
    pub b: RecordRef,
    pub reason: String,
    pub probability: f64,
    /// JSON.
    pub explanation: String,
}

/// A pair in the review queue.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewRow {
    pub id: i64,
    pub entity: String,
    pub a: RecordRef,
    pub b: RecordRef,
    pub reason: String,
    pub probability: f64,
    pub explanation: String,
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
}

/// A reviewer's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDecision {
    pub a: RecordRef,
    pub b: RecordRef,
    pub verdict: ReviewVerdict,
    pub decided_by: String,
    pub reason: String,
    pub decided_at: String,
}

/// Pairs are stored in one order, smaller record first.
fn ordered(a: &RecordRef, b: &RecordRef) -> (RecordRef, RecordRef) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

type ReviewTuple = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    f64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Stores newly trained parameters; they are in force from now on.
    pub async fn save_model(&self, entity: EntityKind, params: &str, records: u64) -> Result<i64> {
        let at = now();
        sqlx::query(
            "INSERT INTO model (entity, params, records, trained_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(entity.as_str())
        .bind(self.seal(
            column::MODEL,
            &row(&[entity.as_str(), &at]),
            params.to_owned(),
        )?)
        .bind(i64::try_from(records).unwrap_or(i64::MAX))
        .bind(&at)
        .execute(self.pool())
        .await?;
        let (id,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM model WHERE entity = $1")
            .bind(entity.as_str())
            .fetch_one(self.pool())
            .await?;
        Ok(id)
    }

    /// The parameters in force for a kind.
    pub async fn model(&self, entity: EntityKind) -> Result<Option<StoredModel>> {
        let found: Option<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT id, params, records, trained_at FROM model WHERE entity = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(entity.as_str())
        .fetch_optional(self.pool())
        .await?;
        found
            .map(|(id, params, records, trained_at)| {
                Ok(StoredModel {
                    id,
                    entity,
                    params: self.unseal(
                        column::MODEL,
                        &row(&[entity.as_str(), &trained_at]),
                        params,
                    )?,
                    records: u64::try_from(records).unwrap_or(0),
                    trained_at,
                })
            })
            .transpose()
    }

    pub async fn resolve_state(&self, entity: EntityKind) -> Result<Option<ResolveState>> {
        let row: Option<(Option<i64>, String, Option<i64>)> = sqlx::query_as(
            "SELECT model_id, resolved_at, resolved_seq FROM resolve_state WHERE entity = $1",
        )
        .bind(entity.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map(|(model_id, resolved_at, resolved_seq)| ResolveState {
                model_id,
                resolved_at,
                resolved_seq,
            }),
        )
    }

    /// Records that a resolution covered everything stored up to `state.resolved_seq`.
    pub async fn set_resolve_state(&self, entity: EntityKind, state: &ResolveState) -> Result<()> {
        sqlx::query(
            "INSERT INTO resolve_state (entity, model_id, resolved_at, resolved_seq) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (entity) DO UPDATE SET model_id = excluded.model_id, resolved_at = excluded.resolved_at, \
             resolved_seq = excluded.resolved_seq",
        )
        .bind(entity.as_str())
        .bind(state.model_id)
        .bind(&state.resolved_at)
        .bind(state.resolved_seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The time now, for [`ResolveState::resolved_at`].
    pub fn clock(&self) -> String {
        now()
    }

    /// The store's change counter now, for [`ResolveState::resolved_seq`]: take it before
    /// loading records. Every source record written with a value up to it is committed.
    pub async fn change_mark(&self) -> Result<i64> {
        let (v,): (i64,) = sqlx::query_as("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok(v)
    }

    /// Records of a kind stored (new, changed or deleted) after the change counter stood at
    /// `seq`: driven by the store's own counter, never by a clock.
    pub async fn changed_since(&self, entity: EntityKind, seq: i64) -> Result<Vec<RecordRef>> {
        Ok(sqlx::query_as(
            "SELECT source, record_key FROM source_record WHERE entity = $1 AND change_seq > $2 ORDER BY source, record_key",
        )
        .bind(entity.as_str())
        .bind(seq)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces the open review items of a kind (all of them, or those touching `scope`) with
    /// `items`. Decided items stay as they are, and so do pairs a department disputed
    /// ([`Store::file_dispute`]): the engine did not file them.
    pub async fn replace_review(
        &self,
        entity: EntityKind,
        items: &[NewReview],
        scope: Option<&std::collections::BTreeSet<RecordRef>>,
    ) -> Result<()> {
        let at = now();
        let mut tx = self.begin_write().await?;
        match scope {
            None => {
                sqlx::query("DELETE FROM review_queue WHERE entity = $1 AND status = 'open' AND reason <> 'disputed'")
                    .bind(entity.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(records) => {
                for (source, key) in records {
                    sqlx::query(
                        "DELETE FROM review_queue WHERE entity = $1 AND status = 'open' AND reason <> 'disputed' AND \
                         ((a_source = $2 AND a_key = $3) OR (b_source = $2 AND b_key = $3))",
                    )
                    .bind(entity.as_str())
                    .bind(source)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let rows: Vec<Vec<Arg>> = items
            .iter()
            .map(|i| {
                let (a, b) = ordered(&i.a, &i.b);
                let bound = row(&[&a.0, &a.1, &b.0, &b.1]);
                Ok(vec![
                    Arg::Text(entity.as_str().to_owned()),
                    Arg::Text(a.0),
                    Arg::Text(a.1),
                    Arg::Text(b.0),
                    Arg::Text(b.1),
                    Arg::Text(i.reason.clone()),
                    Arg::Real(i.probability),
                    Arg::Text(self.seal(column::REVIEW, &bound, i.explanation.clone())?),
                    Arg::Text("open".to_owned()),
                    Arg::Text(at.clone()),
                ])
            })
            .collect::<Result<_>>()?;
        bulk::insert(
            &mut tx,
            self.backend(),
            "INSERT INTO review_queue (entity, a_source, a_key, b_source, b_key, reason, probability, explanation, status, created_at)",
            "ON CONFLICT (entity, a_source, a_key, b_source, b_key) DO NOTHING",
            &rows,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Files a pair for review because a department disputes the value that beat its own
    /// (reason `disputed`); an open item on the pair is kept as it is.
    pub async fn file_dispute(&self, entity: EntityKind, item: &NewReview) -> Result<()> {
        let (a, b) = ordered(&item.a, &item.b);
        let explanation = self.seal(
            column::REVIEW,
            &row(&[&a.0, &a.1, &b.0, &b.1]),
            item.explanation.clone(),
        )?;
        sqlx::query(
            "INSERT INTO review_queue (entity, a_source, a_key, b_source, b_key, reason, probability, explanation, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'disputed', $6, $7, 'open', $8) \
             ON CONFLICT (entity, a_source, a_key, b_source, b_key) DO UPDATE SET reason = 'disputed', status = 'open'",
        )
        .bind(entity.as_str())
        .bind(&a.0)
        .bind(&a.1)
        .bind(&b.0)
        .bind(&b.1)
        .bind(item.probability)
        .bind(explanation)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Review items of a kind with a status (`open`, `match`, `distinct`; `None`: all).
    pub async fn review(&self, entity: EntityKind, status: Option<&str>) -> Result<Vec<ReviewRow>> {
        self.review_where(Some(entity), status, None).await
    }

    /// Review items of every kind (or one) with a status, most probable first.
    pub async fn review_all(
        &self,
        entity: Option<EntityKind>,
        status: Option<&str>,
    ) -> Result<Vec<ReviewRow>> {
        self.review_where(entity, status, None).await
    }

    /// Open review items per kind (counted, none read).
    pub async fn open_review_counts(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT entity, COUNT(*) FROM review_queue WHERE status = 'open' GROUP BY entity",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(e, n)| (e, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// One review item.
    pub async fn review_item(&self, id: i64) -> Result<Option<ReviewRow>> {
        Ok(self.review_where(None, None, Some(id)).await?.pop())
    }

    async fn review_where(
        &self,
        entity: Option<EntityKind>,
        status: Option<&str>,
        id: Option<i64>,
    ) -> Result<Vec<ReviewRow>> {
        let rows: Vec<ReviewTuple> = sqlx::query_as(
            "SELECT id, entity, a_source, a_key, b_source, b_key, reason, probability, explanation, status, created_at, decided_at, decided_by \
             FROM review_queue WHERE ($1 = '' OR entity = $1) AND ($2 = '' OR status = $2) AND ($3 = 0 OR id = $3) \
             ORDER BY probability DESC, id",
        )
        .bind(entity.map_or("", EntityKind::as_str))
        .bind(status.unwrap_or(""))
        .bind(id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let explanation =
                    self.unseal(column::REVIEW, &row(&[&r.2, &r.3, &r.4, &r.5]), r.8)?;
                Ok(ReviewRow {
                    id: r.0,
                    entity: r.1,
                    a: (r.2, r.3),
                    b: (r.4, r.5),
                    reason: r.6,
                    probability: r.7,
                    explanation,
                    status: r.9,
                    created_at: r.10,
                    decided_at: r.11,
                    decided_by: r.12,
                })
            })
            .collect()
    }

    /// Records a reviewer's decision (replacing an earlier one on the same pair) and closes the
    /// pair's review item.
    pub async fn decide(
        &self,
        entity: EntityKind,
        a: &RecordRef,
        b: &RecordRef,
        verdict: ReviewVerdict,
        decided_by: &str,
        reason: &str,
    ) -> Result<()> {
        let (a, b) = ordered(a, b);
        let at = now();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO match_decision (entity, a_source, a_key, b_source, b_key, verdict, decided_by, reason, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (entity, a_source, a_key, b_source, b_key) DO UPDATE SET verdict = excluded.verdict, \
             decided_by = excluded.decided_by, reason = excluded.reason, decided_at = excluded.decided_at",
        )
        .bind(entity.as_str())
        .bind(&a.0)
        .bind(&a.1)
        .bind(&b.0)
        .bind(&b.1)
        .bind(verdict.as_str())
        .bind(decided_by)
        .bind(reason)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE review_queue SET status = $1, decided_at = $2, decided_by = $3, note = $4 \
             WHERE entity = $5 AND a_source = $6 AND a_key = $7 AND b_source = $8 AND b_key = $9",
        )
        .bind(verdict.as_str())
        .bind(&at)
        .bind(decided_by)
        .bind(reason)
        .bind(entity.as_str())
        .bind(&a.0)
        .bind(&a.1)
        .bind(&b.0)
        .bind(&b.1)
        .execute(&mut *tx)
        .await?;
        // The next incremental resolution re-resolves both records, so the decision applies
        // then (not only once something else about them changes).
        crate::steward::touch(&mut tx, &[&a, &b]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// All decisions about a kind.
    pub async fn decisions(&self, entity: EntityKind) -> Result<Vec<StoredDecision>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            a_source: String,
            a_key: String,
            b_source: String,
            b_key: String,
            verdict: String,
            decided_by: String,
            reason: String,
            decided_at: String,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a_source, a_key, b_source, b_key, verdict, decided_by, reason, decided_at \
             FROM match_decision WHERE entity = $1 ORDER BY a_source, a_key, b_source, b_key",
        )
        .bind(entity.as_str())
        .fetch_all(self.pool())
        .await?;
        // A verdict the hub did not write is an error, never a decision dropped in silence.
        rows.into_iter()
            .map(|r| {
                let verdict = r.verdict.parse().map_err(|e| {
                    Error::Corrupt(format!(
                        "match_decision {}/{} ~ {}/{}: {e}",
                        r.a_source, r.a_key, r.b_source, r.b_key
                    ))
                })?;
                Ok(StoredDecision {
                    a: (r.a_source, r.a_key),
                    b: (r.b_source, r.b_key),
                    verdict,
                    decided_by: r.decided_by,
                    reason: r.reason,
                    decided_at: r.decided_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{r, stores};

    #[tokio::test]
    async fn models_state_review_and_decisions() {
        for (store, _dir) in stores().await {
            let e = EntityKind::Person;
            assert!(store.model(e).await.unwrap().is_none());
            store.save_model(e, "{\"v\":1}", 10).await.unwrap();
            let id = store.save_model(e, "{\"v\":2}", 12).await.unwrap();
            let m = store.model(e).await.unwrap().unwrap();
            assert_eq!((m.id, m.params.as_str(), m.records), (id, "{\"v\":2}", 12));

            let state = ResolveState {
                model_id: Some(id),
                resolved_at: store.clock(),
                resolved_seq: Some(store.change_mark().await.unwrap()),
            };
            store.set_resolve_state(e, &state).await.unwrap();
            assert_eq!(store.resolve_state(e).await.unwrap(), Some(state));

            let item = |a: &str, b: &str, p: f64| NewReview {
                a: r("s", a),
                b: r("s", b),
                reason: "uncertain".into(),
                probability: p,
                explanation: "{}".into(),
            };
            store
                .replace_review(e, &[item("2", "1", 0.7), item("3", "4", 0.6)], None)
                .await
                .unwrap();
            let open = store.review(e, Some("open")).await.unwrap();
            assert_eq!(open.len(), 2);
            assert_eq!(
                (open[0].a.clone(), open[0].b.clone()),
                (r("s", "1"), r("s", "2"))
            );
            store
                .decide(
                    e,
                    &r("s", "2"),
                    &r("s", "1"),
                    ReviewVerdict::Distinct,
                    "alice",
                    "twins",
                )
                .await
                .unwrap();
            assert_eq!(store.review(e, Some("open")).await.unwrap().len(), 1);
            assert_eq!(store.open_review_counts().await.unwrap()["person"], 1);
            assert_eq!(store.review(e, Some("distinct")).await.unwrap().len(), 1);
            // A re-run files the pairs again: the decided one keeps its status.
            let scope = std::collections::BTreeSet::from([r("s", "1"), r("s", "3")]);
            store
                .replace_review(
                    e,
                    &[item("1", "2", 0.71), item("3", "4", 0.65)],
                    Some(&scope),
                )
                .await
                .unwrap();
            let all = store.review(e, None).await.unwrap();
            assert_eq!(all.len(), 2);
            assert!(all.iter().any(|i| i.status == "distinct"));
            let d = store.decisions(e).await.unwrap();
            assert_eq!(d.len(), 1);
            assert_eq!(
                (d[0].verdict.as_str(), d[0].a.clone()),
                ("distinct", r("s", "1"))
            );
        }
    }
}
