//! The audit side of the hub: department grants recorded (and versioned) as the configuration
//! changes, admin actions, and `tombolo audit`.

use tombolo_store::audit::{AuditFilter, AuditRow};

use crate::{Hub, Result};

/// Who is acting: `TOMBOLO_ACTOR`, else the login name, else `unknown`.
pub fn actor() -> String {
    ["TOMBOLO_ACTOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Hub {
    /// Records every department's grant as configured now: a changed grant gets the next
    /// version and one audit entry. Returns `(department, version in force)`.
    pub async fn record_grants(&self, actor: &str) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        for d in &self.config.departments {
            let json = serde_json::to_string(d)?;
            let version = self.store.record_grant(&d.name, &json, actor).await?;
            out.push((d.name.clone(), version));
        }
        Ok(out)
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        Ok(self.store.audit(filter).await?)
    }
}

/// Prints audit entries, one per line (or as JSON).
pub fn print(rows: &[AuditRow], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(rows)?);
        return Ok(());
    }
    for r in rows {
        println!(
            "#{} {} {:<8} {:<12} {:<14} {} {}",
            r.id,
            r.at,
            r.kind,
            r.department.as_deref().unwrap_or("-"),
            r.actor,
            r.action,
            r.detail
        );
    }
    if rows.is_empty() {
        println!("no audit entries match");
    }
    Ok(())
}
