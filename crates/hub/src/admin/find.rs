//! `find --resident-id ID | --phone P | --name N [--birth-date D]`: the golden records whose
//! records hold an identifier, each with its sources. Resident IDs, phones and names are sealed
//! at rest, so the lookup goes through the store's keyed identifier index
//! ([`tombolo_store::identifiers`]): the value asked for is normalised as the normaliser
//! writes it (a 15-digit ID as its 18-digit form, full-width digits, Traditional characters),
//! hashed under the lookup key and found by that hash; only the records the index names are
//! read (to check they still hold the value).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use tombolo_core::fields::id;
use tombolo_core::{EntityKind, SourceRef};
use tombolo_normalize::{text, validate};
use tombolo_store::identifiers::Identifier;

use crate::{Error, Hub, Result};

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    ResidentId(String),
    Phone(String),
    /// A name, and the birth date the golden person must have when given.
    Name {
        name: String,
        birth_date: Option<String>,
    },
}

/// One golden record found.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub golden_id: String,
    pub entity: EntityKind,
    /// Its records that hold the identifier.
    pub matched: Vec<SourceRef>,
    /// All its records: where it comes from.
    pub members: Vec<SourceRef>,
}

/// What `find` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    pub by: Identifier,
    pub found: Vec<Found>,
    /// Records holding the identifier that no golden record holds yet (stored, not resolved).
    pub unresolved: Vec<SourceRef>,
    /// Whether the whole store is indexed under the current key (a store from before the
    /// index is indexed by the next writing command; until then lookups may miss records).
    pub complete: bool,
    /// How long the lookup took, index and golden records, in milliseconds.
    pub lookup_ms: f64,
}

/// The values stored records hold for what is asked, as the normaliser writes them.
fn normalised(q: &Query) -> Result<(Identifier, Vec<String>)> {
    Ok(match q {
        Query::ResidentId(v) => (
            Identifier::ResidentId,
            vec![validate::parse_resident_id(v).map_or_else(|_| text::compact(v), |i| i.id18)],
        ),
        Query::Phone(v) => (
            Identifier::Phone,
            vec![validate::parse_phone(v)
                .map_or_else(|_| text::compact(v), |p| p.as_str().to_owned())],
        ),
        Query::Name { name, .. } => {
            let mut forms = vec![text::clean_person_name(name), text::clean_org_name(name)];
            forms.retain(|f| !f.is_empty());
            forms.dedup();
            if forms.is_empty() {
                return Err(Error::Refused(format!("no name in {name:?}")));
            }
            (Identifier::Name, forms)
        }
    })
}

impl Hub {
    /// The golden records whose records hold what `q` asks for (through the crosswalk, which
    /// names live golden records only), in golden id order.
    pub async fn find(&self, q: &Query) -> Result<Findings> {
        let start = Instant::now();
        let (by, values) = normalised(q)?;
        let birth_date = match q {
            Query::Name {
                birth_date: Some(d),
                ..
            } => Some(
                validate::parse_date(d)
                    .map_err(|e| Error::Refused(format!("birth date {d:?}: {e}")))?
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            _ => None,
        };
        let mut records = Vec::new();
        for v in &values {
            records.extend(self.store.find_identifier(by, v).await?);
        }
        records.sort();
        records.dedup();
        let mut matched: BTreeMap<String, Vec<SourceRef>> = BTreeMap::new();
        let mut unresolved = Vec::new();
        for (source, record_key) in records {
            let at = SourceRef { source, record_key };
            match self.store.link(&at.source, &at.record_key).await? {
                Some((_, link)) => matched.entry(link.golden_id).or_default().push(at),
                None => unresolved.push(at),
            }
        }
        let mut found = Vec::new();
        for (golden_id, matched) in matched {
            let Some(g) = self.store.golden(&golden_id).await? else {
                continue;
            };
            if let Some(d) = &birth_date {
                if g.values.get(id::BIRTH_DATE) != Some(d) {
                    continue;
                }
            }
            found.push(Found {
                golden_id: g.golden_id,
                entity: g.entity,
                matched,
                members: g.members,
            });
        }
        Ok(Findings {
            by,
            found,
            unresolved,
            complete: self.store.identifiers_indexed().await?,
            lookup_ms: start.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_looked_up_as_the_normaliser_writes_them() {
        let (by, v) = normalised(&Query::ResidentId("34010219480714075x".into())).unwrap();
        assert_eq!(
            (by, v),
            (Identifier::ResidentId, vec!["34010219480714075X".into()])
        );
        // A 15-digit ID is found as its 18-digit form.
        let (_, v) = normalised(&Query::ResidentId("340102480714075".into())).unwrap();
        assert_eq!(v[0].len(), 18);
        let (_, v) = normalised(&Query::Phone("１３９ 0000 0001".into())).unwrap();
        assert_eq!(v, ["13900000001"]);
        let (_, v) = normalised(&Query::Name {
            name: " 張三 ".into(),
            birth_date: None,
        })
        .unwrap();
        assert!(v.contains(&"张三".to_owned()), "{v:?}");
        assert!(normalised(&Query::Name {
            name: "  ".into(),
            birth_date: None
        })
        .is_err());
    }
}
