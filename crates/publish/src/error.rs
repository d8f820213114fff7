use tombolo_core::{Classify, ErrorClass};

/// Errors of the publishing stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("avro: {0}")]
    Avro(String),
    /// Encoding or decoding failed in the Avro library.
    #[error("avro")]
    AvroLib(#[source] Box<apache_avro::Error>),
    #[error("schema {0}: {1}")]
    Schema(String, String),
    #[error("schema registry: {0}")]
    Registry(String),
    /// The registry did not answer (its URL redacted in the message).
    #[error("schema registry unreachable: {0}")]
    RegistryUnreachable(String),
    #[error("schema registry client")]
    RegistryClient(#[source] reqwest::Error),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("kafka delivery: {0}")]
    Delivery(String),
    #[error(transparent)]
    Store(#[from] tombolo_store::Error),
    #[error("config: {0}")]
    Config(String),
    /// A department grant that the field catalogue or the privacy floor refuses, or a missing
    /// or unusable pseudonym key.
    #[error(transparent)]
    Privacy(#[from] tombolo_privacy::Error),
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::RegistryUnreachable(_) | Error::Delivery(_) | Error::Kafka(_) => {
                ErrorClass::Transient
            }
            Error::Store(e) => e.class(),
            Error::Privacy(e) => e.class(),
            _ => ErrorClass::Fatal,
        }
    }
}

impl From<apache_avro::Error> for Error {
    fn from(e: apache_avro::Error) -> Self {
        Error::AvroLib(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
