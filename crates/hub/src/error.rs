use tombolo_core::{Classify, ErrorClass};

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("config {path}: {message}")]
    Config { path: String, message: String },
    #[error("no source named {0:?} in the config")]
    UnknownSource(String),
    #[error("source {source_name}")]
    Source {
        source_name: String,
        #[source]
        error: tombolo_core::SourceError,
    },
    #[error(transparent)]
    Normalize(#[from] tombolo_normalize::Error),
    #[error(transparent)]
    Resolve(#[from] tombolo_resolve::Error),
    #[error(transparent)]
    Store(#[from] tombolo_store::Error),
    #[error(transparent)]
    Publish(#[from] tombolo_publish::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// What a command names is not there (a record, a golden record, a department).
    #[error("{0}")]
    NotFound(String),
    /// A command that cannot run as asked (a missing config section, an unsafe state).
    #[error("{0}")]
    Refused(String),
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::Config { .. }
            | Error::UnknownSource(_)
            | Error::Json(_)
            | Error::NotFound(_)
            | Error::Refused(_)
            | Error::Io { .. } => ErrorClass::Fatal,
            Error::Source { error, .. } => error.class(),
            Error::Normalize(e) => e.class(),
            Error::Resolve(e) => e.class(),
            Error::Store(e) => e.class(),
            Error::Publish(e) => e.class(),
        }
    }
}

impl Error {
    /// How long the source asked to be left alone before a retry, when it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Source { error, .. } => error.retry_after(),
            _ => None,
        }
    }

    /// Another process holds the store's writer lock.
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::Store(tombolo_store::Error::Locked(_)))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
