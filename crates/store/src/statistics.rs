//! The planner's statistics kept up with large loads.
//!
//! PostgreSQL plans from statistics its autovacuum daemon refreshes; a server may run with it
//! off, or lag behind a load (a first pull writes a million rows in minutes). A table without
//! statistics is planned blind: the pull's lookup of 2,000 keys is then thought to match every
//! row and scans the table, a little slower with every batch. So the hub keeps them itself,
//! after every batch of a pull and after each resolution: a table is analysed once its rows
//! changed since the last analysis exceed 50 plus its size (so a growing table's statistics are
//! never more than half of it behind, at about twenty analyses from empty to a million rows),
//! and vacuumed (dead rows made reusable) once its dead rows exceed 50 plus a fifth of it, as
//! autovacuum would. SQLite's planner needs no statistics for the store's indexed lookups and
//! reuses deleted space itself; there this does nothing.

use sqlx::Row;

use crate::{quote_ident, Backend, Result, Store};

/// Analyse or vacuum a table after this many changed (dead) rows…
const BASE_THRESHOLD: f64 = 50.0;
/// …plus this share of the table for an analysis…
const ANALYZE_SCALE: f64 = 1.0;
/// …or this share for a vacuum (autovacuum's default).
const VACUUM_SCALE: f64 = 0.2;

impl Store {
    /// Analyses (or vacuums and analyses) the store's tables that changed enough since their
    /// last analysis; returns their names. On SQLite, none.
    pub async fn refresh_statistics(&self) -> Result<Vec<String>> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT CAST(s.relname AS TEXT), CAST(s.n_mod_since_analyze AS BIGINT), CAST(s.n_dead_tup AS BIGINT), \
             CAST(c.reltuples AS DOUBLE PRECISION) \
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
             WHERE s.schemaname = current_schema() ORDER BY s.relname",
        )
        .fetch_all(self.pool())
        .await?;
        let mut analysed = Vec::new();
        for row in rows {
            let table: String = row.try_get(0)?;
            let changed: i64 = row.try_get(1)?;
            let dead: i64 = row.try_get(2)?;
            let tuples = row.try_get::<f64, _>(3)?.max(0.0);
            let vacuum = dead as f64 > BASE_THRESHOLD + VACUUM_SCALE * tuples;
            if !vacuum && changed as f64 <= BASE_THRESHOLD + ANALYZE_SCALE * tuples {
                continue;
            }
            // The name comes from the catalogue; quoted all the same.
            let quoted = quote_ident(&table);
            let sql = if vacuum {
                format!("VACUUM (ANALYZE) {quoted}")
            } else {
                format!("ANALYZE {quoted}")
            };
            sqlx::query(&sql).execute(self.pool()).await?;
            analysed.push(table);
        }
        if !analysed.is_empty() {
            tracing::debug!(tables = %analysed.join(", "), "planner statistics refreshed");
        }
        Ok(analysed)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores;
    use crate::Backend;

    #[tokio::test]
    async fn tables_changed_past_the_threshold_are_analysed_once() {
        for (store, _dir) in stores().await {
            let pg = store.backend() == Backend::Postgres;
            let values: Vec<String> = (0..400)
                .map(|i| format!("('s', 'k{i}', 'person', 'h', '{{}}', 'now', 'now')"))
                .collect();
            sqlx::query(&format!(
                "INSERT INTO source_record (source, record_key, entity, content_hash, data, first_seen_at, updated_at) VALUES {}",
                values.join(", ")
            ))
            .execute(store.pool())
            .await
            .expect("insert");
            // The statistics collector reports changes when a transaction ends; PostgreSQL's
            // view may lag a moment behind.
            let mut analysed = Vec::new();
            for _ in 0..50 {
                analysed = store.refresh_statistics().await.expect("refresh");
                if !pg || analysed.contains(&"source_record".to_owned()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if pg {
                assert!(
                    analysed.contains(&"source_record".to_owned()),
                    "{analysed:?}"
                );
                let (tuples,): (f64,) = sqlx::query_as(
                    "SELECT CAST(reltuples AS DOUBLE PRECISION) FROM pg_class WHERE relname = 'source_record'",
                )
                .fetch_one(store.pool())
                .await
                .expect("reltuples");
                assert_eq!(tuples, 400.0);
                let again = store.refresh_statistics().await.expect("refresh");
                assert!(!again.contains(&"source_record".to_owned()), "{again:?}");
            } else {
                assert!(analysed.is_empty());
            }
        }
    }

    #[tokio::test]
    async fn every_postgres_connection_plans_each_statement_with_its_values() {
        for (store, _dir) in stores().await {
            if store.backend() != Backend::Postgres {
                continue;
            }
            let (mode,): (String,) = sqlx::query_as("SHOW plan_cache_mode")
                .fetch_one(store.pool())
                .await
                .expect("show");
            assert_eq!(mode, "force_custom_plan");
        }
    }

    /// Issue 14: with statistics taken before a source arrived, an `IN` list of its keys was
    /// planned as a scan of all its rows filtered by key. The lookup probes the key instead.
    #[tokio::test]
    async fn the_key_lookup_probes_the_key_of_a_source_the_statistics_have_not_met() {
        for (store, _dir) in stores().await {
            if store.backend() != Backend::Postgres {
                continue;
            }
            let insert = |source: &str| {
                let values: Vec<String> = (0..3000)
                    .map(|i| format!("('{source}', 'k{i}', 'person', 'h', '{{}}', 'now', 'now')"))
                    .collect();
                format!(
                    "INSERT INTO source_record (source, record_key, entity, content_hash, data, first_seen_at, updated_at) VALUES {}",
                    values.join(", ")
                )
            };
            let mut conn = store.pool().acquire().await.expect("connection");
            for sql in [
                insert("known"),
                "ANALYZE source_record".to_owned(),
                insert("new"),
            ] {
                sqlx::query(&sql).execute(&mut *conn).await.expect("load");
            }
            let sql = crate::records::known_sql(Backend::Postgres, 3);
            sqlx::query(&format!("PREPARE lookup AS {sql}"))
                .execute(&mut *conn)
                .await
                .expect("prepare");
            let plan: Vec<(String,)> =
                sqlx::query_as("EXPLAIN EXECUTE lookup('new', 'k1', 'k2', 'k3')")
                    .fetch_all(&mut *conn)
                    .await
                    .expect("explain");
            let plan: Vec<String> = plan.into_iter().map(|(l,)| l).collect();
            assert!(
                plan.iter()
                    .any(|l| l.contains("Index Cond") && l.contains("record_key")),
                "{plan:#?}"
            );
            assert!(!plan.iter().any(|l| l.contains("Filter")), "{plan:#?}");
        }
    }
}
