use async_trait::async_trait;

use crate::{Batch, Classify, ErrorClass};

/// The cause of an error, kept typed so `{:#}` (and [`crate::chain`]) show the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Error of a connector that concerns the source as a whole (a record-level problem is a
/// [`crate::Malformed`] item instead). `message` says what was being done; `cause` is the
/// error underneath (a database's, the file system's, the HTTP client's), when there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Down or slow: worth retrying.
    #[error("transient: {message}")]
    Transient {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Will not change by retrying: the config or the source must change.
    #[error("fatal: {message}")]
    Fatal {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Transient, and the source said when to come back (an HTTP `Retry-After`).
    #[error("transient: {message} (retry after {retry_after_secs} s)")]
    Throttled {
        message: String,
        retry_after_secs: u64,
        #[source]
        cause: Option<Cause>,
    },
}

impl SourceError {
    /// A transient error with no cause beneath it.
    pub fn transient(message: impl Into<String>) -> Self {
        SourceError::Transient {
            message: message.into(),
            cause: None,
        }
    }

    /// A fatal error with no cause beneath it.
    pub fn fatal(message: impl Into<String>) -> Self {
        SourceError::Fatal {
            message: message.into(),
            cause: None,
        }
    }

    /// The same error with `cause` beneath it.
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        let slot = match &mut self {
            SourceError::Transient { cause, .. }
            | SourceError::Fatal { cause, .. }
            | SourceError::Throttled { cause, .. } => cause,
        };
        *slot = Some(cause.into());
        self
    }

    /// How long the source asked to be left alone, when it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SourceError::Throttled {
                retry_after_secs, ..
            } => Some(std::time::Duration::from_secs(*retry_after_secs)),
            _ => None,
        }
    }
}

impl Classify for SourceError {
    fn class(&self) -> ErrorClass {
        match self {
            SourceError::Transient { .. } | SourceError::Throttled { .. } => ErrorClass::Transient,
            SourceError::Fatal { .. } => ErrorClass::Fatal,
        }
    }
}

/// An error and every cause beneath it, `: `-separated, as `{:#}` of anyhow shows it: what
/// reports, logs and the stored status record, so no cause is lost on the way.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let text = e.to_string();
        // Some errors repeat their cause in their own message; say it once.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

pub type SourceResult<T> = std::result::Result<T, SourceError>;

/// A connector opened on a source from a checkpoint. It yields batches until the source has
/// nothing new; each batch carries the checkpoint to save once the batch is stored.
#[async_trait]
pub trait Source: Send {
    /// Next batch, or `None` when the source has nothing more for this run.
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>>;

    /// Total number of items this run expects to pull, when the source can tell (for progress bars).
    fn size_hint(&self) -> Option<u64> {
        None
    }

    /// What the connector read this run, in the source's own units (physical lines and the
    /// encoding of each file, sheet rows, pages, rows), so the run report can reconcile the
    /// records counted with the source itself and not only with themselves.
    fn input_report(&self) -> Option<serde_json::Value> {
        None
    }

    /// After a run that ended without error: every key the source holds now, when the
    /// connector was asked to list them (SQL `delete_scan`, file `snapshot`, HTTP
    /// `full_listing`) and could list them completely. Records the hub holds under any other
    /// key were deleted at the source. `None`: no listing this run (nothing is withdrawn).
    async fn listing(&mut self) -> SourceResult<Option<Vec<String>>> {
        Ok(None)
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn the_chain_shows_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = SourceError::fatal("reading /data/a.csv").caused_by(io);
        assert_eq!(e.to_string(), "fatal: reading /data/a.csv");
        assert_eq!(chain(&e), "fatal: reading /data/a.csv: no such file");
        assert_eq!(e.class(), ErrorClass::Fatal);
        let plain = SourceError::transient("key scan timed out");
        assert_eq!(chain(&plain), "transient: key scan timed out");
    }
}
