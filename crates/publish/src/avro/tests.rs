use std::collections::BTreeMap;

use apache_avro::Schema;
use tombolo_core::{EntityKind, GoldenRecord, Provenance, SourceRef};

use super::*;

fn golden(entity: EntityKind, values: &[(&str, &str)]) -> GoldenRecord {
    GoldenRecord {
        golden_id: "P-0123456789abcdef".into(),
        entity,
        version: 3,
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        provenance: vec![Provenance {
            field: "name".into(),
            source: "hukou".into(),
            record_key: "RK1".into(),
            observed_at: Some("2024-01-01 08:00:00".into()),
            rule: "trust:hukou".into(),
        }],
        members: vec![SourceRef {
            source: "hukou".into(),
            record_key: "RK1".into(),
        }],
        merged_from: vec!["P-fedcba9876543210".into()],
        retired_into: None,
        updated_at: "2026-11-27T00:00:00Z".into(),
    }
}

#[test]
fn person_round_trips_through_the_schema_file() {
    let g = golden(
        EntityKind::Person,
        &[
            ("name", "张三"),
            ("resident_id", "11010519491231002X"),
            ("address", "蜀山区长江西路12号"),
            ("address.district", "蜀山区"),
        ],
    );
    let p = Published::from_golden(&g).unwrap();
    for framing in [Framing::SingleObject, Framing::Registry(42)] {
        let bytes = encode(&p, framing).unwrap();
        assert_eq!(decode(EntityKind::Person, &bytes).unwrap(), p);
    }
    let Published::Person(person) = &p else {
        panic!("person expected")
    };
    assert_eq!(
        person.address.as_ref().unwrap().district.as_deref(),
        Some("蜀山区")
    );
    let bytes = encode(&p, Framing::SingleObject).unwrap();
    assert_eq!(&bytes[..2], &SINGLE_OBJECT_MAGIC);
    assert!(
        decode(EntityKind::Organization, &bytes).is_err(),
        "the fingerprint names the schema"
    );
}

#[test]
fn organization_round_trips_through_the_schema_file() {
    let g = golden(
        EntityKind::Organization,
        &[
            ("name", "合肥某某有限公司"),
            ("credit_code", "914403001922038216"),
            ("org_code", "192203821"),
        ],
    );
    let o = Published::from_golden(&g).unwrap();
    let bytes = encode(&o, Framing::Registry(7)).unwrap();
    assert_eq!(&bytes[..5], &[0, 0, 0, 0, 7]);
    assert_eq!(decode(EntityKind::Organization, &bytes).unwrap(), o);
}

/// Field names of a Rust type, from its serde form.
fn rust_fields(value: serde_json::Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn schema_fields(entity: EntityKind) -> Vec<String> {
    let mut f: Vec<String> = FieldClass::all(entity)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    f.sort();
    f
}

#[test]
fn rust_types_have_exactly_the_schema_fields() {
    for entity in EntityKind::ALL {
        let g = golden(entity, &[]);
        let published = Published::from_golden(&g).unwrap();
        assert_eq!(published.entity(), entity);
        let value = match published {
            Published::Person(p) => serde_json::to_value(p),
            Published::Organization(o) => serde_json::to_value(o),
            Published::Place(p) => serde_json::to_value(p),
            Published::House(h) => serde_json::to_value(h),
            Published::Event(e) => serde_json::to_value(e),
        };
        let mut fields = rust_fields(value.unwrap());
        fields.sort();
        assert_eq!(fields, schema_fields(entity), "{entity}");
    }
}

#[test]
fn every_kind_round_trips_through_its_schema_file() {
    let values: &[(&str, &str)] = &[
        ("address", "蜀山区长江西路12号3栋2单元301室"),
        ("address.district", "蜀山区"),
        ("address.room", "301"),
        ("category", "环境卫生"),
        ("reported_at", "2025-07-01T17:39:00"),
        ("reporter_phone", "13800000000"),
        ("level", "room"),
        ("owner_id", "340104199001011234"),
        ("place_id", "L-0123456789abcdef"),
    ];
    for entity in EntityKind::ALL {
        let g = golden(entity, values);
        let p = Published::from_golden(&g).unwrap();
        for framing in [Framing::SingleObject, Framing::Registry(7)] {
            let bytes = encode(&p, framing).unwrap();
            assert_eq!(decode(entity, &bytes).unwrap(), p, "{entity}");
        }
    }
}

#[test]
fn schema_classifications_match_the_field_catalogue() {
    for entity in EntityKind::ALL {
        let classes: BTreeMap<String, _> = FieldClass::all(entity)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.classification))
            .collect();
        for spec in tombolo_core::fields::fields(entity) {
            assert_eq!(
                classes.get(spec.name),
                Some(&spec.classification),
                "{entity}.{}",
                spec.name
            );
        }
    }
}

#[test]
fn embedded_place_is_the_place_schema_file() {
    let place = Schema::parse_str(include_str!("../../../../schemas/address.avsc")).unwrap();
    for entity in EntityKind::ALL {
        let Schema::Record(rec) = schema(entity).unwrap() else {
            panic!()
        };
        let field = rec.fields.iter().find(|f| f.name == "address").unwrap();
        let Schema::Union(u) = &field.schema else {
            panic!("address is a union")
        };
        let embedded = &u.variants()[1];
        assert_eq!(
            embedded.canonical_form(),
            place.canonical_form(),
            "{entity}"
        );
        let (Schema::Record(a), Schema::Record(b)) = (embedded, &place) else {
            panic!()
        };
        for (fa, fb) in a.fields.iter().zip(&b.fields) {
            assert_eq!(
                fa.custom_attributes.get("classification"),
                fb.custom_attributes.get("classification")
            );
        }
    }
}

#[test]
fn relations_round_trip_through_their_schema_file() {
    use tombolo_core::{Relation, RelationKind};
    let schema = Schema::parse_str(schemas::RELATION).unwrap();
    let r = Relation {
        kind: RelationKind::ReportedBy,
        from: "E-1".into(),
        to: "P-2".into(),
        source: "hotline".into(),
        record_key: "1234520250701000001".into(),
        observed_at: Some("2025-07-01 17:39:00".into()),
    };
    let value = apache_avro::to_value(&r).unwrap().resolve(&schema).unwrap();
    let bytes = apache_avro::to_avro_datum(&schema, value).unwrap();
    let back = apache_avro::from_avro_datum(&schema, &mut &bytes[..], None).unwrap();
    let back: Relation = apache_avro::from_value(&back).unwrap();
    assert_eq!(back, r);
    let Schema::Record(rec) = &schema else {
        panic!()
    };
    let names: Vec<&str> = rec.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["kind", "from", "to", "source", "record_key", "observed_at"]
    );
    assert!(rec
        .fields
        .iter()
        .all(|f| f.custom_attributes.contains_key("classification")));
}
