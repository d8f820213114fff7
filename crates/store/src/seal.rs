//! Encryption at rest: the columns that hold personal data (source records with the raw values
//! of their validation issues, golden records, the outbox, quarantine excerpts and reasons, link
//! evidence, review explanations, trained parameters with their term frequencies) are sealed with AES-256-GCM when the store has a keyring.
//!
//! A sealed value is `tmb2:<key id>:<base64 of 12-byte nonce ‖ ciphertext ‖ tag>`, the column's
//! name and the row's key bound in as associated data: a value copied into another column, or
//! swapped with another row's value of the same column, does not open. (`tmb1:` values, from
//! before the row was bound, bind the column only; they still open and `keys rotate` reseals
//! them as `tmb2:`.) The key
//! id beside each value lets keys rotate: [`Store::reseal`](crate::Store::reseal) rewrites
//! every value under the current key. A value without the prefix is plaintext (a store written
//! before encryption was configured) and is read as it is until it is resealed.
//!
//! Blocking and matching work on the decrypted records in the resolver's memory; the database
//! never needs a plaintext value.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::lookup::{self, LookupKey};
use crate::{Error, Result};

/// The prefix of a sealed value, row-bound.
pub const PREFIX: &str = "tmb2:";
/// The prefix of a value sealed before rows were bound (column only).
pub const PREFIX_V1: &str = "tmb1:";
/// What every sealed value starts with, for `LIKE` queries.
pub const PREFIX_ANY: &str = "tmb";

/// The row binding of a sealed value: its row's key parts, joined by a unit separator.
pub fn row(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

/// The sealed columns, as `table.column`.
pub mod column {
    pub const SOURCE_RECORD: &str = "source_record.data";
    pub const QUARANTINE: &str = "quarantine.excerpt";
    /// A reason may quote the offending value.
    pub const QUARANTINE_REASON: &str = "quarantine.reason";
    pub const GOLDEN: &str = "golden.data";
    pub const OUTBOX: &str = "outbox.payload";
    pub const EVIDENCE: &str = "crosswalk.evidence";
    pub const REVIEW: &str = "review_queue.explanation";
    pub const MODEL: &str = "model.params";
    /// A source's last error may quote a value, a URL or a message from the source.
    pub const LAST_ERROR: &str = "source_status.last_error";
}

/// Data keys: the last one seals, all of them open.
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
    /// The key of the keyed hashes ([`lookup`]), apart from the data keys.
    lookup: LookupKey,
    /// Whether the lookup key is a line of the keyring (not derived from its oldest data key).
    lookup_explicit: bool,
    /// Refuse values that are not sealed bound to their row (plaintext, `tmb1:`): a store
    /// sealed from its start, or wholly resealed, never holds one, so one found there was
    /// written by someone else (a downgrade).
    require_sealed: bool,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids only, never key material.
        f.debug_struct("Keyring").field("ids", &self.ids()).finish()
    }
}

fn bad_key(m: impl Into<String>) -> Error {
    Error::Key(m.into())
}

impl Keyring {
    /// Parses a keyring: one key per line, `<id> <64 hex digits>` (ids of letters, digits, `_`
    /// and `-`), `#` comments and blank lines ignored; the last key is the current one. A key
    /// whose id starts `l-` is the lookup key ([`lookup`]), not a data key.
    pub fn parse(text: &str) -> Result<Self> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        let mut first: Option<Vec<u8>> = None;
        let mut lookup_key: Option<LookupKey> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("keyring line {}", n + 1);
            let (id, hex_key) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad_key(format!("{}: expected `<id> <64 hex digits>`", at())))?;
            let id_ok = !id.is_empty()
                && id.len() <= 32
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !id_ok {
                return Err(bad_key(format!(
                    "{}: a key id is 1-32 letters, digits, '_' or '-'",
                    at()
                )));
            }
            let bytes = hex::decode(hex_key.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| bad_key(format!("{}: a key is 64 hex digits", at())))?;
            if lookup::is_lookup_id(id) {
                if lookup::fingerprint_id(&bytes) != id {
                    return Err(bad_key(format!(
                        "{}: lookup key id {id} is the fingerprint of another key (the line was altered)",
                        at()
                    )));
                }
                if lookup_key.is_some() {
                    return Err(bad_key(format!("{}: a second lookup key", at())));
                }
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                lookup_key = Some(LookupKey::new(key));
                continue;
            }
            if is_fingerprint_id(id) && fingerprint_id(&bytes) != id {
                return Err(bad_key(format!(
                    "{}: key id {id} is the fingerprint of another key (the line was altered)",
                    at()
                )));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(bad_key(format!("{}: key id {id} appears twice", at())));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| bad_key(e.to_string()))?;
            keys.push((id.to_owned(), cipher));
            first.get_or_insert(bytes);
        }
        let Some(first) = first else {
            return Err(bad_key("the keyring holds no key"));
        };
        let lookup_explicit = lookup_key.is_some();
        Ok(Self {
            keys,
            lookup: lookup_key.unwrap_or_else(|| LookupKey::derived_from(&first)),
            lookup_explicit,
            require_sealed: false,
        })
    }

    /// The lookup key of the keyed hashes.
    pub fn lookup(&self) -> &LookupKey {
        &self.lookup
    }

    /// The keyring line of the lookup key when it is derived from the oldest data key (to be
    /// written out before that key is dropped); `None` when it is a line already.
    pub fn derived_lookup_line(&self) -> Option<String> {
        (!self.lookup_explicit).then(|| self.lookup.line())
    }

    /// A keyring line with a new random key under the given id (tests; the hub names its keys
    /// with [`Keyring::new_key`]).
    pub fn new_key_line(id: &str) -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        format!("{id} {}", hex::encode(key.as_slice()))
    }

    /// A keyring line with a new random key named by its fingerprint ([`fingerprint_id`]), and
    /// that id: two different keys never share an id, so a value is never tried, and never
    /// sealed, under a key that merely has the right name.
    pub fn new_key() -> (String, String) {
        let key = Aes256Gcm::generate_key(OsRng);
        let id = fingerprint_id(key.as_slice());
        (format!("{id} {}", hex::encode(key.as_slice())), id)
    }

    /// Refuses plaintext and `tmb1:` values from now on (`[store.encryption] require_sealed`).
    pub fn requiring_sealed(mut self, on: bool) -> Self {
        self.require_sealed = on;
        self
    }

    /// Whether values not sealed bound to their row are refused.
    pub fn requires_sealed(&self) -> bool {
        self.require_sealed
    }

    /// Data key ids, oldest first; the last seals.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.keys.last().map_or("", |(id, _)| id.as_str())
    }

    /// Seals `plain` for `column` of the row `row` ([`row`]) under the current key.
    pub fn seal(&self, column: &str, row: &str, plain: &str) -> Result<String> {
        let (id, cipher) = self
            .keys
            .last()
            .ok_or_else(|| bad_key("the keyring holds no key"))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = bound(column, row);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| bad_key("encryption failed"))?;
        let mut raw = Vec::with_capacity(12 + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{id}:{}", B64.encode(raw)))
    }

    /// Opens a value of `column` of the row `row` sealed under any key of the ring.
    pub fn open(&self, column: &str, row: &str, sealed: &str) -> Result<String> {
        let (id, body) = split(sealed).ok_or_else(|| bad_key("not a sealed value"))?;
        if self.require_sealed && sealed.starts_with(PREFIX_V1) {
            return Err(refused(column));
        }
        let aad = if sealed.starts_with(PREFIX_V1) {
            column.as_bytes().to_vec()
        } else {
            bound(column, row)
        };
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                bad_key(format!(
                    "{column}: sealed under key {id}, which the keyring does not hold"
                ))
            })?;
        let raw = B64
            .decode(body)
            .map_err(|e| Error::Corrupt(format!("{column}: sealed value: {e}")))?;
        if raw.len() < 12 {
            return Err(Error::Corrupt(format!("{column}: sealed value too short")));
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| {
                Error::Corrupt(format!(
                    "{column}: a value sealed under key {id} does not open (wrong key or altered)"
                ))
            })?;
        String::from_utf8(plain).map_err(|e| Error::Corrupt(format!("{column}: {e}")))
    }
}

/// The id of a key: `k-` and the first 12 hex digits of SHA-256 over a domain label and the key.
pub fn fingerprint_id(key: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"tombolo store key id\0")
        .chain_update(key)
        .finalize();
    format!("k-{}", &hex::encode(digest)[..12])
}

fn is_fingerprint_id(id: &str) -> bool {
    id.len() == 14
        && id.starts_with("k-")
        && id[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A value a store that requires sealing must not hold.
pub(crate) fn refused(column: &str) -> Error {
    Error::Corrupt(format!(
        "{column}: a value that is not sealed to its row, in a store that requires sealing \
         (require_sealed): refused as written by someone else"
    ))
}

/// The associated data of a row-bound value: the column, a NUL, the row.
fn bound(column: &str, row: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(column.len() + 1 + row.len());
    aad.extend_from_slice(column.as_bytes());
    aad.push(0);
    aad.extend_from_slice(row.as_bytes());
    aad
}

/// `(key id, base64 body)` of a sealed value; `None` for plaintext.
pub fn split(value: &str) -> Option<(&str, &str)> {
    value
        .strip_prefix(PREFIX)
        .or_else(|| value.strip_prefix(PREFIX_V1))?
        .split_once(':')
}

/// The key id a stored value is sealed under; `None` for plaintext.
pub fn key_id(value: &str) -> Option<&str> {
    split(value).map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(lines: &[&str]) -> Keyring {
        Keyring::parse(&lines.join("\n")).unwrap()
    }

    #[test]
    fn seals_open_under_any_held_key_and_only_in_their_column() {
        let k1 = Keyring::new_key_line("k1");
        let k2 = Keyring::new_key_line("k2");
        let old = ring(&["# store keys", &k1]);
        let both = ring(&[&k1, "", &k2]);
        assert_eq!(both.current_id(), "k2");
        assert_eq!(both.ids(), ["k1", "k2"]);
        let plain = r#"{"resident_id":"340104199001021234","name":"张三"}"#;
        let (g1, g2) = (row(&["g-1"]), row(&["g-2"]));
        let s1 = old.seal(column::GOLDEN, &g1, plain).unwrap();
        assert!(s1.starts_with("tmb2:k1:"));
        assert!(!s1.contains("340104199001021234") && !s1.contains("张三"));
        assert_ne!(
            s1,
            old.seal(column::GOLDEN, &g1, plain).unwrap(),
            "fresh nonce"
        );
        assert_eq!(both.open(column::GOLDEN, &g1, &s1).unwrap(), plain);
        let s2 = both.seal(column::GOLDEN, &g1, plain).unwrap();
        assert_eq!(key_id(&s2), Some("k2"));
        assert!(old
            .open(column::GOLDEN, &g1, &s2)
            .unwrap_err()
            .to_string()
            .contains("k2"));
        assert!(
            both.open(column::OUTBOX, &g1, &s1).is_err(),
            "bound to its column"
        );
        // L3: a value swapped into another row of the same column does not open.
        assert!(
            both.open(column::GOLDEN, &g2, &s1).is_err(),
            "bound to its row"
        );
        let mut altered = s1.clone();
        altered.replace_range(20..21, if &s1[20..21] == "A" { "B" } else { "A" });
        assert!(both.open(column::GOLDEN, &g1, &altered).is_err());
        assert_eq!(key_id(plain), None);
    }

    #[test]
    fn values_sealed_before_rows_were_bound_still_open() {
        use aes_gcm::aead::{Aead, Payload};
        let line = Keyring::new_key_line("k1");
        let ring = ring(&[&line]);
        // A `tmb1:` value as the hub wrote it before: the column alone as associated data.
        let cipher = &ring.keys[0].1;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: b"old",
                    aad: column::GOLDEN.as_bytes(),
                },
            )
            .unwrap();
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ct);
        let v1 = format!("{PREFIX_V1}k1:{}", B64.encode(raw));
        assert_eq!(
            ring.open(column::GOLDEN, &row(&["any"]), &v1).unwrap(),
            "old"
        );
        assert_eq!(key_id(&v1), Some("k1"));
    }

    #[test]
    fn l3_a_store_that_requires_sealing_refuses_plaintext_and_unbound_values() {
        let line = Keyring::new_key_line("k1");
        let strict = ring(&[&line]).requiring_sealed(true);
        let sealed = strict.seal(column::GOLDEN, "g-1", "{}").unwrap();
        assert_eq!(strict.open(column::GOLDEN, "g-1", &sealed).unwrap(), "{}");
        let v1 = sealed.replacen(PREFIX, PREFIX_V1, 1);
        assert!(strict
            .open(column::GOLDEN, "g-1", &v1)
            .unwrap_err()
            .to_string()
            .contains("require_sealed"));
        let e = crate::unseal(
            Some(&strict),
            column::GOLDEN,
            "g-1",
            "{\"forged\":1}".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("require_sealed"), "{e}");
        let lax = ring(&[&line]);
        assert_eq!(
            crate::unseal(Some(&lax), column::GOLDEN, "g-1", "{}".into()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn refuses_malformed_keyrings_without_echoing_keys() {
        for (text, want) in [
            ("", "no key"),
            ("k1", "expected"),
            ("k1 abcd", "64 hex"),
            ("b@d 00", "key id"),
        ] {
            let e = Keyring::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let (line, id) = Keyring::new_key();
        assert!(is_fingerprint_id(&id));
        assert_eq!(Keyring::parse(&line).unwrap().current_id(), id);
        let other = Keyring::new_key().0;
        let forged = format!("{id} {}", other.split_once(' ').unwrap().1);
        assert!(Keyring::parse(&forged)
            .unwrap_err()
            .to_string()
            .contains("fingerprint of another key"));
        let line = Keyring::new_key_line("k1");
        let e = Keyring::parse(&format!("{line}\n{line}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice") && !e.contains(&line[3..]), "{e}");
        assert!(!format!("{:?}", ring(&[&line])).contains(&line[3..]));

        // The lookup key: a line of its own, fingerprint-checked, one at most, not a data key.
        let lookup = LookupKey::random().line();
        let both = ring(&[&lookup, &line]);
        assert_eq!(both.ids(), ["k1"]);
        assert_eq!(both.lookup().line(), lookup);
        assert!(both.derived_lookup_line().is_none());
        assert!(ring(&[&line]).derived_lookup_line().is_some());
        let e = Keyring::parse(&format!("{lookup}\n{lookup}\n{line}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("second lookup key"), "{e}");
        let forged = format!("{} {}", &lookup[..14], "ab".repeat(32));
        let e = Keyring::parse(&format!("{forged}\n{line}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("fingerprint of another key"), "{e}");
        assert!(Keyring::parse(&lookup)
            .unwrap_err()
            .to_string()
            .contains("no key"));
    }
}
