//! Department privacy: what each department may receive and how it receives it.
//!
//! * [`grant`]: the `[[departments]]` configuration, grants per entity kind and field, and
//!   their checks against the field catalogue (a field with no grant is never delivered; a
//!   `sensitive` field is delivered in clear only with a recorded justification).
//! * [`treat`]: the treatments (Chinese display masks, generalisation of dates and addresses,
//!   keyed HMAC-SHA-256 pseudonyms) and the pseudonym keys.
//! * [`view`]: a golden record as one department sees it, with the fields and treatments
//!   delivered (what the audit trail records per delivery).
//! * [`policy`]: policies that look at a whole release rather than one record (k-anonymity).
//!
//! Nothing here knows Avro or Kafka: `tombolo-publish` derives a department's schema from its
//! grant and frames and delivers the views.

mod error;
pub mod grant;
pub mod policy;
pub mod treat;
pub mod view;

pub use error::{Error, Result};
pub use grant::{DepartmentConfig, FieldGrant, Generalize, Treatment};
pub use treat::PseudonymKeys;
pub use view::{Delivered, DepartmentView};
