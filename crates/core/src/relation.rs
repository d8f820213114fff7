//! Relationships between golden records, as records of their own: who lives where, who owns
//! which house, who works for or represents which organisation, where an incident happened and
//! who reported it, where an organisation is. Each is keyed by its kind and its two golden ids,
//! carries the source record that asserts it, and is published on `<prefix>.relation.v1`
//! (`schemas/relation.avsc`).

use serde::{Deserialize, Serialize};

/// What a relationship says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// person → place
    LivesAt,
    /// person → house
    Owns,
    /// person → organisation (social security)
    WorksFor,
    /// person → organisation (market regulation)
    LegalRepresentativeOf,
    /// event → place
    HappenedAt,
    /// event → person
    ReportedBy,
    /// organisation → place
    LocatedAt,
}

impl RelationKind {
    pub const ALL: [RelationKind; 7] = [
        RelationKind::LivesAt,
        RelationKind::Owns,
        RelationKind::WorksFor,
        RelationKind::LegalRepresentativeOf,
        RelationKind::HappenedAt,
        RelationKind::ReportedBy,
        RelationKind::LocatedAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::LivesAt => "lives_at",
            RelationKind::Owns => "owns",
            RelationKind::WorksFor => "works_for",
            RelationKind::LegalRepresentativeOf => "legal_representative_of",
            RelationKind::HappenedAt => "happened_at",
            RelationKind::ReportedBy => "reported_by",
            RelationKind::LocatedAt => "located_at",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One relationship between two golden records, asserted by one source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub kind: RelationKind,
    /// The golden id it goes from (the person, the event, the organisation).
    pub from: String,
    /// The golden id it goes to (the place, the house, the organisation, the person).
    pub to: String,
    /// The source record that asserts it.
    pub source: String,
    pub record_key: String,
    /// The source's own time of the assertion, when it has one.
    pub observed_at: Option<String>,
}

impl Relation {
    /// The key it is published under: kind and both golden ids, so a relationship asserted by
    /// several records is one message, and compaction keeps its latest state.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.kind.as_str(), self.from, self.to)
    }

    /// The same relationship with `retired` (a golden id merged away) replaced by `survivor`
    /// at either end.
    pub fn moved(&self, retired: &str, survivor: &str) -> Relation {
        let swap = |id: &String| {
            if id == retired {
                survivor.to_owned()
            } else {
                id.clone()
            }
        };
        Relation {
            from: swap(&self.from),
            to: swap(&self.to),
            ..self.clone()
        }
    }
}

/// What a link from a record to a golden record of another kind says about the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRole {
    /// Where the record's address puts it (a person's home, an organisation's seat, a house's
    /// room, where an incident happened).
    Place,
    /// A house's owner.
    Owner,
    /// The resident who reported an incident, or whom a grid report concerns.
    Reporter,
}

impl LinkRole {
    pub const ALL: [LinkRole; 3] = [LinkRole::Place, LinkRole::Owner, LinkRole::Reporter];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkRole::Place => "place",
            LinkRole::Owner => "owner",
            LinkRole::Reporter => "reporter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LinkRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The kind of golden record a link of this role points to.
    pub fn target(self) -> crate::EntityKind {
        match self {
            LinkRole::Place => crate::EntityKind::Place,
            LinkRole::Owner | LinkRole::Reporter => crate::EntityKind::Person,
        }
    }
}

/// A source record's link to a golden record of another kind, or the reason it has none.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordLink {
    pub source: String,
    pub record_key: String,
    /// The kind of the record itself.
    pub entity: crate::EntityKind,
    pub role: LinkRole,
    /// `None`: the evidence did not suffice (`rule` says why).
    pub golden_id: Option<String>,
    /// Which rule made the link, or why there is none (`registry`, `settled by …`,
    /// `ambiguous: 2 places fit`, `phone`, `surname with 先生/女士 only`).
    pub rule: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_kind_and_both_ends_and_merges_move_them() {
        let r = Relation {
            kind: RelationKind::LivesAt,
            from: "P-1".into(),
            to: "L-9".into(),
            source: "hukou".into(),
            record_key: "RK1".into(),
            observed_at: None,
        };
        assert_eq!(r.key(), "lives_at:P-1:L-9");
        assert_eq!(r.moved("P-1", "P-7").key(), "lives_at:P-7:L-9");
        assert_eq!(r.moved("P-3", "P-7"), r);
        for k in RelationKind::ALL {
            assert_eq!(RelationKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }
}
