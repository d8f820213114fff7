//! The probabilistic (Fellegi–Sunter) engine, independent of any one record kind: a
//! [`schema::Schema`] says how records compare and block; [`train`] learns the parameters
//! without labels; [`engine`] scores candidate pairs and clusters them under hard constraints,
//! in full or incrementally.

pub mod engine;
pub mod index;
pub mod model;
pub mod schema;
pub mod train;

pub use engine::{Decision, Engine, Outcome, ReviewReason, Scored, Thresholds, Verdict};
pub use index::Index;
pub use model::{Explanation, Model, Term};
pub use schema::{Gamma, Schema, Session, MISSING};
pub use train::{train, TrainingConfig};
