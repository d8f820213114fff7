use tombolo_core::{Classify, ErrorClass};

/// Errors of department privacy: a grant the field catalogue or the privacy floor refuses, a
/// missing or unusable pseudonym key, or a release a policy refuses. None goes away by
/// retrying: the configuration or the keys must change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems with a department's grant, all of them.
    #[error("grant: {}", .0.join("; "))]
    Grant(Vec<String>),
    /// A pseudonym key that is missing or unusable.
    #[error("pseudonym key: {0}")]
    Key(String),
    /// A stored grant that no longer parses.
    #[error("stored grant of {department} v{version}")]
    StoredGrant {
        department: String,
        version: i64,
        #[source]
        source: serde_json::Error,
    },
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
