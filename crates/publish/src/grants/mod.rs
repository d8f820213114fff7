//! What each department may receive: grants per department and entity kind, field by field,
//! with a treatment per field (`clear`, `mask`, `generalize`, `pseudonym`, `drop`), and the
//! department's view of a golden record under its grant.
//!
//! * [`config`]: the `[[departments]]` configuration and its checks against the field
//!   catalogue (a field with no grant is never delivered; a `sensitive` field is delivered in
//!   clear only with a recorded justification).
//! * [`treat`]: the treatments themselves (Chinese display masks, generalisation of dates and
//!   addresses, keyed HMAC-SHA-256 pseudonyms).
//! * [`schema`]: the Avro schema of a department's view, derived from the unified schema and
//!   the grant.
//! * [`view`]: a golden record as one department sees it, with the list of fields and
//!   treatments delivered (what the audit trail records).

pub mod config;
pub mod schema;
pub mod treat;
pub mod view;

pub use config::{DepartmentConfig, FieldGrant, Generalize, Treatment};
pub use treat::PseudonymKeys;
pub use view::{Delivered, DepartmentView};
