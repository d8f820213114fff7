//! A department's Avro schema, derived from the unified schema (`schemas/*.avsc`) and its grant:
//! the header fields, then each granted field in the unified schema's order. A field delivered
//! in clear keeps its unified type (an address as the `Place` record); a masked, generalised or
//! pseudonymised field is an optional string; a dropped or ungranted field is absent. Provenance
//! and members (source record keys) are never part of a department's view.

use apache_avro::Schema;
use serde_json::{json, Value};
use tombolo_core::EntityKind;

use tombolo_privacy::{DepartmentConfig, DepartmentView, Treatment};

use super::schema_text;
use crate::{Error, Result};
use tombolo_core::fields::id;

/// Fields every department view carries.
const HEADER: [&str; 4] = ["golden_id", "version", "updated_at", "retired_into"];

/// The schema of `dept`'s view of `entity` as JSON text, `None` when the department receives
/// nothing of that kind. The record is `<Entity>_<department>` in `org.tombolo.v1.dept`.
pub fn department_schema(dept: &DepartmentConfig, entity: EntityKind) -> Result<Option<String>> {
    let Some(grant) = dept.grant(entity) else {
        return Ok(None);
    };
    let bad = |m: String| Error::Schema(format!("{entity} for {}", dept.name), m);
    let unified: Value =
        serde_json::from_str(schema_text(entity)?).map_err(|e| bad(e.to_string()))?;
    let fields = unified["fields"]
        .as_array()
        .ok_or_else(|| bad("the unified schema has no fields".into()))?;
    let mut out = Vec::new();
    for f in fields {
        let name = f["name"].as_str().unwrap_or_default();
        if HEADER.contains(&name) {
            let mut f = f.clone();
            if matches!(name, "golden_id" | "retired_into") {
                // The department sees its own pseudonym of the hub's id (`record_id`).
                f["doc"] = json!(format!(
                    "{} (the department's keyed pseudonym of the hub's golden id)",
                    f["doc"].as_str().unwrap_or(name)
                ));
            }
            out.push(f);
            continue;
        }
        let Some(t) = grant.get(name) else { continue };
        let classification = f["classification"].clone();
        let field = match t {
            Treatment::Drop => continue,
            Treatment::Clear { .. } => f.clone(),
            other => json!({
                "name": name,
                "type": ["null", "string"],
                "default": null,
                "classification": classification,
                "treatment": other.name(),
                "doc": format!("{} ({})", f["doc"].as_str().unwrap_or(name), describe(other)),
            }),
        };
        out.push(field);
    }
    let record_name = match entity {
        EntityKind::Person => "Person",
        EntityKind::Organization => "Organization",
        EntityKind::Place => "PlaceRecord",
        EntityKind::House => "House",
        EntityKind::Event => "Event",
    };
    let schema = json!({
        "type": "record",
        "name": format!("{record_name}_{}", dept.name.replace('-', "_")),
        "namespace": "org.tombolo.v1.dept",
        "doc": format!("{record_name} records as department {} receives them, for: {}", dept.name, dept.purpose),
        "fields": out,
    });
    let text = schema.to_string();
    Schema::parse_str(&text).map_err(|e| bad(e.to_string()))?;
    Ok(Some(text))
}

fn describe(t: &Treatment) -> &'static str {
    match t {
        Treatment::Mask { .. } => "masked",
        Treatment::Generalize { .. } => "generalised",
        Treatment::Pseudonym { joinable: true } => "keyed pseudonym, shared key",
        Treatment::Pseudonym { joinable: false } => "keyed pseudonym, department key",
        Treatment::Clear { .. } => "clear",
        Treatment::Drop => "dropped",
    }
}

/// A department's view as an Avro datum of its derived schema ([`department_schema`]), unframed.
pub fn view_to_avro(view: &DepartmentView, schema: &apache_avro::Schema) -> Result<Vec<u8>> {
    use apache_avro::types::Value;
    let apache_avro::Schema::Record(record) = schema else {
        return Err(Error::Avro("a department schema is a record".into()));
    };
    let optional = |v: Option<&String>| match v {
        Some(s) => Value::Union(1, Box::new(Value::String(s.clone()))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let mut fields = Vec::with_capacity(record.fields.len());
    for f in &record.fields {
        let v = match f.name.as_str() {
            "golden_id" => Value::String(view.golden_id.clone()),
            "version" => Value::Long(view.version),
            "updated_at" => Value::String(view.updated_at.clone()),
            "retired_into" => optional(view.retired_into.as_ref()),
            // In clear, the address keeps the unified `Place` record.
            id::ADDRESS if holds_record(&f.schema) => match super::place_of(&view.values) {
                Some(p) => Value::Union(1, Box::new(apache_avro::to_value(p)?)),
                None => Value::Union(0, Box::new(Value::Null)),
            },
            name => optional(view.values.get(name)),
        };
        fields.push((f.name.clone(), v));
    }
    let value = Value::Record(fields).resolve(schema)?;
    Ok(apache_avro::to_avro_datum(schema, value)?)
}

/// A schema that is a record or a union with one.
fn holds_record(s: &apache_avro::Schema) -> bool {
    match s {
        apache_avro::Schema::Record(_) => true,
        apache_avro::Schema::Union(u) => u.variants().iter().any(holds_record),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dept(grants: &str) -> DepartmentConfig {
        toml::from_str(&format!(
            "name = \"health-care\"\npurpose = \"p\"\nkey_env = \"K\"\n[grants.person]\n{grants}"
        ))
        .unwrap()
    }

    fn fields(text: &str) -> Vec<(String, Value)> {
        let v: Value = serde_json::from_str(text).unwrap();
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_owned(), f["type"].clone()))
            .collect()
    }

    #[test]
    fn only_granted_fields_typed_by_treatment() {
        let d = dept(
            r#"resident_id = { treatment = "mask" }
            phone = { treatment = "pseudonym" }
            address = { treatment = "generalize", to = "district" }
            name = { treatment = "drop" }
            sex = { treatment = "clear" }"#,
        );
        let text = department_schema(&d, EntityKind::Person).unwrap().unwrap();
        let f = fields(&text);
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "golden_id",
                "version",
                "updated_at",
                "retired_into",
                "sex",
                "resident_id",
                "phone",
                "address"
            ]
        );
        let ty = |n: &str| f.iter().find(|(x, _)| x == n).unwrap().1.clone();
        assert_eq!(
            ty("address"),
            json!(["null", "string"]),
            "generalised: a string"
        );
        assert_eq!(ty("sex"), json!(["null", "string"]));
        assert_eq!(ty("version"), json!("long"));
        assert!(text.contains("\"name\":\"Person_health_care\""));
        assert!(!text.contains("provenance") && !text.contains("members"));
        assert_eq!(
            department_schema(&d, EntityKind::Organization).unwrap(),
            None
        );
    }

    #[test]
    fn a_clear_address_keeps_its_place_record() {
        let d = dept(r#"address = { treatment = "clear", justification = "home visits" }"#);
        let text = department_schema(&d, EntityKind::Person).unwrap().unwrap();
        let f = fields(&text);
        let address = &f.iter().find(|(n, _)| n == "address").unwrap().1;
        assert_eq!(address[1]["name"], "Place");
    }

    fn golden() -> tombolo_core::GoldenRecord {
        let values = [
            ("name", "张三丰"),
            ("resident_id", "340104199001021234"),
            ("phone", "13800138000"),
            ("address", "安徽省合肥市蜀山区长江西路788号"),
            ("address.province", "安徽省"),
            ("address.city", "合肥市"),
            ("address.district", "蜀山区"),
            ("address.road", "长江西路"),
            ("address.number", "788"),
        ];
        tombolo_core::GoldenRecord::of("P-1", EntityKind::Person, 3, values)
    }

    fn keys() -> tombolo_privacy::PseudonymKeys {
        let health = [("health-care".to_owned(), vec![7; 32])].into();
        tombolo_privacy::PseudonymKeys::new(health, None)
    }

    #[test]
    fn views_encode_with_the_department_schema() {
        use apache_avro::types::Value;
        // The golden record under `d`'s grant, encoded with its derived schema: (bytes, decoded).
        let encoded = |d: &DepartmentConfig| {
            let text = department_schema(d, EntityKind::Person).unwrap().unwrap();
            let schema = apache_avro::Schema::parse_str(&text).unwrap();
            let v = DepartmentView::of(d, &golden(), &keys(), "2026-11-27")
                .unwrap()
                .unwrap();
            let bytes = view_to_avro(&v, &schema).unwrap();
            let decoded = apache_avro::from_avro_datum(&schema, &mut &bytes[..], None).unwrap();
            (bytes, decoded)
        };
        let (bytes, decoded) = encoded(&dept(
            r#"resident_id = { treatment = "mask" }
            phone = { treatment = "pseudonym" }
            address = { treatment = "generalize", to = "district" }"#,
        ));
        let Value::Record(fields) = decoded else {
            panic!("{decoded:?}")
        };
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).unwrap().1.clone();
        let s = |x: &str| Value::Union(1, Box::new(Value::String(x.into())));
        assert_eq!(get("resident_id"), s("340104********1234"));
        assert_eq!(get("address"), s("安徽省合肥市蜀山区"));
        assert_eq!(
            get("golden_id"),
            Value::String(keys().record_id("health-care", "P-1").unwrap())
        );
        assert_eq!(fields.len(), 7);
        let raw = String::from_utf8_lossy(&bytes);
        assert!(!raw.contains("13800138000") && !raw.contains("340104199001021234"));
        // A clear address is the Place record.
        let (_, decoded) = encoded(&dept(
            r#"address = { treatment = "clear", justification = "visits" }"#,
        ));
        assert!(format!("{decoded:?}").contains("长江西路"));
    }
}
