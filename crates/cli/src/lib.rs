//! The hub's top: configuration, the explicit registry of connectors, and the pipeline that
//! runs each source through normalisation into the store, resolves golden records and
//! publishes the outbox. The `tombolo` binary (`main.rs`) is a thin CLI over this library.

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
