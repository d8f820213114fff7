use tombolo_core::{Classify, ErrorClass};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("store URL {0:?} is neither sqlite:… nor postgres://…")]
    Url(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("migration {version} ({name})")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    /// A background task of the store (decoding rows) failed.
    #[error("store task")]
    Task(#[source] tokio::task::JoinError),
    /// The keyring is missing, malformed, or lacks the key a value was sealed under.
    #[error("store encryption: {0}")]
    Key(String),
    /// Another process holds the store's writer lock.
    #[error(
        "the store is being written by {0}; run again when it has finished (or wait for it with \
         [store] lock_wait_secs)"
    )]
    Locked(String),
    /// The writer lock could not be taken (not that another process holds it).
    #[error("store writer lock: {0}")]
    Lock(String),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::Database(e) if is_transient(e) => ErrorClass::Transient,
            Error::Locked(_) => ErrorClass::Transient,
            _ => ErrorClass::Fatal,
        }
    }
}

fn is_transient(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    ) || e.to_string().contains("database is locked")
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
