//! What the resolver reads: source records in a compact form. A full resolution holds every
//! record of a kind in memory at once, so a record keeps its values in one string with a small
//! table of (field, end) pairs, field names interned, instead of a map of strings (about a
//! quarter of the memory for a typical person record).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use tombolo_normalize::{FieldIssue, NormalizedRecord};

/// A source record to resolve.
#[derive(Debug, Clone)]
pub struct Input {
    pub source: String,
    pub record: Record,
}

/// A source record's values, key, timestamp and validation notes, compactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub observed_at: Option<String>,
    pub issues: Vec<FieldIssue>,
    /// Fields whose value was derived, not typed (as in [`NormalizedRecord::derived`]).
    pub derived: Vec<String>,
    /// (interned field, end of its value in `text`), in field-name order.
    fields: Box<[(u16, u32)]>,
    text: Box<str>,
}

/// Distinct field names the interner can hold: far more than any unified schema has.
const CAPACITY: usize = 4096;

static NAMES: [OnceLock<&'static str>; CAPACITY] = [const { OnceLock::new() }; CAPACITY];
static INDEX: OnceLock<Mutex<HashMap<&'static str, u16>>> = OnceLock::new();

/// The number of a field name, `None` when the interner is full.
fn intern(name: &str) -> Option<u16> {
    let index = INDEX.get_or_init(Default::default);
    let mut index = index.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&n) = index.get(name) {
        return Some(n);
    }
    let n = index.len();
    if n >= CAPACITY {
        return None;
    }
    // Field names come from the unified schema: a bounded set, kept for the process's life.
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    NAMES[n].set(name).ok()?;
    index.insert(name, n as u16);
    Some(n as u16)
}

fn name(n: u16) -> &'static str {
    NAMES
        .get(usize::from(n))
        .and_then(|s| s.get().copied())
        .unwrap_or("")
}

/// Builds the value table of a record.
#[derive(Debug, Default)]
struct Values {
    fields: Vec<(u16, u32)>,
    text: String,
}

impl Values {
    fn push(&mut self, field: &str, value: &str) -> Result<(), String> {
        let n = intern(field).ok_or_else(|| format!("more than {CAPACITY} field names"))?;
        self.text.push_str(value);
        self.fields.push((n, self.text.len() as u32));
        Ok(())
    }
}

impl Record {
    fn new(
        key: String,
        observed_at: Option<String>,
        issues: Vec<FieldIssue>,
        derived: Vec<String>,
        mut values: Values,
    ) -> Self {
        // Field-name order, as the record's map had it (JSON from the store already is).
        if !values
            .fields
            .windows(2)
            .all(|w| name(w[0].0) <= name(w[1].0))
        {
            let mut pairs: Vec<(u16, &str)> = Vec::new();
            let mut start = 0;
            for &(f, end) in &values.fields {
                pairs.push((f, values.text.get(start..end as usize).unwrap_or("")));
                start = end as usize;
            }
            pairs.sort_by_key(|(f, _)| name(*f));
            let mut sorted = Values::default();
            for (f, v) in pairs {
                sorted.text.push_str(v);
                sorted.fields.push((f, sorted.text.len() as u32));
            }
            values = sorted;
        }
        Self {
            key,
            observed_at,
            issues,
            derived,
            fields: values.fields.into_boxed_slice(),
            text: values.text.into_boxed_str(),
        }
    }

    /// The value of a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// Every (field, value), in field-name order.
    pub fn values(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let mut start = 0usize;
        self.fields.iter().map(move |&(f, end)| {
            let v = self.text.get(start..end as usize).unwrap_or("");
            start = end as usize;
            (name(f), v)
        })
    }
}

impl From<&NormalizedRecord> for Record {
    fn from(r: &NormalizedRecord) -> Self {
        let mut values = Values::default();
        for (f, v) in &r.values {
            // Only a process with more than CAPACITY distinct field names loses one.
            if values.push(f, v).is_err() {
                tracing::warn!(field = %f, "too many distinct field names: value ignored");
            }
        }
        Self::new(
            r.key.clone(),
            r.observed_at.clone(),
            r.issues.clone(),
            r.derived.clone(),
            values,
        )
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Values, A::Error> {
                let mut values = Values::default();
                while let Some((k, v)) =
                    map.next_entry::<std::borrow::Cow<'de, str>, std::borrow::Cow<'de, str>>()?
                {
                    values.push(&k, &v).map_err(de::Error::custom)?;
                }
                Ok(values)
            }
        }
        d.deserialize_map(V)
    }
}

/// A stored [`NormalizedRecord`] read straight into the compact form, without building its map.
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            key: String,
            #[serde(default)]
            observed_at: Option<String>,
            values: Values,
            #[serde(default)]
            issues: Vec<FieldIssue>,
            #[serde(default)]
            derived: Vec<String>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Record::new(
            w.key,
            w.observed_at,
            w.issues,
            w.derived,
            w.values,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombolo_core::EntityKind;

    fn normalized() -> NormalizedRecord {
        NormalizedRecord {
            entity: EntityKind::Person,
            key: "K1".into(),
            observed_at: Some("2024-01-01".into()),
            values: [
                ("name", "张三"),
                ("address.road", "长江西路"),
                ("phone", "13800138000"),
                ("address.building", "3"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            issues: vec![FieldIssue {
                field: "phone".into(),
                raw: Some("x".into()),
                reason: "bad".into(),
            }],
            derived: vec!["birth_date".into()],
            deleted: false,
        }
    }

    #[test]
    fn compact_form_keeps_every_value_in_field_order() {
        let n = normalized();
        let r = Record::from(&n);
        let values: Vec<(&str, &str)> = r.values().collect();
        let expected: Vec<(&str, &str)> = n
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(values, expected);
        assert_eq!(r.get("phone"), Some("13800138000"));
        assert_eq!(r.get("sex"), None);
        assert_eq!(
            (r.key.as_str(), r.observed_at.as_deref()),
            ("K1", Some("2024-01-01"))
        );
        assert_eq!(r.issues, n.issues);
        assert_eq!(r.derived, n.derived);
    }

    #[test]
    fn reads_the_stored_json_directly() {
        let n = normalized();
        let json = serde_json::to_string(&n).unwrap();
        let r: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(r, Record::from(&n));
        // Out-of-order and escaped keys too.
        let r: Record = serde_json::from_str(
            r#"{"key":"K2","values":{"phone":"1","addr\u0065ss.road":"X路"}}"#,
        )
        .unwrap();
        assert_eq!(
            r.values().collect::<Vec<_>>(),
            [("address.road", "X路"), ("phone", "1")]
        );
        assert!(serde_json::from_str::<Record>(r#"{"key":"K3"}"#).is_err());
    }
}
