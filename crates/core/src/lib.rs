//! Shared vocabulary of the Tombolo hub.
//!
//! Everything that crosses a stage boundary is defined here: the raw record a connector
//! pulls ([`RawRecord`]), the record in the unified schema ([`NormalizedRecord`]), the batches it hands over with their checkpoint ([`Batch`]),
//! the [`Source`] trait that each connector under `connectors/` implements, the entity
//! kinds, the field catalogue ([`fields`], field ids as [`fields::id`] constants) and the
//! address parts ([`AddressPart`]) of the unified schema, and the error classes every
//! crate's error type maps onto ([`ErrorClass`]).

pub mod address;
mod class;
mod entity;
pub mod fields;
mod golden;
mod normalized;
mod record;
pub mod redact;
mod relation;
mod source;
mod verdict;

pub use address::AddressPart;
pub use class::{Classify, ErrorClass};
pub use entity::{Classification, EntityKind};
pub use golden::{GoldenRecord, Link, Partial, Provenance, Resolution, SourceRef};
pub use normalized::{FieldIssue, NormalizedRecord};
pub use record::{Batch, Malformed, Pulled, RawRecord};
pub use relation::{LinkRole, RecordLink, Relation, RelationKind};
pub use source::{chain, Cause, Source, SourceError, SourceResult};
pub use verdict::ReviewVerdict;
