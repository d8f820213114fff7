//! The resolution stage: which source records describe the same real-world entity, which golden
//! id that entity keeps, and which value of each field survives.
//!
//! * [`fellegi_sunter`]: the probabilistic engine (Fellegi–Sunter with parameters learned without labels,
//!   term-frequency adjusted names, hard constraints, manual decisions, incremental clustering).
//! * [`person`]: how people compare and block, for that engine.
//! * [`linking`]: deterministic rules for organisations (credit code, organisation code, old tax
//!   number; normalised name with legal representative).
//! * [`overrides`]: reviewers' and stewards' decisions applied to clusters made by rule.
//! * [`ids`]: stable golden ids across re-resolution (merges keep an id and retire the other,
//!   splits leave the id with the larger part).
//! * [`event`]: reports of one incident grouped (category, place at the coarser level, time
//!   window).
//! * [`house`]: a house's owner, by resident ID, else by name with the house's place as
//!   evidence; never across two different valid IDs.
//! * [`place`]: places (door, building, room) keyed by their address, and the registry index
//!   that places partial addresses without guessing.
//! * [`reporter`]: who reported an incident, only on sufficient evidence (ID, phone, full name
//!   with place; never a surname with 先生/女士 alone).
//! * [`assemble`]: golden places, houses and incidents and the links from records to golden
//!   records of other kinds, by the rules of `place`, `house`, `event` and `reporter`.
//! * [`survivorship`]: per-field choice of value with provenance.
//! * [`compare`] and [`blocking`]: graded field comparisons and blocking diagnostics.

pub mod assemble;
pub mod blocking;
pub mod compare;
mod config;
mod error;
pub mod event;
pub mod fellegi_sunter;
pub mod house;
pub mod ids;
mod input;
pub mod linking;
pub mod overrides;
pub mod person;
pub mod place;
pub mod reporter;
mod resolution;
pub mod survivorship;
mod unionfind;

pub use config::{ResolveConfig, SurvivorshipConfig};
pub use error::{Error, Result};
pub use input::{Input, Record};
pub use resolution::{
    explain_people, resolve, LinkEvidence, ManualDecision, RecordRef, Request, Resolved,
    ReviewItem, Timings,
};
