use tombolo_core::{Classify, ErrorClass};

/// Errors of the normalisation stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The mapping configuration is wrong (unknown field, unknown code table…).
    #[error("mapping for entity {entity}: {message}")]
    Config { entity: String, message: String },
    /// The record cannot be used at all; it goes to quarantine with this reason.
    #[error("{0}")]
    Quarantine(String),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::Config { .. } => ErrorClass::Fatal,
            Error::Quarantine(_) => ErrorClass::BadRecord,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
