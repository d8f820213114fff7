//! Department grants, versioned, and the append-only audit trail: every delivery batch, every
//! grant change, every admin action. Rows are only ever inserted.

use serde::Serialize;

use crate::bulk::{self, Arg};
use crate::chain::insert_entry;
pub use crate::chain::ChainReport;
use crate::{now, sha256, Result, Store};

/// What kind of event an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A batch of records delivered to a department.
    Delivery,
    /// A department's grant created or changed.
    Grant,
    /// A state-changing admin command.
    Admin,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivery => "delivery",
            Self::Grant => "grant",
            Self::Admin => "admin",
        }
    }
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub department: Option<String>,
    pub action: String,
    /// JSON.
    pub detail: String,
}

/// A delivery batch: what a department received, where, under which grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub department: String,
    pub purpose: String,
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub grant_version: i64,
    /// `(field, treatment)` delivered.
    pub fields: Vec<(String, String)>,
    /// `(golden_id, version)` of each record delivered.
    #[serde(skip)]
    pub records: Vec<(String, i64)>,
}

/// Which entries [`Store::audit`] lists.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub department: Option<String>,
    /// Only deliveries that carried this golden record.
    pub golden_id: Option<String>,
    pub limit: i64,
}

impl Store {
    /// Records a department's grant (its configuration as JSON). When it differs from the
    /// version in force, stores the next version and an audit entry, in one transaction, and
    /// returns the new version; otherwise returns the version in force.
    pub async fn record_grant(&self, department: &str, grants: &str, actor: &str) -> Result<i64> {
        let hash = sha256(grants);
        let mut tx = self.begin_write().await?;
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT version, content_hash FROM grant_version WHERE department = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(department)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((version, h)) = &current {
            if *h == hash {
                return Ok(*version);
            }
        }
        let version = current.as_ref().map_or(1, |(v, _)| v + 1);
        let at = now();
        sqlx::query(
            "INSERT INTO grant_version (department, version, grants, content_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(department)
        .bind(version)
        .bind(grants)
        .bind(&hash)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "version": version,
            "previous_version": current.map(|(v, _)| v),
            "grants": serde_json::from_str::<serde_json::Value>(grants).unwrap_or(serde_json::Value::Null),
        });
        insert_entry(
            &mut tx,
            &at,
            AuditKind::Grant,
            actor,
            Some(department),
            if version == 1 {
                "grant created"
            } else {
                "grant changed"
            },
            &detail.to_string(),
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// The grant version in force for a department, with its configuration (JSON).
    pub async fn grant(&self, department: &str) -> Result<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT version, grants FROM grant_version WHERE department = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(department)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A department's grant (its configuration, JSON) as it was at `version`.
    pub async fn grant_at(&self, department: &str, version: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT grants FROM grant_version WHERE department = $1 AND version = $2",
        )
        .bind(department)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(g,)| g))
    }

    /// Appends an admin action (`action` names the command, `detail` is JSON).
    pub async fn audit_admin(&self, actor: &str, action: &str, detail: &str) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_entry(
            &mut tx,
            &now(),
            AuditKind::Admin,
            actor,
            None,
            action,
            detail,
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Appends a delivery batch with the golden records it carried.
    pub async fn audit_delivery(&self, d: &Delivery) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_delivery(&mut tx, self.backend(), d).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Audits delivered batches and marks the outbox entries they carried as sent, in one
    /// transaction (after the broker acknowledged them).
    pub async fn record_delivered(
        &self,
        deliveries: &[Delivery],
        outbox_ids: &[i64],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for d in deliveries {
            insert_delivery(&mut tx, self.backend(), d).await?;
        }
        crate::outbox::mark_published_in(&mut tx, self.backend(), outbox_ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Audit entries, newest first.
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let limit = if f.limit > 0 { f.limit } else { 100 };
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT a.id, a.at, a.kind, a.actor, a.department, a.action, a.detail FROM audit a \
             WHERE ($1 = '' OR a.kind = $1) AND ($2 = '' OR a.department = $2) \
             AND ($3 = '' OR a.id IN (SELECT audit_id FROM audit_record WHERE golden_id = $3)) \
             ORDER BY a.id DESC LIMIT $4",
        )
        .bind(f.kind.map_or("", AuditKind::as_str))
        .bind(f.department.as_deref().unwrap_or(""))
        .bind(f.golden_id.as_deref().unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }
}

async fn insert_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    d: &Delivery,
) -> Result<i64> {
    let detail = serde_json::to_string(&serde_json::json!({
        "purpose": d.purpose,
        "topic": d.topic,
        "partition": d.partition,
        "offsets": [d.first_offset, d.last_offset],
        "records": d.records.len(),
        "grant_version": d.grant_version,
        "fields": d.fields,
    }))?;
    let id = insert_entry(
        tx,
        &now(),
        AuditKind::Delivery,
        &d.department,
        Some(&d.department),
        "delivered",
        &detail,
        &d.records,
    )
    .await?;
    let rows: Vec<Vec<Arg>> = d
        .records
        .iter()
        .map(|(g, v)| vec![Arg::Int(id), Arg::Text(g.clone()), Arg::Int(*v)])
        .collect();
    bulk::insert(
        tx,
        backend,
        "INSERT INTO audit_record (audit_id, golden_id, version)",
        "",
        &rows,
    )
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::stores;

    #[tokio::test]
    async fn grants_are_versioned_once_per_change_and_audited() {
        for (store, _dir) in stores().await {
            let g1 = r#"{"purpose":"care","grants":{"person":{"phone":{"treatment":"mask"}}}}"#;
            assert_eq!(store.record_grant("health", g1, "ops").await.unwrap(), 1);
            assert_eq!(
                store.record_grant("health", g1, "ops").await.unwrap(),
                1,
                "the same grant is not a change"
            );
            let g2 =
                r#"{"purpose":"care","grants":{"person":{"phone":{"treatment":"pseudonym"}}}}"#;
            assert_eq!(store.record_grant("health", g2, "ops").await.unwrap(), 2);
            assert_eq!(
                store.grant("health").await.unwrap().unwrap(),
                (2, g2.to_owned())
            );
            assert_eq!(
                store.grant_at("health", 1).await.unwrap().as_deref(),
                Some(g1)
            );
            assert_eq!(store.grant_at("health", 3).await.unwrap(), None);
            let grants = store
                .audit(&AuditFilter {
                    kind: Some(AuditKind::Grant),
                    ..Default::default()
                })
                .await
                .unwrap();
            let actions: Vec<&str> = grants.iter().map(|r| r.action.as_str()).collect();
            assert_eq!(actions, ["grant changed", "grant created"]);
            assert!(grants[0].detail.contains("\"previous_version\":1"));
            assert_eq!(grants[0].department.as_deref(), Some("health"));
        }
    }

    #[tokio::test]
    async fn deliveries_answer_for_a_person_and_admin_actions_are_kept() {
        for (store, _dir) in stores().await {
            let d = Delivery {
                department: "health".into(),
                purpose: "care".into(),
                topic: "tombolo.person.v1.dept.health".into(),
                partition: 0,
                first_offset: 10,
                last_offset: 11,
                grant_version: 2,
                fields: vec![("phone".into(), "pseudonym".into())],
                records: vec![("P-1".into(), 3), ("P-2".into(), 1)],
            };
            store.audit_delivery(&d).await.unwrap();
            store
                .audit_delivery(&Delivery {
                    department: "civil".into(),
                    records: vec![("P-2".into(), 1)],
                    ..d.clone()
                })
                .await
                .unwrap();
            store
                .audit_admin("ops", "decide match", r#"{"a":["s","1"]}"#)
                .await
                .unwrap();
            let for_p1 = store
                .audit(&AuditFilter {
                    golden_id: Some("P-1".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(for_p1.len(), 1);
            assert_eq!(for_p1[0].department.as_deref(), Some("health"));
            assert!(for_p1[0].detail.contains("\"grant_version\":2"));
            assert!(for_p1[0].detail.contains("pseudonym"));
            let for_p2 = store
                .audit(&AuditFilter {
                    golden_id: Some("P-2".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(for_p2.len(), 2);
            let admin = store
                .audit(&AuditFilter {
                    kind: Some(AuditKind::Admin),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(admin.len(), 1);
            assert_eq!(admin[0].action, "decide match");
            let civil = store
                .audit(&AuditFilter {
                    department: Some("civil".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(civil.len(), 1);
        }
    }

    #[tokio::test]
    async fn m9_the_trail_refuses_edits_and_its_chain_finds_them() {
        use sqlx::Executor;
        for (store, _dir) in stores().await {
            for i in 0..3 {
                store
                    .audit_admin("ops", "run", &format!("{{\"i\":{i}}}"))
                    .await
                    .unwrap();
            }
            let ok = store.verify_audit().await.unwrap();
            assert_eq!((ok.entries, ok.head_n, ok.problem.clone()), (3, 3, None));
            let refused = store
                .pool()
                .execute("UPDATE audit SET actor = 'mallory' WHERE id = 2")
                .await
                .unwrap_err()
                .to_string();
            assert!(refused.contains("append-only"), "{refused}");
            assert!(store
                .pool()
                .execute("DELETE FROM audit WHERE id = 3")
                .await
                .is_err());
            // Someone who can drop the guard is still found out.
            let drop = match store.backend() {
                crate::Backend::Sqlite => "DROP TRIGGER audit_no_update",
                crate::Backend::Postgres => "DROP TRIGGER audit_append_only ON audit",
            };
            store.pool().execute(drop).await.unwrap();
            store
                .pool()
                .execute("UPDATE audit SET actor = 'mallory' WHERE id = 2")
                .await
                .unwrap();
            let broken = store.verify_audit().await.unwrap();
            assert_eq!(broken.broken_at, Some(2), "{broken:?}");
            assert!(broken.problem.unwrap().contains("altered"));
        }
    }

    #[tokio::test]
    async fn l9_a_delivery_is_audited_and_marked_sent_together_or_not_at_all() {
        use sqlx::Executor;
        for (store, _dir) in stores().await {
            store
                .pool()
                .execute("INSERT INTO outbox (entity, golden_id, version, event, payload, created_at) VALUES ('person', 'g1', 1, 'created', '{}', 'now')")
                .await
                .unwrap();
            let (id,): (i64,) = sqlx::query_as("SELECT id FROM outbox")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let d = Delivery {
                department: "health".into(),
                purpose: "care".into(),
                topic: "t".into(),
                partition: 0,
                first_offset: 1,
                last_offset: 1,
                grant_version: 1,
                fields: vec![],
                records: vec![("g1".into(), 1)],
            };
            // The audit insert fails: the outbox entry stays unsent (it is sent and audited again).
            let refuse = match store.backend() {
                crate::Backend::Sqlite => "CREATE TRIGGER refuse BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'refused'); END",
                crate::Backend::Postgres => "CREATE TRIGGER refuse BEFORE INSERT ON audit_record FOR EACH ROW EXECUTE FUNCTION tombolo_append_only()",
            };
            store.pool().execute(refuse).await.unwrap();
            assert!(store
                .record_delivered(std::slice::from_ref(&d), &[id])
                .await
                .is_err());
            assert_eq!(store.outbox_backlog().await.unwrap(), 1);
            let drop = match store.backend() {
                crate::Backend::Sqlite => "DROP TRIGGER refuse",
                crate::Backend::Postgres => "DROP TRIGGER refuse ON audit_record",
            };
            store.pool().execute(drop).await.unwrap();
            store.record_delivered(&[d], &[id]).await.unwrap();
            assert_eq!(store.outbox_backlog().await.unwrap(), 0);
            let entries = store
                .audit(&AuditFilter {
                    golden_id: Some("g1".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(entries.len(), 1);
        }
    }
}
