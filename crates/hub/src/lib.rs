//! The hub as a library: configuration, the explicit registry of connectors, secrets, and the
//! pipeline that runs each source through normalisation into the store, resolves golden
//! records and publishes the outbox, with the admin services beside it. The `tombolo` binary
//! (`crates/cli`) is a thin front end over it; a service is the next.

pub mod admin;
pub mod audit;
pub mod catalog;
pub mod config;
mod error;
pub mod export;
pub mod pipeline;
pub mod registry;
pub mod secrets;

pub use config::Config;
pub use error::{Error, Result};
pub use pipeline::Hub;
pub use tombolo_core::{chain as error_chain, EntityKind, LinkRole, RecordLink};
