use serde::{Deserialize, Serialize};

/// The kinds of base record in the unified schema. Exhaustive on purpose: adding a kind makes
/// the compiler list every `match` that must handle it (`CONTRIBUTING.md`, "Adding an entity
/// kind").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Person,
    Organization,
}

impl EntityKind {
    pub const ALL: [EntityKind; 2] = [EntityKind::Person, EntityKind::Organization];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Organization => "organization",
        }
    }

    /// Prefix of golden ids of this kind (`P-…`, `O-…`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            EntityKind::Person => "P",
            EntityKind::Organization => "O",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(EntityKind::Person),
            "organization" | "organisation" | "org" => Some(EntityKind::Organization),
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
