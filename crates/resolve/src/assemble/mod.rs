//! Golden records of the kinds placed by rule rather than matched: places (from the standard
//! address registry and every address the other records name), houses (one per registered
//! house, with its room and owner) and incidents (reports of one problem at one place, close in
//! time). The rules themselves are in [`crate::place`], [`crate::house`] and [`crate::event`];
//! this module applies them to the stored records and makes golden records, crosswalk links and
//! the links from records to golden records of other kinds ([`RecordLink`]).

mod events;
mod houses;
mod places;
mod relations;
#[cfg(test)]
mod tests;

pub use events::{incidents, EventRules, Incidents};
pub use houses::{houses, Houses};
pub use places::{address_of, place_all, Named, Places};
pub use relations::{relations, Asserted};
pub use tombolo_core::{LinkRole as Role, RecordLink};

/// What an assembly starts from besides the records: the kind's crosswalk before (for stable
/// ids, with the ids stewards' actions give back) and the decisions stewards' actions ask.
#[derive(Clone, Copy)]
pub struct Before<'a> {
    pub previous: &'a dyn crate::ids::Previous,
    pub decisions: &'a [crate::ManualDecision],
}

impl std::fmt::Debug for Before<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Before")
            .field("decisions", &self.decisions.len())
            .finish_non_exhaustive()
    }
}
