//! The admin services the front ends call, each returning a serialisable report (the CLI
//! renders it as text or `--json`; a service will answer with it).
//!
//! * [`status`]: sources, golden records, the outbox and the last publication.
//! * [`explain`]: why a record is linked to its golden record, field by field.
//! * [`find`]: golden records by resident ID, phone or name, through the keyed index.
//! * [`lineage`]: a golden record's sources now and before, each field's contest, its merges,
//!   splits and retirements, its deliveries.
//! * [`steward`]: merge, split and unmerge golden records by hand.
//! * [`blocking`]: the candidate pairs each blocking rule produces.
//! * [`check`]: what each source reads, with warnings about personal record keys.
//! * [`corrections`]: corrections closed by later pulls, disputed by departments.
//! * [`reconcile`]: a source now against the hub, and its values that lost (corrections).
//! * [`records`]: the crosswalk, golden records and quarantine, for exports and listings.
//! * [`review`]: the parameters in force, the review queue, reviewers' decisions.
//! * [`report`]: the islands report, HTML with inline SVG and the same figures as JSON.
//! * [`scorecard`]: quality per source and field, overlap between sources, backlogs; snapshots.
//! * [`keys`]: the store's keyring: a key file for a new store, usage, rotation.
//! * [`topics`]: schema texts and the departments' ACLs.

pub mod blocking;
pub mod check;
pub mod corrections;
pub mod explain;
pub mod find;
pub mod keys;
pub mod lineage;
pub mod reconcile;
pub mod records;
pub mod report;
pub mod review;
pub mod scorecard;
pub mod status;
pub mod steward;
pub mod topics;
