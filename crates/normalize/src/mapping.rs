//! The mapping language: per source, which column feeds which unified field, through which
//! transforms, and what an invalid value does to the record. See `docs/mapping.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tombolo_core::{EntityKind, RawRecord};

use crate::codes::CodeTables;
use crate::validate::{self, address::normalize_part};
use crate::{text, Error, FieldIssue, NormalizedRecord, Result};
use tombolo_core::fields::id;
use tombolo_core::fields::{spec, FieldKind};

/// A cleaning step applied to the raw text before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Strip white space (including U+3000) at both ends, fold inner runs.
    Trim,
    /// Unicode NFKC: full-width to half-width.
    Nfkc,
    /// Traditional to Simplified Chinese.
    T2s,
    Upper,
    Lower,
    /// Remove all white space.
    StripSpaces,
}

impl Transform {
    fn apply(self, s: &str) -> String {
        match self {
            Transform::Trim => text::trim(s),
            Transform::Nfkc => text::nfkc(s),
            Transform::T2s => text::t2s(s),
            Transform::Upper => s.to_uppercase(),
            Transform::Lower => s.to_lowercase(),
            Transform::StripSpaces => s.chars().filter(|c| !c.is_whitespace()).collect(),
        }
    }
}

/// What happens to a record when one of its values fails validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    /// Keep the record; the raw value is kept with its reason and not used.
    Keep,
    /// Send the whole record to quarantine.
    Quarantine,
}

/// How one unified field is fed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Source column (or JSON field / spreadsheet header) to read.
    pub from: String,
    /// Cleaning steps before validation. Default: `["trim", "nfkc"]`; validators add their own
    /// folding (a name is also converted to Simplified).
    #[serde(default)]
    pub transforms: Option<Vec<Transform>>,
    /// Code table for `Code` fields; defaults to the field's own name (`sex`, `marital_status`).
    #[serde(default)]
    pub codes: Option<String>,
    /// A record without this value is quarantined.
    #[serde(default)]
    pub required: bool,
    /// Default: `quarantine` for required fields, `keep` for the others.
    #[serde(default)]
    pub on_invalid: Option<OnInvalid>,
}

/// A source's mapping as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Entity kind the source describes.
    pub entity: EntityKind,
    /// Unified field (or `address.<part>`) → how it is fed.
    pub fields: BTreeMap<String, FieldMapping>,
    /// A soft-delete marker of the legacy system: rows whose `column` holds one of `values`
    /// are withdrawn from the hub (their golden records lose them) instead of being stored.
    #[serde(default)]
    pub deleted: Option<DeletedMarker>,
}

/// `deleted = { column = "is_deleted", values = ["1", "Y"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedMarker {
    pub column: String,
    /// Values (compared after trimming) that mean "deleted".
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
struct CompiledField {
    target: String,
    kind: FieldKind,
    from: String,
    transforms: Vec<Transform>,
    table: Option<String>,
    required: bool,
    on_invalid: OnInvalid,
}

/// A validated mapping, ready to apply.
#[derive(Debug, Clone)]
pub struct Mapping {
    entity: EntityKind,
    fields: Vec<CompiledField>,
    codes: CodeTables,
    deleted: Option<DeletedMarker>,
}

impl Mapping {
    /// Checks the mapping against the field catalogue and the code tables.
    pub fn compile(config: &MappingConfig, codes: &CodeTables) -> Result<Self> {
        let err = |message: String| Error::Config {
            entity: config.entity.to_string(),
            message,
        };
        if config.fields.is_empty() {
            return Err(err("maps no field".into()));
        }
        let mut fields = Vec::new();
        for (target, m) in &config.fields {
            let spec = spec(config.entity, target)
                .ok_or_else(|| err(format!("unknown field {target:?}")))?;
            if tombolo_core::fields::RESOLVED.contains(&target.as_str()) {
                return Err(err(format!(
                    "field {target:?} is set by resolution, not mapped from a column"
                )));
            }
            let table = if spec.kind == FieldKind::Code {
                let t = m.codes.clone().unwrap_or_else(|| target.clone());
                if !codes.has(&t) {
                    return Err(err(format!("field {target:?}: no code table {t:?}")));
                }
                Some(t)
            } else if m.codes.is_some() {
                return Err(err(format!("field {target:?} is not a coded field")));
            } else {
                None
            };
            if m.from.trim().is_empty() {
                return Err(err(format!("field {target:?}: empty `from`")));
            }
            fields.push(CompiledField {
                target: target.clone(),
                kind: spec.kind,
                from: m.from.clone(),
                transforms: m
                    .transforms
                    .clone()
                    .unwrap_or_else(|| vec![Transform::Trim, Transform::Nfkc]),
                table,
                required: m.required,
                on_invalid: m.on_invalid.unwrap_or(if m.required {
                    OnInvalid::Quarantine
                } else {
                    OnInvalid::Keep
                }),
            });
        }
        // Free-text addresses are parsed before parts given in their own columns, which win.
        fields.sort_by_key(|f| (f.kind == FieldKind::AddressPart, f.target.clone()));
        Ok(Self {
            entity: config.entity,
            fields,
            codes: codes.clone(),
            deleted: config.deleted.clone(),
        })
    }

    pub fn entity(&self) -> EntityKind {
        self.entity
    }

    /// The source columns this mapping reads: all a connector may collect.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self.fields.iter().map(|f| f.from.clone()).collect();
        cols.extend(self.deleted.iter().map(|d| d.column.clone()));
        cols.sort();
        cols.dedup();
        cols
    }

    /// `(column, target)` pairs, for the data catalogue.
    pub fn feeds(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .map(|f| (f.from.clone(), f.target.clone()))
            .collect()
    }

    /// Maps and validates one raw record. `Err(Error::Quarantine)` means the record is unusable.
    /// Maps one raw record; `Err` sends it to quarantine with the reason.
    pub fn apply(&self, raw: &RawRecord) -> Result<NormalizedRecord> {
        let mut rec = NormalizedRecord {
            entity: self.entity,
            key: raw.key.clone(),
            observed_at: raw.observed_at.clone(),
            values: BTreeMap::new(),
            issues: Vec::new(),
            derived: Vec::new(),
            deleted: false,
        };
        if raw.key.trim().is_empty() {
            return Err(Error::Quarantine("record has an empty key".into()));
        }
        if let Some(reason) = unstorable(raw) {
            return Err(Error::Quarantine(reason));
        }
        if let Some(d) = &self.deleted {
            let marked = raw
                .get(&d.column)
                .is_some_and(|v| d.values.iter().any(|x| x.trim() == v.trim()));
            if marked {
                rec.deleted = true;
                return Ok(rec);
            }
        }
        for f in &self.fields {
            let value = raw
                .get(&f.from)
                .map(|v| f.transforms.iter().fold(v.to_owned(), |s, t| t.apply(&s)));
            let value = value.filter(|v| !v.trim().is_empty());
            let Some(value) = value else {
                if f.required {
                    return Err(Error::Quarantine(format!(
                        "required field {} (column {:?}) is empty",
                        f.target, f.from
                    )));
                }
                continue;
            };
            if let Err(reason) = self.validate_into(f, &value, &mut rec) {
                match f.on_invalid {
                    OnInvalid::Quarantine => {
                        return Err(Error::Quarantine(format!(
                            "{} (column {:?}) {value:?}: {reason}",
                            f.target, f.from
                        )))
                    }
                    OnInvalid::Keep => rec.issues.push(FieldIssue {
                        field: f.target.clone(),
                        raw: Some(value),
                        reason,
                    }),
                }
            }
        }
        cross_check(&mut rec);
        Ok(rec)
    }

    fn validate_into(
        &self,
        f: &CompiledField,
        value: &str,
        rec: &mut NormalizedRecord,
    ) -> Result<(), String> {
        let v = &mut rec.values;
        match f.kind {
            FieldKind::Text => {
                v.insert(f.target.clone(), value.to_owned());
            }
            FieldKind::PersonName => {
                let name = text::clean_person_name(value);
                if !name.chars().any(char::is_alphabetic) {
                    return Err("no letters in name".into());
                }
                v.insert(f.target.clone(), name);
            }
            FieldKind::OrgName => {
                v.insert(f.target.clone(), text::clean_org_name(value));
            }
            FieldKind::Code => {
                let table = f.table.as_deref().unwrap_or(&f.target);
                let code = self
                    .codes
                    .lookup(table, value)
                    .ok_or_else(|| format!("not in code table {table:?}"))?;
                v.insert(f.target.clone(), code.to_owned());
            }
            FieldKind::Date => {
                let d = validate::parse_date(value).map_err(|e| format!("invalid date: {e}"))?;
                v.insert(f.target.clone(), d.format("%Y-%m-%d").to_string());
            }
            FieldKind::DateTime => {
                let t = validate::parse_datetime(value)
                    .map_err(|e| format!("invalid date and time: {e}"))?;
                v.insert(f.target.clone(), t.format("%Y-%m-%dT%H:%M:%S").to_string());
            }
            FieldKind::Number => {
                let n = validate::parse_number(value).ok_or("not a number")?;
                v.insert(f.target.clone(), n);
            }
            FieldKind::ResidentId => {
                let id = validate::parse_resident_id(value)
                    .map_err(|e| format!("invalid resident ID: {e}"))?;
                if id.from_15 {
                    rec.derived.push(format!("{}:from_15", f.target));
                }
                v.insert(f.target.clone(), id.id18);
            }
            FieldKind::Phone => {
                let p = validate::parse_phone(value).map_err(|e| format!("invalid phone: {e}"))?;
                v.insert(f.target.clone(), p.as_str().to_owned());
            }
            FieldKind::Address => {
                let place = validate::parse_address(value);
                v.insert(f.target.clone(), place.display());
                for part in validate::address::PARTS {
                    if let Some(p) = place.part(part) {
                        v.insert(format!("{}.{part}", f.target), p.to_owned());
                    }
                }
                // Kept as written, but said: no road, building or room was recognised.
                if !place.locatable() {
                    return Err("address in no known form (no road and number, no building)".into());
                }
            }
            FieldKind::AddressPart => {
                let part = f.target.trim_start_matches("address.");
                let norm = normalize_part(part, value);
                if norm.is_empty() {
                    return Err("empty after normalisation".into());
                }
                v.insert(f.target.clone(), norm);
            }
            FieldKind::CreditCode => {
                let c = validate::parse_credit_code(value)
                    .map_err(|e| format!("invalid credit code: {e}"))?;
                if let Some(code) = c.code {
                    v.insert(f.target.clone(), code);
                }
                if f.target == id::CREDIT_CODE {
                    v.insert(id::ORG_CODE.into(), c.org_code);
                }
            }
            FieldKind::TaxNumber => {
                let c = validate::parse_tax_number(value)
                    .map_err(|e| format!("invalid tax number: {e}"))?;
                v.insert(f.target.clone(), text::compact(value));
                if let Some(code) = c.code {
                    v.entry(id::CREDIT_CODE.into()).or_insert(code);
                }
                v.entry(id::ORG_CODE.into()).or_insert(c.org_code);
            }
        }
        Ok(())
    }
}

/// Derives what a resident ID encodes and checks it against the record's own fields. A
/// conflict is recorded on the record; the typed value is never overwritten.
fn cross_check(rec: &mut NormalizedRecord) {
    if rec.entity != EntityKind::Person {
        return;
    }
    let Some(id) = rec
        .values
        .get(id::RESIDENT_ID)
        .and_then(|v| validate::parse_resident_id(v).ok())
    else {
        return;
    };
    let birth = id.birth.format("%Y-%m-%d").to_string();
    match rec.values.get(id::BIRTH_DATE) {
        Some(b) if *b != birth => rec.issues.push(FieldIssue {
            field: id::BIRTH_DATE.into(),
            raw: None,
            reason: format!("conflicts with the birth date {birth} in the resident ID"),
        }),
        Some(_) => {}
        None => {
            rec.values.insert(id::BIRTH_DATE.into(), birth);
            rec.derived.push(id::BIRTH_DATE.into());
        }
    }
    let sex = id.sex.as_str();
    match rec.values.get(id::SEX).map(String::as_str) {
        Some("male") | Some("female")
            if rec.values.get(id::SEX).map(String::as_str) != Some(sex) =>
        {
            rec.issues.push(FieldIssue {
                field: id::SEX.into(),
                raw: None,
                reason: format!("conflicts with the sex ({sex}) in the resident ID"),
            })
        }
        Some("male") | Some("female") => {}
        _ => {
            rec.values.insert(id::SEX.into(), sex.to_owned());
            rec.derived.push(id::SEX.into());
        }
    }
}

/// A NUL character (U+0000) in the key or a value: no text column of PostgreSQL can hold it,
/// and no legitimate value needs it, so the record is quarantined instead of failing its batch.
fn unstorable(raw: &RawRecord) -> Option<String> {
    if raw.key.contains('\0') {
        return Some("the record key contains a NUL byte (U+0000)".into());
    }
    raw.fields
        .iter()
        .find(|(_, v)| v.as_deref().is_some_and(|v| v.contains('\0')))
        .map(|(c, _)| format!("column {c:?} contains a NUL byte (U+0000)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hukou() -> Mapping {
        let cfg: MappingConfig = toml::from_str(
            r#"
            entity = "person"
            [fields]
            name = { from = "xm", required = true }
            sex = { from = "xb" }
            birth_date = { from = "csrq" }
            resident_id = { from = "gmsfhm" }
            phone = { from = "lxdh" }
            address = { from = "hjdz" }
            "address.building" = { from = "ldh" }
            "#,
        )
        .unwrap();
        Mapping::compile(&cfg, &CodeTables::default()).unwrap()
    }

    fn raw(pairs: &[(&str, &str)]) -> RawRecord {
        let mut r = RawRecord::new("K1");
        for (k, v) in pairs {
            r = r.with(k, Some(v));
        }
        r
    }

    #[test]
    fn h6_nul_bytes_in_a_key_or_a_value_are_a_quarantine_reason() {
        let mut r = raw(&[("xm", "Zh\0ou")]);
        let e = hukou().apply(&r).unwrap_err().to_string();
        assert!(e.contains("column \"xm\" contains a NUL"), "{e}");
        r = raw(&[("xm", "Zhou")]);
        r.key = "k\u{0}6".into();
        let e = hukou().apply(&r).unwrap_err().to_string();
        assert!(e.contains("record key contains a NUL"), "{e}");
    }

    #[test]
    fn maps_and_cleans() {
        let rec = hukou()
            .apply(&raw(&[
                ("xm", " 張三 "),
                ("xb", "男"),
                ("csrq", "1949/12/31"),
                ("gmsfhm", "11010519491231002x"),
                ("lxdh", "+86 138 0013 8000"),
                ("hjdz", "合肥市蜀山区长江西路12号3栋2单元301室"),
                ("ldh", "5幢"),
                ("unmapped", "secret"),
            ]))
            .unwrap();
        assert_eq!(rec.get("name"), Some("张三"));
        assert_eq!(rec.get("resident_id"), Some("11010519491231002X"));
        assert_eq!(rec.get("phone"), Some("13800138000"));
        assert_eq!(rec.get("address.road"), Some("长江西路"));
        assert_eq!(
            rec.get("address.building"),
            Some("5"),
            "a part given in its own column wins"
        );
        assert!(
            !rec.values.values().any(|v| v == "secret"),
            "unmapped columns are not collected"
        );
        // The ID says female; the record says male: recorded, not overwritten.
        assert_eq!(rec.get("sex"), Some("male"));
        assert!(rec.issues.iter().any(|i| i.field == "sex"));
        assert!(hukou().columns().contains(&"xm".to_owned()));
    }

    #[test]
    fn invalid_values_are_kept_with_reason() {
        let rec = hukou()
            .apply(&raw(&[
                ("xm", "李四"),
                ("gmsfhm", "110105194912310021"),
                ("csrq", "1990-02-30"),
            ]))
            .unwrap();
        assert_eq!(rec.get("resident_id"), None);
        let reasons: Vec<_> = rec
            .issues
            .iter()
            .map(|i| (i.field.as_str(), i.raw.as_deref()))
            .collect();
        assert!(reasons.contains(&("resident_id", Some("110105194912310021"))));
        assert!(reasons.contains(&("birth_date", Some("1990-02-30"))));
    }

    #[test]
    fn missing_required_value_quarantines() {
        let err = hukou().apply(&raw(&[("xb", "1")])).unwrap_err();
        assert!(err.to_string().contains("required field name"), "{err}");
    }

    #[test]
    fn derives_birth_and_sex_from_id() {
        let rec = hukou()
            .apply(&raw(&[("xm", "王五"), ("gmsfhm", "440524188001010014")]))
            .unwrap();
        assert_eq!(rec.get("birth_date"), Some("1880-01-01"));
        assert_eq!(rec.get("sex"), Some("male"));
        assert!(rec.derived.contains(&"birth_date".to_owned()));
    }

    #[test]
    fn rejects_unknown_fields_and_tables() {
        let cfg: MappingConfig =
            toml::from_str("entity = \"person\"\n[fields]\nshoe_size = { from = \"x\" }").unwrap();
        assert!(Mapping::compile(&cfg, &CodeTables::default()).is_err());
        let cfg: MappingConfig = toml::from_str(
            "entity = \"person\"\n[fields]\nsex = { from = \"x\", codes = \"nope\" }",
        )
        .unwrap();
        assert!(Mapping::compile(&cfg, &CodeTables::default()).is_err());
    }

    #[test]
    fn organisations_get_org_codes_from_old_tax_numbers() {
        let cfg: MappingConfig = toml::from_str(
            "entity = \"organization\"\n[fields]\nname = { from = \"n\" }\ntax_number = { from = \"t\" }",
        )
        .unwrap();
        let m = Mapping::compile(&cfg, &CodeTables::default()).unwrap();
        let rec = m
            .apply(&raw(&[
                ("n", "合肥某某（集团）有限公司"),
                ("t", "440300192203821"),
            ]))
            .unwrap();
        assert_eq!(rec.get("org_code"), Some("192203821"));
        assert_eq!(rec.get("name"), Some("合肥某某(集团)有限公司"));
        let rec = m
            .apply(&raw(&[("n", "x"), ("t", "914403001922038216")]))
            .unwrap();
        assert_eq!(rec.get("credit_code"), Some("914403001922038216"));
    }
}
