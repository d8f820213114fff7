use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::EntityKind;

/// Where a golden field's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub field: String,
    pub source: String,
    pub record_key: String,
    /// When the source last changed the record (its own timestamp), or when the hub saw it.
    pub observed_at: Option<String>,
    /// The survivorship rule that chose this value (`trust:hukou`, `recency`, `only`).
    pub rule: String,
}

/// A source record that belongs to a golden record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    pub source: String,
    pub record_key: String,
}

/// The hub's best view of one real-world entity, as stored and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldenRecord {
    pub golden_id: String,
    pub entity: EntityKind,
    /// Increases by one each time the published content changes.
    pub version: i64,
    /// Unified field → chosen value; address parts flattened as `address.<part>`.
    pub values: BTreeMap<String, String>,
    pub provenance: Vec<Provenance>,
    pub members: Vec<SourceRef>,
    /// Golden ids that were merged into this one.
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// Set when this golden record was merged into another (or lost all its members): the id
    /// to follow instead, empty when there is none.
    #[serde(default)]
    pub retired_into: Option<String>,
    pub updated_at: String,
}

impl GoldenRecord {
    /// A first version holding `values` and nothing else (no members, provenance or history):
    /// what a test or an example starts from.
    pub fn of<'a>(
        golden_id: &str,
        entity: EntityKind,
        version: i64,
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        Self {
            golden_id: golden_id.to_owned(),
            entity,
            version,
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            provenance: Vec::new(),
            members: Vec::new(),
            merged_from: Vec::new(),
            retired_into: None,
            updated_at: String::new(),
        }
    }
}

/// A source record's place in a golden record, and the rule that put it there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Link {
    pub source: String,
    pub record_key: String,
    pub golden_id: String,
    pub rule: String,
    /// Why, as JSON: the pair that tied the record to its golden record, comparison by
    /// comparison (absent for singletons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// The outcome of resolving one entity kind: the full crosswalk and the active golden records.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub entity: EntityKind,
    pub links: Vec<Link>,
    /// Active golden records; `version` is assigned by the store.
    pub goldens: Vec<GoldenRecord>,
    /// Retired golden id → the id it was merged into.
    pub retired: BTreeMap<String, String>,
    /// `None`: the resolution covers every record of the kind. `Some`: only these records (and
    /// the golden records they had) were re-resolved; everything else stands.
    pub partial: Option<Partial>,
}

/// The part of the hub an incremental resolution covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partial {
    /// Records re-resolved, including records that are gone (`(source, record_key)`).
    pub records: std::collections::BTreeSet<(String, String)>,
    /// Golden ids those records had before.
    pub goldens: std::collections::BTreeSet<String>,
}
