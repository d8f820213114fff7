//! A scratch hub for the regression tests: a directory with input files and a config, a store
//! (SQLite, or a fresh PostgreSQL database), and small helpers to read what the store holds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A scratch hub: a directory with input files and a config, and a store.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub store: String,
    pub env: BTreeMap<String, String>,
}

impl Scratch {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("hub.db").display());
        Self {
            dir,
            store,
            env: BTreeMap::new(),
        }
    }

    pub fn postgres(tag: &str) -> Self {
        Self {
            store: fresh_postgres(tag),
            ..Self::sqlite()
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Writes `tombolo.toml`.
    pub fn config(&self, text: &str) -> PathBuf {
        self.write("tombolo.toml", text)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        tombolo(&self.path("tombolo.toml"), &self.store, &self.env, args)
    }

    /// `cmd` under a 3 GiB address-space limit and a 120 s timeout.
    pub fn bounded(&self, args: &[&str]) -> Output {
        let mut c = Command::new("timeout");
        c.arg("120")
            .arg("prlimit")
            .arg("--as=3221225472")
            .arg(env!("CARGO_BIN_EXE_tombolo"))
            .arg("--config")
            .arg(self.path("tombolo.toml"))
            .arg("--store")
            .arg(&self.store)
            .args(args)
            .envs(&self.env);
        c.output().unwrap()
    }

    pub fn status(&self) -> Value {
        json(self.cmd(&["--json", "status"]))
    }

    pub fn source_status(&self, name: &str) -> Value {
        by_source(&self.status(), name).clone()
    }

    pub fn quarantine(&self, source: &str) -> Vec<Value> {
        json(self.cmd(&["--json", "quarantine", "list", "--source", source]))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Golden person records as JSON lines.
    pub fn goldens(&self) -> Vec<Value> {
        ok(self.cmd(&["export", "golden", "--entity", "person"]))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The person-CSV source block of the audit's reproductions (`name`, `phone`, `birth`).
pub fn person_csv(name: &str, file: &str) -> String {
    csv_source(
        name,
        file,
        "id",
        "person",
        "[sources.mapping.fields]\nname = { from = \"name\", required = true }\nphone = { from = \"phone\" }\nbirth_date = { from = \"birth\" }",
    )
    .replace("encoding = \"utf-8\"\n", "")
}

/// `n` people rows (`id,name,phone,birth`) with keys `{prefix}{i}`.
pub fn rows(prefix: &str, n: usize) -> String {
    let mut s = String::from("id,name,phone,birth\n");
    for i in 0..n {
        s.push_str(&format!(
            "{prefix}{i},张{prefix}{i},139{:08},19{:02}-01-01\n",
            i * 7919 % 100_000_000,
            40 + i % 60
        ));
    }
    s
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs one statement on the store; the database's error as text.
pub async fn exec(store: &str, sql: &str) -> Result<(), String> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(store).await.unwrap();
    let r = pool
        .execute(sql)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    pool.close().await;
    r
}

/// One number from the store; `None` while it cannot answer (not created yet).
pub async fn scalar(store: &str, sql: &str) -> Option<i64> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(store).await.ok()?;
    let n: Option<(i64,)> = sqlx::query_as(sql).fetch_one(&pool).await.ok();
    pool.close().await;
    n.map(|(n,)| n)
}

/// One number from the store, which must answer.
pub async fn count(store: &str, sql: &str) -> i64 {
    scalar(store, sql).await.unwrap_or_else(|| panic!("{sql}"))
}

impl Scratch {
    /// The command's output, waited for off the test's runtime, so servers the test runs on
    /// that runtime keep answering.
    pub async fn output(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// Starts the command and returns once the store holds more than `rows` source records
    /// (the command holds the writer lock by then). The caller waits for the child.
    #[allow(clippy::zombie_processes)]
    pub async fn started(&self, args: &[&str], rows: i64) -> Child {
        let child = self
            .cmd(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            let stored = scalar(&self.store, "SELECT COUNT(*) FROM source_record");
            if let Ok(Some(n)) = tokio::time::timeout(Duration::from_secs(5), stored).await {
                if n > rows {
                    return child;
                }
            }
            if start.elapsed() > Duration::from_secs(60) {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{}` never stored {rows} records", args.join(" "));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
