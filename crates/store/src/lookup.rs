//! The keyed lookup hash: HMAC-SHA256 under a lookup key kept apart from the data keys, so key
//! rotation never changes it. The store's content hashes (what tells an unchanged record from
//! a changed one) use it when the store has a keyring: a plain SHA-256 of a normalised record
//! would let anyone who reads the database confirm a guess of a low-entropy record (audit L1).
//!
//! A keyed hash is `h1:<lookup key id>:<64 hex digits>`. In a keyring file the lookup key is a
//! line like a data key's whose id starts `l-` (the fingerprint of the key). A keyring without
//! one (written before lookup keys existed, or given in an environment variable) uses a key
//! derived from its oldest data key; `keys rotate` writes that derived key out as an `l-` line
//! before it drops old keys, so the hashes outlive the key they came from.
//!
//! A store without a keyring keeps plain SHA-256 hashes: its values are in clear beside them.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The prefix of a keyed hash.
pub const PREFIX: &str = "h1:";

/// The lookup key of a keyring.
#[derive(Clone)]
pub struct LookupKey {
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupKey").field("id", &self.id).finish()
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this never fails.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

impl LookupKey {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self {
            id: fingerprint_id(&key),
            key,
        }
    }

    /// The lookup key derived from a data key, for a keyring without an `l-` line.
    pub(crate) fn derived_from(data_key: &[u8]) -> Self {
        let mut m = mac(data_key);
        m.update(b"tombolo lookup key v1");
        Self::new(m.finalize().into_bytes().into())
    }

    /// A new random lookup key.
    pub fn random() -> Self {
        use aes_gcm::aead::{KeyInit, OsRng};
        let key = aes_gcm::Aes256Gcm::generate_key(OsRng);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key.as_slice());
        Self::new(bytes)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The keyring line that holds this key.
    pub fn line(&self) -> String {
        format!("{} {}", self.id, hex::encode(self.key))
    }

    /// The keyed hash of `text` for `purpose` (a domain label: a content hash and an
    /// identifier's lookup never collide).
    pub fn hash(&self, purpose: &str, text: &str) -> String {
        let mut m = mac(&self.key);
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(text.as_bytes());
        format!(
            "{PREFIX}{}:{}",
            self.id,
            hex::encode(m.finalize().into_bytes())
        )
    }

    /// The prefix every hash under this key starts with, for `LIKE` queries.
    pub fn hash_prefix(&self) -> String {
        format!("{PREFIX}{}:", self.id)
    }
}

/// The id of a lookup key: `l-` and the first 12 hex digits of SHA-256 over a domain label and
/// the key.
pub fn fingerprint_id(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"tombolo lookup key id\0")
        .chain_update(key)
        .finalize();
    format!("l-{}", &hex::encode(digest)[..12])
}

/// Whether a keyring line's id names a lookup key.
pub fn is_lookup_id(id: &str) -> bool {
    id.starts_with("l-")
}

/// The purposes a keyed hash is taken for.
pub mod purpose {
    /// What a source record says (`source_record.content_hash`).
    pub const SOURCE_CONTENT: &str = "source_record.content";
    /// What a golden record says (`golden.content_hash`).
    pub const GOLDEN_CONTENT: &str = "golden.content";
    /// An identifier's value (`identifier_index.hash`).
    pub const IDENTIFIER: &str = "identifier";
}

/// A content hash as the store keeps it: keyed under `lookup` when there is one, plain SHA-256
/// otherwise.
pub(crate) fn content(lookup: Option<&LookupKey>, purpose: &str, text: &str) -> String {
    match lookup {
        Some(k) => k.hash(purpose, text),
        None => crate::sha256(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_keyed_hashes_depend_on_the_key_and_the_purpose_and_hide_the_plain_digest() {
        let a = LookupKey::random();
        let b = LookupKey::random();
        let text = r#"{"values":{"name":"张三","sex":"1"}}"#;
        let h = a.hash(purpose::SOURCE_CONTENT, text);
        assert!(h.starts_with(&a.hash_prefix()) && a.id().starts_with("l-"));
        assert_eq!(h, a.hash(purpose::SOURCE_CONTENT, text), "deterministic");
        assert_ne!(h, b.hash(purpose::SOURCE_CONTENT, text), "keyed");
        assert_ne!(h, a.hash(purpose::GOLDEN_CONTENT, text), "domain-separated");
        assert!(!h.contains(&crate::sha256(text)), "no plain digest");
        assert_eq!(
            content(None, purpose::SOURCE_CONTENT, text),
            crate::sha256(text)
        );
        let d1 = LookupKey::derived_from(&[7; 32]);
        assert_eq!(d1.id(), LookupKey::derived_from(&[7; 32]).id());
        assert_ne!(d1.id(), LookupKey::derived_from(&[8; 32]).id());
        assert!(!format!("{d1:?}").contains(&hex::encode(d1.key)));
    }
}
