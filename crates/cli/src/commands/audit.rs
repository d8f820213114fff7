//! `audit [verify]` and `tail`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use tombolo_hub::audit::{AuditFilter, AuditRow};
use tombolo_hub::Hub;

use super::print_json;

/// `audit`: entries matching the filter, newest first.
pub async fn list(hub: &Hub, filter: &AuditFilter, json: bool) -> Result<()> {
    let rows = hub.audit(filter).await?;
    if json {
        return print_json(&rows);
    }
    print_rows(&rows);
    Ok(())
}

fn print_rows(rows: &[AuditRow]) {
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
}

/// `audit verify`: an error (exit 1) when the chain is broken.
pub async fn verify(hub: &Hub, json: bool) -> Result<()> {
    let report = hub.verify_audit().await?;
    if json {
        print_json(&report)?;
    } else {
        println!(
            "{} entries; head {} {}",
            report.entries, report.head_n, report.head_hash
        );
    }
    if let Some(problem) = report.problem {
        anyhow::bail!("the audit trail is broken: {problem}");
    }
    Ok(())
}

/// `tail TOPIC`: decoded messages as JSON lines.
pub async fn tail(hub: &Hub, topic: &str, max: Option<u64>, idle: u64) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    hub.tail(topic, max, Duration::from_secs(idle), |v| {
        writeln!(stdout, "{v}")
    })
    .await?;
    Ok(())
}
