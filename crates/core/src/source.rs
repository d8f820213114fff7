use async_trait::async_trait;

use crate::{Batch, Classify, ErrorClass};

/// Error of a connector that concerns the source as a whole (a record-level problem is a
/// [`crate::Malformed`] item instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("fatal: {0}")]
    Fatal(String),
    /// Transient, and the source said when to come back (an HTTP `Retry-After`).
    #[error("transient: {message} (retry after {retry_after_secs} s)")]
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
}

impl SourceError {
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
            SourceError::Transient(_) | SourceError::Throttled { .. } => ErrorClass::Transient,
            SourceError::Fatal(_) => ErrorClass::Fatal,
        }
    }
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
