//! The place index and keys on hand-made registries and addresses.

use super::*;

fn written(parts: &[(&str, &str)]) -> Place {
    let mut p = Place::default();
    for (k, v) in parts {
        p.near |= *k == "near";
        p.set_part(k, Some((*v).to_owned()));
    }
    p
}

fn room(d: &str, road: &str, n: &str, b: &str, u: &str, r: &str) -> PlaceKey {
    PlaceKey {
        building: Some(b.into()),
        unit: Some(u.into()),
        room: Some(r.into()),
        ..PlaceKey::door(d, road, n)
    }
}

fn index() -> PlaceIndex {
    let mut ix = PlaceIndex::default();
    ix.register(
        &room("蜀山区", "长江西路", "12", "3", "2", "301"),
        Some("安居社区"),
    );
    ix.register(
        &room("蜀山区", "长江西路", "12", "3", "2", "302"),
        Some("安居社区"),
    );
    ix.register(
        &room("包河区", "大连路", "7", "1", "1", "101"),
        Some("和平社区"),
    );
    ix.register(
        &room("瑶海区", "大连路", "7", "5", "1", "101"),
        Some("和平社区"),
    );
    ix.register(
        &room("瑶海区", "黄山路", "9", "5", "1", "101"),
        Some("和平社区"),
    );
    ix
}

#[test]
fn keys_have_levels_parents_and_stable_ids() {
    let r = room("蜀山区", "长江西路", "12", "3", "2", "301");
    assert_eq!(r.level(), Level::Room);
    let lineage: Vec<Level> = r.lineage().iter().map(PlaceKey::level).collect();
    assert_eq!(lineage, [Level::Room, Level::Building, Level::Door]);
    assert_eq!(r.text(), "蜀山区长江西路12号3栋2单元301室");
    assert_eq!(r.golden_id(), r.clone().golden_id());
    assert_ne!(r.golden_id(), r.parent().unwrap().golden_id());
    assert!(r.golden_id().starts_with("L-") && r.golden_id().len() == 18);
}

#[test]
fn a_full_address_is_its_room_registered_or_not() {
    let ix = index();
    let full = [
        ("district", "蜀山区"),
        ("road", "长江西路"),
        ("number", "12"),
        ("building", "3"),
        ("unit", "2"),
        ("room", "301"),
    ];
    let Located::Place(k) = ix.locate(&written(&full)) else {
        panic!()
    };
    assert_eq!(k, room("蜀山区", "长江西路", "12", "3", "2", "301"));
    assert!(ix.is_registered(&k));
    let new = [
        ("district", "蜀山区"),
        ("road", "长江西路"),
        ("number", "14"),
        ("building", "1"),
    ];
    let Located::Place(k) = ix.locate(&written(&new)) else {
        panic!()
    };
    assert_eq!(
        (k.level(), ix.is_registered(&k)),
        (Level::Building, false),
        "created, unregistered"
    );
}

#[test]
fn a_missing_district_is_found_only_when_one_district_has_the_door() {
    let ix = index();
    let one = [("road", "长江西路"), ("number", "12"), ("building", "3")];
    let Located::Place(k) = ix.locate(&written(&one)) else {
        panic!()
    };
    assert_eq!((&*k.district, k.level()), ("蜀山区", Level::Building));
    let two = [("road", "大连路"), ("number", "7")];
    assert!(matches!(ix.locate(&written(&two)), Located::Ambiguous(v) if v.len() == 2));
    let by_community = [
        ("community", "和平社区"),
        ("road", "黄山路"),
        ("number", "9"),
    ];
    let Located::Place(k) = ix.locate(&written(&by_community)) else {
        panic!()
    };
    assert_eq!(&*k.district, "瑶海区", "the only district with that door");
    let none = [("road", "无名路"), ("number", "1")];
    assert!(matches!(ix.locate(&written(&none)), Located::Vague(_)));
}

#[test]
fn a_grid_style_address_is_placed_by_its_community_and_building_when_unambiguous() {
    let ix = index();
    let grid = [
        ("community", "安居社区"),
        ("building", "3"),
        ("unit", "2"),
        ("room", "302"),
    ];
    let Located::Place(k) = ix.locate(&written(&grid)) else {
        panic!()
    };
    assert_eq!(k, room("蜀山区", "长江西路", "12", "3", "2", "302"));
    // 和平社区 5栋 stands on two roads: no guess.
    let twice = [
        ("community", "和平社区"),
        ("building", "5"),
        ("room", "101"),
    ];
    assert!(matches!(ix.locate(&written(&twice)), Located::Ambiguous(_)));
    let unknown = [("community", "无名社区"), ("building", "5")];
    assert!(matches!(ix.locate(&written(&unknown)), Located::Vague(_)));
    assert!(matches!(
        ix.locate(&written(&[("district", "蜀山区")])),
        Located::Vague(_)
    ));
}

#[test]
fn places_compare_at_the_coarser_level() {
    let r = room("蜀山区", "长江西路", "12", "3", "2", "301");
    let (building, door) = (r.parent().unwrap(), r.parent().unwrap().parent().unwrap());
    assert!(same_place(&r, &door) && same_place(&door, &building));
    let other_building = PlaceKey {
        building: Some("4".into()),
        ..door.clone()
    };
    assert!(!same_place(&building, &other_building));
    assert!(!same_place(
        &r,
        &room("蜀山区", "长江西路", "12", "3", "2", "302")
    ));
    // The same as "one is in the other's lineage", for every pair of a mixed set.
    let no_unit = PlaceKey {
        unit: None,
        ..r.clone()
    };
    let keys = [
        r.clone(),
        no_unit,
        building.clone(),
        door.clone(),
        other_building,
        room("蜀山区", "长江西路", "12", "3", "2", "302"),
        room("蜀山区", "长江西路", "14", "3", "2", "301"),
        room("包河区", "长江西路", "12", "3", "2", "301"),
        PlaceKey::door("蜀山区", "长江东路", "12"),
    ];
    for a in &keys {
        for b in &keys {
            let by_lineage = a.lineage().contains(b) || b.lineage().contains(a);
            assert_eq!(same_place(a, b), by_lineage, "{a:?} / {b:?}");
        }
    }
}

#[test]
fn an_ambiguous_address_is_settled_by_the_same_persons_other_records() {
    let ix = index();
    let grid = [
        ("community", "和平社区"),
        ("building", "5"),
        ("unit", "1"),
        ("room", "101"),
    ];
    let Located::Ambiguous(fits) = ix.locate(&written(&grid)) else {
        panic!()
    };
    let home = room("瑶海区", "黄山路", "9", "5", "1", "101");
    assert_eq!(settle(&fits, &[home.parent().unwrap()]), Some(home.clone()));
    assert_eq!(settle(&fits, &[]), None);
    let elsewhere = room("蜀山区", "长江西路", "12", "3", "2", "301");
    assert_eq!(settle(&fits, &[elsewhere]), None, "nothing fits: no guess");
    let both: Vec<PlaceKey> = fits
        .iter()
        .map(|k| k.parent().unwrap().parent().unwrap())
        .collect();
    assert_eq!(settle(&fits, &both), None, "two fit: no guess");
}

#[test]
fn near_stops_at_the_door_and_a_room_needs_a_building() {
    let ix = index();
    let near = [
        ("district", "包河区"),
        ("road", "大连路"),
        ("number", "7"),
        ("building", "1"),
        ("near", ""),
    ];
    let Located::Place(k) = ix.locate(&written(&near)) else {
        panic!()
    };
    assert_eq!(k.level(), Level::Door);
    let no_building = [
        ("district", "包河区"),
        ("road", "大连路"),
        ("number", "7"),
        ("room", "101"),
    ];
    let Located::Place(k) = ix.locate(&written(&no_building)) else {
        panic!()
    };
    assert_eq!(k.level(), Level::Door);
}

#[test]
fn a_county_level_city_written_as_a_city_is_the_district() {
    let mut index = PlaceIndex::default();
    index.register(
        &room("巢湖市", "黄山路", "148", "7", "6", "2203"),
        Some("团结社区"),
    );
    index.register(
        &room("蜀山区", "黄山路", "148", "1", "1", "101"),
        Some("青年社区"),
    );
    let w = written(&[
        ("city", "巢湖市"),
        ("road", "黄山路"),
        ("number", "148"),
        ("building", "7"),
    ]);
    let Located::Place(k) = index.locate(&w) else {
        panic!("placed")
    };
    assert_eq!(&*k.district, "巢湖市");
}

#[test]
fn a_door_learned_from_a_record_makes_a_districtless_address_ambiguous() {
    let mut index = PlaceIndex::default();
    index.register(
        &room("巢湖市", "徽州大道", "914", "1", "1", "101"),
        Some("卧牛山社区"),
    );
    let w = written(&[("road", "徽州大道"), ("number", "914"), ("building", "40")]);
    assert!(matches!(index.locate(&w), Located::Place(k) if &*k.district == "巢湖市"));
    // A household record places a resident at 肥东县徽州大道914号, which the registry lacks.
    index.learn_door(
        &PlaceKey::door("肥东县", "徽州大道", "914"),
        Some("友谊社区"),
    );
    assert!(matches!(index.locate(&w), Located::Ambiguous(d) if d.len() == 2));
    // The community written picks the district.
    let mut w = w;
    w.community = Some("友谊社区".into());
    assert!(matches!(index.locate(&w), Located::Place(k) if &*k.district == "肥东县"));
}

#[test]
fn settled_by_the_written_building_unit_and_room_where_the_registry_has_none() {
    let known = [room("肥西县", "潜山路", "452", "27", "2", "1202")];
    let w = written(&[
        ("community", "望江社区"),
        ("building", "27"),
        ("unit", "2"),
        ("room", "1202"),
    ]);
    assert_eq!(settle_written(&w, &known), Some(known[0].clone()));
    let other = written(&[
        ("community", "望江社区"),
        ("building", "27"),
        ("unit", "2"),
        ("room", "909"),
    ]);
    assert_eq!(settle_written(&other, &known), None);
}
