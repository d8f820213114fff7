use tombolo_core::{Classify, ErrorClass};

/// Errors of the resolution stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("resolution config: {0}")]
    Config(String),
    /// Places, houses and incidents are placed by rule (`place`, `house`, `event`), not
    /// clustered by matching.
    #[error("{0} records are placed by rule, not matched")]
    NotMatched(tombolo_core::EntityKind),
    #[error("encoding an explanation: {0}")]
    Json(#[from] serde_json::Error),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
