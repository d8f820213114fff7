//! The normalisation stage: from a [`tombolo_core::RawRecord`] to a [`NormalizedRecord`]
//! in the unified schema.
//!
//! * [`validate`] holds the validators (GB 11643 resident IDs, GB 32100 credit codes with their
//!   GB 11714 organisation codes, phones, dates) and the address parser.
//! * [`text`] holds the cleaning transforms (trim, NFKC, Traditional → Simplified).
//! * [`mapping`] is the declarative mapping language: which source column feeds which unified
//!   field through which transforms, and what happens to values that fail validation.
//!
//! The catalogue of unified fields (ids, validation kinds, classifications) is
//! [`tombolo_core::fields`], shared with every stage.

pub mod codes;
mod error;
pub mod mapping;
pub mod text;
pub mod validate;

pub use error::{Error, Result};
pub use mapping::{DeletedMarker, FieldMapping, Mapping, MappingConfig, OnInvalid, Transform};
pub use tombolo_core::{FieldIssue, NormalizedRecord};
