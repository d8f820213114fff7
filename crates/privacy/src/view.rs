//! A golden record as one department sees it.

use std::collections::BTreeMap;

use serde::Serialize;
use tombolo_core::{EntityKind, GoldenRecord};

use crate::grant::{DepartmentConfig, Generalize, Treatment};
use crate::treat::{self, PseudonymKeys};
use crate::Result;
use tombolo_core::fields::id;

/// A granted field and how it was treated (what the audit trail records per delivery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub field: String,
    pub treatment: &'static str,
}

/// The department's view of one golden record: only granted fields, each treated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentView {
    /// The department's record id ([`PseudonymKeys::record_id`]), not the hub's golden id, so
    /// departments with separate keys cannot join their feeds on it.
    pub golden_id: String,
    pub version: i64,
    pub updated_at: String,
    pub retired_into: Option<String>,
    /// Field → delivered value (absent when the golden record has no value or the grant drops
    /// it).
    pub values: BTreeMap<String, String>,
}

/// The fields and treatments a department's grant for `entity` delivers, in field order
/// (`drop` left out); empty when it receives nothing of the kind.
pub fn delivered(dept: &DepartmentConfig, entity: EntityKind) -> Vec<Delivered> {
    dept.grant(entity)
        .into_iter()
        .flatten()
        .filter(|(_, t)| **t != Treatment::Drop)
        .map(|(f, t)| Delivered {
            field: f.clone(),
            treatment: t.name(),
        })
        .collect()
}

impl DepartmentView {
    /// `g` under `dept`'s grant for its kind; `None` when the department receives nothing of
    /// that kind. `today` (`YYYY-MM-DD`) dates age bands.
    pub fn of(
        dept: &DepartmentConfig,
        g: &GoldenRecord,
        keys: &PseudonymKeys,
        today: &str,
    ) -> Result<Option<Self>> {
        let Some(grant) = dept.grant(g.entity) else {
            return Ok(None);
        };
        let mut values = BTreeMap::new();
        for (field, t) in grant {
            let address = field == id::ADDRESS;
            let Some(value) = g.values.get(field) else {
                // An address may come as parts only; anything else without a value is absent.
                if address && matches!(t, Treatment::Generalize { .. }) {
                    if let Some(v) = generalized(g, field, t, today) {
                        values.insert(field.clone(), v);
                    }
                }
                continue;
            };
            let out = match t {
                Treatment::Clear { .. } => {
                    if address {
                        for (k, v) in g.values.range(format!("{field}.")..) {
                            if !k.starts_with("address.") {
                                break;
                            }
                            values.insert(k.clone(), v.clone());
                        }
                    }
                    Some(value.clone())
                }
                Treatment::Mask {
                    keep_start,
                    keep_end,
                } => {
                    let (s, e) = treat::default_mask(field);
                    Some(treat::mask(
                        value,
                        keep_start.unwrap_or(s),
                        keep_end.unwrap_or(e),
                    ))
                }
                Treatment::Generalize { .. } => generalized(g, field, t, today),
                Treatment::Pseudonym { joinable } => {
                    Some(keys.pseudonym(&dept.name, *joinable, field, value)?)
                }
                Treatment::Drop => None,
            };
            if let Some(v) = out {
                values.insert(field.clone(), v);
            }
        }
        Ok(Some(Self {
            golden_id: keys.record_id(&dept.name, &g.golden_id)?,
            version: g.version,
            updated_at: g.updated_at.clone(),
            retired_into: g
                .retired_into
                .as_deref()
                .map(|r| keys.record_id(&dept.name, r))
                .transpose()?,
            values,
        }))
    }
}

fn generalized(g: &GoldenRecord, field: &str, t: &Treatment, today: &str) -> Option<String> {
    let Treatment::Generalize { to } = t else {
        return None;
    };
    match to {
        Generalize::Year => treat::year(g.values.get(field)?),
        Generalize::AgeBand => treat::age_band(g.values.get(field)?, today),
        Generalize::District | Generalize::Community | Generalize::Building => {
            treat::address(&g.values, *to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden() -> GoldenRecord {
        let values = [
            ("name", "张三丰"),
            ("resident_id", "340104199001021234"),
            ("phone", "13800138000"),
            ("birth_date", "1990-01-02"),
            ("sex", "male"),
            (
                "address",
                "安徽省合肥市蜀山区稻香村街道青年社区长江西路788号3栋",
            ),
            ("address.province", "安徽省"),
            ("address.city", "合肥市"),
            ("address.district", "蜀山区"),
            ("address.street", "稻香村街道"),
            ("address.community", "青年社区"),
            ("address.road", "长江西路"),
        ];
        GoldenRecord::of("P-1", EntityKind::Person, 3, values)
    }

    fn dept(grants: &str) -> DepartmentConfig {
        toml::from_str(&format!(
            "name = \"health\"\npurpose = \"p\"\nkey_env = \"K\"\n[grants.person]\n{grants}"
        ))
        .unwrap()
    }

    fn keys() -> PseudonymKeys {
        PseudonymKeys::new(
            BTreeMap::from([("health".to_owned(), vec![7; 32])]),
            Some(vec![9; 32]),
        )
    }

    #[test]
    fn only_granted_fields_each_treated() {
        let d = dept(
            r#"resident_id = { treatment = "mask" }
            phone = { treatment = "pseudonym" }
            address = { treatment = "generalize", to = "district" }
            birth_date = { treatment = "generalize", to = "age_band" }
            name = { treatment = "drop" }"#,
        );
        let v = DepartmentView::of(&d, &golden(), &keys(), "2026-11-27")
            .unwrap()
            .unwrap();
        let expected_phone = keys()
            .pseudonym("health", false, "phone", "13800138000")
            .unwrap();
        assert_eq!(
            v.values,
            BTreeMap::from([
                ("resident_id".to_owned(), "340104********1234".to_owned()),
                ("phone".to_owned(), expected_phone),
                ("address".to_owned(), "安徽省合肥市蜀山区".to_owned()),
                ("birth_date".to_owned(), "30-39".to_owned()),
            ])
        );
        assert_eq!(v.version, 3);
        assert_eq!(v.golden_id, keys().record_id("health", "P-1").unwrap());
        assert_eq!(v.golden_id.len(), 64, "a pseudonym, not the hub's id");
        let fields: Vec<(String, &str)> = delivered(&d, EntityKind::Person)
            .into_iter()
            .map(|d| (d.field, d.treatment))
            .collect();
        assert_eq!(
            fields,
            [
                ("address".to_owned(), "generalize"),
                ("birth_date".to_owned(), "generalize"),
                ("phone".to_owned(), "pseudonym"),
                ("resident_id".to_owned(), "mask"),
            ]
        );
    }

    #[test]
    fn clear_addresses_carry_their_parts_and_other_kinds_nothing() {
        let d = dept(r#"address = { treatment = "clear" }"#);
        let v = DepartmentView::of(&d, &golden(), &keys(), "2026-11-27")
            .unwrap()
            .unwrap();
        assert_eq!(v.values.len(), 7, "{:?}", v.values);
        assert_eq!(v.values["address.road"], "长江西路");
        let mut org = golden();
        org.entity = EntityKind::Organization;
        assert_eq!(
            DepartmentView::of(&d, &org, &keys(), "2026-11-27").unwrap(),
            None
        );
        assert!(delivered(&d, EntityKind::Organization).is_empty());
    }
}
