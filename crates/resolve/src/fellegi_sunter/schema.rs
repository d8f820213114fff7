//! What the probabilistic engine needs to know about one kind of record: its comparisons, its
//! blocking keys, its hard identifier and which comparisons each training session must leave
//! alone. [`crate::person::PersonSchema`] is the built-in one; benchmarks define others.

use crate::compare::Comparison;

/// The most comparisons a schema may have.
pub const MAX_COMPARISONS: usize = 8;
/// The level of a comparison where either side lacks the value (neutral evidence).
pub const MISSING: u8 = u8::MAX;

/// The comparison vector of a pair: one level per comparison, [`MISSING`] where unknown.
pub type Gamma = [u8; MAX_COMPARISONS];

/// An expectation-maximisation session: the pairs that share a key of `rule`, with the
/// comparisons that rule forces to agree left out (their m cannot be learned from such pairs).
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub rule: &'static str,
    pub fixes: &'static [&'static str],
}

/// A record kind the engine can resolve.
pub trait Schema: Sync {
    /// The prepared form of a record (cleaned, precomputed keys).
    type Rec: Sync + Send;

    fn comparisons(&self) -> &[Comparison];
    /// The comparison vector of two records.
    fn gamma(&self, a: &Self::Rec, b: &Self::Rec) -> Gamma;
    /// Blocking keys `(rule, value)`.
    fn keys(&self, r: &Self::Rec) -> Vec<(&'static str, String)>;
    /// Training sessions, in order.
    fn sessions(&self) -> &[Session];
    /// A blocking rule whose keys are an identifier, so that the share of pairs agreeing on it
    /// estimates the prior probability that two random records match.
    fn anchor(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// Two records with different hard identifiers are never linked automatically.
    fn hard_id<'a>(&self, r: &'a Self::Rec) -> Option<&'a str>;
    /// The comparison whose exact level gets a term-frequency adjustment, and the value used.
    fn tf_field(&self) -> Option<&'static str> {
        None
    }
    fn tf_value<'a>(&self, _r: &'a Self::Rec) -> Option<&'a str> {
        None
    }
    /// The value of a comparison's field in a record, for explanations.
    fn show(&self, r: &Self::Rec, comparison: usize) -> Option<String>;
}

/// The index of a comparison by field name.
pub fn position(comparisons: &[Comparison], field: &str) -> Option<usize> {
    comparisons.iter().position(|c| c.field == field)
}
