use serde::{Deserialize, Serialize};

/// The kinds of base record in the unified schema. Exhaustive on purpose: adding a kind makes
/// the compiler list every `match` that must handle it (`CONTRIBUTING.md`, "Adding an entity
/// kind").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Person,
    Organization,
    /// A door (门牌), building or room, from the standard address registry or created where a
    /// record names one the registry does not hold.
    Place,
    /// A house (房屋) from the housing registry: a thing with an owner and a room.
    House,
    /// An incident: the reports (hotline tickets, grid reports) of one problem at one place.
    Event,
}

impl EntityKind {
    pub const ALL: [EntityKind; 5] = [
        EntityKind::Person,
        EntityKind::Organization,
        EntityKind::Place,
        EntityKind::House,
        EntityKind::Event,
    ];

    /// Whether records of this kind are clustered by matching (people, organisations) rather
    /// than placed by rule (places, houses and incidents, `tombolo_resolve::place` and its
    /// siblings).
    pub fn is_matched(self) -> bool {
        matches!(self, EntityKind::Person | EntityKind::Organization)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Organization => "organization",
            EntityKind::Place => "place",
            EntityKind::House => "house",
            EntityKind::Event => "event",
        }
    }

    /// Prefix of golden ids of this kind (`P-…`, `O-…`, `L-…`, `H-…`, `E-…`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            EntityKind::Person => "P",
            EntityKind::Organization => "O",
            EntityKind::Place => "L",
            EntityKind::House => "H",
            EntityKind::Event => "E",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(EntityKind::Person),
            "organization" | "organisation" | "org" => Some(EntityKind::Organization),
            "place" => Some(EntityKind::Place),
            "house" => Some(EntityKind::House),
            "event" | "incident" => Some(EntityKind::Event),
            _ => None,
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classification of a unified field, carried as the `classification` attribute in `schemas/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Public,
    Internal,
    Personal,
    /// Resident ID numbers, health data, whereabouts.
    Sensitive,
}

impl Classification {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Self::Public),
            "internal" => Some(Self::Internal),
            "personal" => Some(Self::Personal),
            "sensitive" => Some(Self::Sensitive),
            _ => None,
        }
    }
}
