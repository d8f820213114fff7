//! Property-based fuzzing of the validators and the mapping (stable Rust, proptest): arbitrary
//! and hostile text never panics, and what is accepted is well formed. A short run is part of
//! the test suite; a longer one: `PROPTEST_CASES=200000 cargo test -p tombolo-normalize --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use tombolo_core::RawRecord;
use tombolo_normalize::validate::{
    parse_address, parse_credit_code, parse_date, parse_phone, parse_resident_id, parse_tax_number,
};
use tombolo_normalize::{Mapping, MappingConfig};

/// Text built from the pieces that trip parsers: digits, full-width forms, CJK (Simplified and
/// Traditional), address markers, separators, control characters, surrogates' neighbours.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,20}",
        "[０-９Ｘｘ]{1,18}",
        "[省市区县镇乡街道路号栋幢单元室楼层村社区]{1,6}",
        "[張李王趙陳劉楊黃吳周张李王赵陈刘杨黄吴周]{1,4}",
        "[-/.年月日 :T+Z]{1,4}",
        "[\\x00-\\x1f\\u{7f}\\u{200b}\\u{feff}\\u{fffd}]{1,3}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn validators_never_panic_and_accept_only_well_formed_values(s in hostile_text()) {
        if let Ok(id) = parse_resident_id(&s) {
            prop_assert_eq!(id.id18.chars().count(), 18);
            prop_assert!(id.id18.chars().take(17).all(|c| c.is_ascii_digit()));
            // What is accepted is accepted again in its normal form, unchanged.
            prop_assert_eq!(parse_resident_id(&id.id18).unwrap().id18, id.id18.clone());
        }
        if let Ok(c) = parse_credit_code(&s) {
            let code = c.code.clone().unwrap();
            prop_assert_eq!(code.chars().count(), 18);
            prop_assert_eq!(parse_credit_code(&code).unwrap().code, Some(code));
        }
        let _ = parse_tax_number(&s);
        if let Ok(d) = parse_date(&s) {
            let text = d.format("%Y-%m-%d").to_string();
            prop_assert_eq!(parse_date(&text).unwrap(), d);
        }
        if let Ok(p) = parse_phone(&s) {
            prop_assert!(p.as_str().chars().all(|c| c.is_ascii_digit() || c == '-'));
        }
        let place = parse_address(&s);
        let _ = place.display();
    }

    #[test]
    fn the_mapping_never_panics_on_a_raw_record(
        key in hostile_text(),
        name in proptest::option::of(hostile_text()),
        id in proptest::option::of(hostile_text()),
        birth in proptest::option::of(hostile_text()),
        phone in proptest::option::of(hostile_text()),
        address in proptest::option::of(hostile_text()),
    ) {
        let cfg: MappingConfig = toml::from_str(
            r#"
            entity = "person"
            [fields]
            name = { from = "name", required = true }
            resident_id = { from = "id" }
            birth_date = { from = "birth" }
            phone = { from = "phone" }
            address = { from = "address" }
            "#,
        )
        .unwrap();
        let mapping = Mapping::compile(&cfg, &Default::default()).unwrap();
        let raw = RawRecord::new(key)
            .with("name", name.as_deref())
            .with("id", id.as_deref())
            .with("birth", birth.as_deref())
            .with("phone", phone.as_deref())
            .with("address", address.as_deref());
        if let Ok(rec) = mapping.apply(&raw) {
            prop_assert!(!rec.key.trim().is_empty());
            prop_assert!(!rec.key.contains('\0'));
            prop_assert!(rec.values.values().all(|v| !v.contains('\0')));
        }
    }
}
