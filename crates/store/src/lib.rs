//! The hub's store: one schema on SQLite (the embedded default) or PostgreSQL (production),
//! chosen by URL, through sqlx's `Any` driver so the same queries and migrations run on both.
//!
//! * [`records`]: source records, written batch by batch with their checkpoint.
//! * [`apply`]: a resolution written in one transaction, chunk by chunk.
//! * [`golden`]: golden records and the crosswalk as the last resolution left them.
//! * [`outbox`]: what the publisher must send, in order.
//! * [`resolution`]: trained parameters, resolution state, review queue, decisions.
//! * [`status`]: counters, quarantine listing.
//! * [`audit`]: department grant versions and the append-only audit trail.
//! * [`rekey`]: key rotation (every sealed value rewritten under the current key), key usage.
//! * [`lookup`]: the keyed hash of content hashes (and, later, identifier lookups).
//! * [`seal`]: encryption at rest of the personal-data columns (AES-256-GCM, key ids, rotation).
//! * [`feeds`]: where each department's feed stands (grant version, backfill cursor).
//! * [`lock`]: one writer per store (an advisory lock on PostgreSQL, a lock file on SQLite).
//! * [`links`], [`relations`]: records' links to golden records of other kinds, relationships.
//! * [`assembly`]: what the last assembly of places, houses and incidents covered.

pub mod apply;
pub mod assembly;
pub mod audit;
mod bulk;
mod chain;
pub mod corrections;
mod error;
pub mod feeds;
pub mod golden;
pub mod identifiers;
pub mod links;
pub mod lock;
pub mod lookup;
mod migrate;
pub mod outbox;
pub mod records;
pub mod rehash;
pub mod rekey;
pub mod relations;
pub mod resolution;
pub mod scorecards;
pub mod seal;
pub mod statistics;
pub mod status;
pub mod steward;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

pub use error::{Error, Result};
pub use seal::Keyring;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the hub's store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Seals the personal-data columns when set ([`seal`]).
    keyring: Option<Arc<Keyring>>,
    /// The database file of a SQLite store (`None` in memory or on PostgreSQL).
    sqlite_path: Option<std::path::PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    /// `sqlite:PATH` (or `sqlite://PATH`) for a file, `postgres://…` for PostgreSQL.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let sqlite_path = url
            .strip_prefix("sqlite:")
            .map(|p| p.trim_start_matches("//"))
            .and_then(|p| p.split('?').next())
            .filter(|p| !p.is_empty() && *p != ":memory:")
            .map(std::path::PathBuf::from);
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(Error::Url(tombolo_core::redact::url(url)));
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            options = options.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    // FULL: a commit is on disk before it returns, so an audit entry of a
                    // delivery the broker already acknowledged survives a power cut.
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    // Every execution planned with its values and the table's current size.
                    // A prepared statement otherwise switches to a generic plan after five
                    // runs and keeps it: one made while a table was empty scans it in full
                    // for every batch after (issue 14: 1.9 s a batch at 160,000 records).
                    conn.execute("SET plan_cache_mode = force_custom_plan")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        let store = Self {
            pool,
            backend,
            keyring: None,
            sqlite_path,
        };
        migrate::run(&store).await?;
        store.restrict_files();
        Ok(store)
    }

    /// A SQLite store's files readable by their owner only: they hold the hub's records.
    fn restrict_files(&self) {
        #[cfg(unix)]
        if let Some(db) = &self.sqlite_path {
            use std::os::unix::fs::PermissionsExt;
            for suffix in ["", "-wal", "-shm"] {
                let mut name = db.as_os_str().to_owned();
                name.push(suffix);
                let path = std::path::PathBuf::from(name);
                if let Ok(meta) = std::fs::metadata(&path) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        let _ =
                            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                    }
                }
            }
        }
    }

    /// The database file of a SQLite store.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// A write transaction. On SQLite it begins `IMMEDIATE`, taking the database's write lock
    /// at once: a deferred transaction that reads first fails with `SQLITE_BUSY_SNAPSHOT` when
    /// another connection wrote meanwhile, which no busy timeout can wait out.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Seals the personal-data columns with `keyring` from now on (and opens sealed ones).
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(Arc::new(keyring));
        self
    }

    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_deref()
    }

    /// The key of the store's keyed hashes, when it has a keyring.
    pub fn lookup_key(&self) -> Option<&lookup::LookupKey> {
        self.keyring.as_deref().map(Keyring::lookup)
    }

    /// `plain` as it is stored in `column` of the row `row` (`seal::row`): sealed when the
    /// store has a keyring.
    pub(crate) fn seal(&self, column: &str, row: &str, plain: String) -> Result<String> {
        seal(self.keyring.as_deref(), column, row, plain)
    }

    /// A stored value of `column` of the row `row` in plaintext.
    pub(crate) fn unseal(&self, column: &str, row: &str, stored: String) -> Result<String> {
        unseal(self.keyring.as_deref(), column, row, stored)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `plain` as it is stored in `column` of `row`: sealed when there is a keyring.
pub(crate) fn seal(
    keyring: Option<&Keyring>,
    column: &str,
    row: &str,
    plain: String,
) -> Result<String> {
    match keyring {
        Some(k) => k.seal(column, row, &plain),
        None => Ok(plain),
    }
}

/// A stored value in plaintext: opened with `keyring` when sealed, as it is otherwise.
pub(crate) fn unseal(
    keyring: Option<&Keyring>,
    column: &str,
    row: &str,
    stored: String,
) -> Result<String> {
    if seal::key_id(&stored).is_none() {
        if keyring.is_some_and(Keyring::requires_sealed) {
            return Err(seal::refused(column));
        }
        return Ok(stored);
    }
    match keyring {
        Some(k) => k.open(column, row, &stored),
        None => Err(Error::Key(format!(
            "{column} is encrypted: configure the store's keyring ([store.encryption])"
        ))),
    }
}

/// A table or column name as a PostgreSQL identifier, quoted (names from the catalogue).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Current time as RFC 3339 text with microseconds, UTC.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Hex SHA-256 of a text.
pub(crate) fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Store;

    /// A record by source and key.
    pub fn r(s: &str, k: &str) -> crate::resolution::RecordRef {
        (s.to_owned(), k.to_owned())
    }

    /// A fresh store in a temporary directory and, with the `integration` feature (which
    /// `deploy/test.sh` turns on), a fresh PostgreSQL one on `TOMBOLO_TEST_POSTGRES`, so each
    /// test runs on both. Without it the PostgreSQL half is skipped, and `postgres_half` below
    /// is listed as ignored saying so.
    pub async fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let mut out = vec![(Store::open(&url).await.expect("sqlite store"), Some(dir))];
        if cfg!(feature = "integration") {
            let base = std::env::var("TOMBOLO_TEST_POSTGRES").expect(
                "the integration feature needs TOMBOLO_TEST_POSTGRES (a server where the tests \
                 may create databases)",
            );
            out.push((fresh_postgres(&base).await, None));
        }
        out
    }

    /// Stands for the PostgreSQL half of the store's tests when no server is promised.
    #[cfg(not(feature = "integration"))]
    #[test]
    #[ignore = "the store's tests run on SQLite only: their PostgreSQL half needs the integration feature and TOMBOLO_TEST_POSTGRES (deploy/test.sh)"]
    fn postgres_half() {
        unreachable!("ignored: compiled only without the integration feature");
    }

    async fn fresh_postgres(base: &str) -> Store {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(base)
            .await
            .expect("postgres reachable");
        let name = format!("tombolo_unit_{}_{}", std::process::id(), rand_suffix());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create db");
        admin.close().await;
        let url = match base.rfind('/') {
            Some(i) if base[..i].contains("//") && i > base.find("//").unwrap_or(0) + 1 => {
                format!("{}/{name}", &base[..i])
            }
            _ => format!("{base}/{name}"),
        };
        Store::open(&url).await.expect("postgres store")
    }

    fn rand_suffix() -> u64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        (n % 1_000_000_000) as u64
    }
}
