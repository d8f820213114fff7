//! The identifier index on both backends: kept by every batch, keyed, built again when the key
//! it was built under is not the store's.

use super::*;
use crate::records::tests::rec;
use crate::testing::stores;
use crate::Keyring;
use tombolo_core::EntityKind;

const ID: &str = "340102194807140755";

fn person(
    key: &str,
    name: &str,
    resident_id: Option<&str>,
    phone: Option<&str>,
) -> NormalizedRecord {
    let mut r = rec(key, name);
    if let Some(i) = resident_id {
        r.values.insert(id::RESIDENT_ID.into(), i.into());
    }
    if let Some(p) = phone {
        r.values.insert(id::PHONE.into(), p.into());
    }
    r
}

fn keys(found: Vec<(String, String)>) -> Vec<String> {
    found.into_iter().map(|(s, k)| format!("{s}:{k}")).collect()
}

#[tokio::test]
async fn batches_keep_the_index_of_their_records() {
    for (store, _dir) in stores().await {
        let batch = [
            person("a", "张三", Some(ID), Some("13900000001")),
            person("b", "张三", None, Some("13900000001")),
        ];
        store
            .write_batch("hukou", EntityKind::Person, &batch, &[], None)
            .await
            .unwrap();
        let mut house = rec("H1", "");
        house.entity = EntityKind::House;
        house.values.clear();
        house.values.insert(id::OWNER_ID.into(), ID.into());
        house.values.insert(id::OWNER_NAME.into(), "张三".into());
        store
            .write_batch("housing", EntityKind::House, &[house], &[], None)
            .await
            .unwrap();
        let by_id = store
            .find_identifier(Identifier::ResidentId, ID)
            .await
            .unwrap();
        assert_eq!(keys(by_id), ["housing:H1", "hukou:a"]);
        let by_phone = store
            .find_identifier(Identifier::Phone, "13900000001")
            .await
            .unwrap();
        assert_eq!(keys(by_phone), ["hukou:a", "hukou:b"]);
        let by_name = store
            .find_identifier(Identifier::Name, "张三")
            .await
            .unwrap();
        assert_eq!(by_name.len(), 3);
        // An identifier's hash is not another's: a phone is not found as an ID.
        assert!(store
            .find_identifier(Identifier::ResidentId, "13900000001")
            .await
            .unwrap()
            .is_empty());

        // A changed record loses its old values; a deleted one all of them.
        let changed = [person("a", "张三", Some(ID), Some("13900000002"))];
        store
            .write_batch("hukou", EntityKind::Person, &changed, &[], None)
            .await
            .unwrap();
        let by_phone = store
            .find_identifier(Identifier::Phone, "13900000001")
            .await
            .unwrap();
        assert_eq!(keys(by_phone), ["hukou:b"]);
        let mut gone = person("a", "张三", None, None);
        gone.deleted = true;
        store
            .write_batch("hukou", EntityKind::Person, &[gone], &[], None)
            .await
            .unwrap();
        let by_id = store
            .find_identifier(Identifier::ResidentId, ID)
            .await
            .unwrap();
        assert_eq!(keys(by_id), ["housing:H1"]);
        store.withdraw("housing", &["H1".into()]).await.unwrap();
        assert!(store
            .find_identifier(Identifier::ResidentId, ID)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn the_index_is_keyed_and_built_again_under_a_new_lookup_key() {
    let ring = Keyring::new_key_line("k1");
    for (plain, _dir) in stores().await {
        // A store from before the index: records, no index state.
        let batch = [person("a", "李四", Some(ID), Some("13900000001"))];
        plain
            .write_batch("hukou", EntityKind::Person, &batch, &[], None)
            .await
            .unwrap();
        sqlx::query("DELETE FROM identifier_index")
            .execute(plain.pool())
            .await
            .unwrap();
        assert!(!plain.identifiers_indexed().await.unwrap());
        let built = plain.index_identifiers().await.unwrap();
        assert_eq!((built.records, built.entries), (1, 3));
        assert!(plain.identifiers_indexed().await.unwrap());
        assert_eq!(plain.index_identifiers().await.unwrap(), Indexed::default());
        assert_eq!(
            plain
                .find_identifier(Identifier::ResidentId, ID)
                .await
                .unwrap()
                .len(),
            1
        );

        // Given a keyring: built again under its lookup key, and no hash of the ID without it.
        let keyed = plain.clone().with_keyring(Keyring::parse(&ring).unwrap());
        assert!(!keyed.identifiers_indexed().await.unwrap());
        assert_eq!(keyed.index_identifiers().await.unwrap().entries, 3);
        let found = keyed
            .find_identifier(Identifier::ResidentId, ID)
            .await
            .unwrap();
        assert_eq!(keys(found), ["hukou:a"]);
        let hashes: Vec<(String,)> = sqlx::query_as("SELECT hash FROM identifier_index")
            .fetch_all(keyed.pool())
            .await
            .unwrap();
        let plain_id = crate::sha256(&format!("resident_id\u{0}{ID}"));
        let keyed_id = keyed
            .lookup_key()
            .unwrap()
            .hash(purpose::IDENTIFIER, &format!("resident_id\u{0}{ID}"));
        assert!(hashes.iter().any(|(h,)| keyed_id.ends_with(h.as_str())));
        for (h,) in &hashes {
            assert_eq!(h.len(), HASH_DIGITS, "{h}");
            assert!(!plain_id.contains(h.as_str()) && !crate::sha256(ID).contains(h.as_str()));
        }
        let (state,): (String,) = sqlx::query_as("SELECT lookup_id FROM identifier_state")
            .fetch_one(keyed.pool())
            .await
            .unwrap();
        assert_eq!(state, keyed.lookup_key().unwrap().id());
        // A store opened without the keyring does not find what it cannot hash.
        assert!(plain
            .find_identifier(Identifier::ResidentId, ID)
            .await
            .unwrap()
            .is_empty());
    }
}
