//! The audit side of the hub: department grants recorded (and versioned) as the configuration
//! changes, admin actions, and `tombolo audit`.

use std::time::Duration;

pub use tombolo_store::audit::{AuditFilter, AuditKind, AuditRow, ChainReport};
use tombolo_store::lock::{Holder, WriterLock};

use crate::{Hub, Result};

/// Who is acting: `TOMBOLO_ACTOR`, else the login name, else `unknown`.
pub fn actor() -> String {
    ["TOMBOLO_ACTOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Hub {
    /// Records every department's grant as configured now, once per command (later calls
    /// return the versions recorded then): a changed grant gets the next version and one audit
    /// entry. Returns `(department, version in force)`.
    pub async fn record_grants(&self, actor: &str) -> Result<Vec<(String, i64)>> {
        self.grants
            .get_or_try_init(|| async {
                let mut out = Vec::new();
                for d in &self.config.departments {
                    let json = serde_json::to_string(d)?;
                    let version = self.store.record_grant(&d.name, &json, actor).await?;
                    out.push((d.name.clone(), version));
                }
                Ok(out)
            })
            .await
            .cloned()
    }

    /// The one entry point of every command that changes the store: takes the store's writer
    /// lock for `action` (waiting up to `[store] lock_wait_secs`), keys any content hash still
    /// unkeyed (audit L1), builds the identifier index when it is not under the current key,
    /// records the departments' grants as configured now when the action
    /// `publishes` (a read-only command with another config must not create a grant version),
    /// and records the action with its structured `detail` in the audit trail. The lock is held
    /// until the returned guard is released or dropped.
    pub async fn begin_admin(
        &self,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
        publishes: bool,
    ) -> Result<WriterLock> {
        let lock = self.lock_writer(action).await?;
        self.store.rehash_contents().await?;
        self.store.index_identifiers().await?;
        if publishes {
            self.record_grants(actor).await?;
        }
        self.store
            .audit_admin(actor, action, &detail.to_string())
            .await?;
        Ok(lock)
    }

    /// The store's writer lock for `command`, waiting up to `[store] lock_wait_secs`.
    pub async fn lock_writer(&self, command: &str) -> Result<WriterLock> {
        let holder = Holder {
            command: command.to_owned(),
        };
        let wait = Duration::from_secs(self.config.store.lock_wait_secs);
        Ok(self.store.lock_writer(&holder, wait).await?)
    }

    /// Walks the whole audit trail and checks its hash chain.
    pub async fn verify_audit(&self) -> Result<ChainReport> {
        Ok(self.store.verify_audit().await?)
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        Ok(self.store.audit(filter).await?)
    }
}
