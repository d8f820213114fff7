//! The store's keyring: `keys init` (a key file for a store without sealed values), `keys
//! status` (values per key id) and `keys rotate` (a new key, every value resealed under it,
//! checked before older keys are dropped).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use tombolo_store::rekey::Resealed;

use crate::{secrets, Config, Error, Hub, Result};

/// A key file made by `keys init`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInit {
    pub key: String,
    pub file: PathBuf,
}

/// The keyring and what is sealed under each key.
#[derive(Debug, Clone, Serialize)]
pub struct KeysReport {
    /// The key that seals.
    pub current: String,
    pub keys: Vec<String>,
    /// Per sealed column, values per key id (`plaintext` for values not sealed).
    pub usage: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// A key added to the key file by this rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resealed: Option<BTreeMap<&'static str, Resealed>>,
}

/// `keys init`: creates the key file of `[store.encryption]` for a store that holds no sealed
/// value, audited.
pub async fn init(config: &Config, store_url: Option<&str>, actor: &str) -> Result<KeyInit> {
    let Some(path) = config
        .store
        .encryption
        .as_ref()
        .and_then(|e| e.key_file.as_ref())
    else {
        return Err(Error::Refused(
            "keys init creates the key_file of [store.encryption]; none is configured".into(),
        ));
    };
    let store = Hub::open_store(config, store_url).await?;
    if !store.sealed_samples().await?.is_empty() {
        return Err(Error::Refused(
            "the store already holds sealed values: restore its key file instead of making a new key"
                .into(),
        ));
    }
    let id = secrets::init_key_file(path)?;
    store
        .audit_admin(
            actor,
            "keys init",
            &serde_json::json!({ "key": id }).to_string(),
        )
        .await?;
    Ok(KeyInit {
        key: id,
        file: path.clone(),
    })
}

impl Hub {
    fn encryption(&self) -> Result<&crate::config::EncryptionConfig> {
        self.config.store.encryption.as_ref().ok_or_else(|| {
            Error::Refused("the store is not encrypted: configure [store.encryption] first".into())
        })
    }

    /// `keys status`.
    pub async fn keys_status(&self) -> Result<KeysReport> {
        self.encryption()?;
        let ring = self.store.keyring();
        Ok(KeysReport {
            current: ring.map(|k| k.current_id().to_owned()).unwrap_or_default(),
            keys: ring
                .map(|k| k.ids().into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            usage: self.store.key_usage().await?,
            added: None,
            resealed: None,
        })
    }

    /// `keys rotate`: a new key in the key file (with `key_env`, the variable's last key), every
    /// value resealed under it and checked; with `drop_old`, the older data keys then removed
    /// from the file (the lookup key stays). Callers hold the writer lock.
    pub async fn keys_rotate(&self, drop_old: bool) -> Result<KeysReport> {
        let encryption = self.encryption()?;
        let added = match &encryption.key_file {
            Some(path) => Some(secrets::add_key(path)?),
            None => None,
        };
        let ring = secrets::keyring(encryption, false)?;
        let current = ring.current_id().to_owned();
        let store = self.store.clone().with_keyring(ring);
        let resealed = store.reseal().await?;
        // Verified before any old key is dropped.
        let usage = store.key_usage().await?;
        let left: u64 = usage
            .values()
            .flat_map(|c| c.iter())
            .filter(|(id, _)| **id != current)
            .map(|(_, n)| n)
            .sum();
        if left > 0 {
            return Err(Error::Refused(format!(
                "{left} values are still under older keys"
            )));
        }
        if drop_old {
            let Some(path) = &encryption.key_file else {
                return Err(Error::Refused(
                    "--drop-old edits a key file; remove old keys from the environment yourself"
                        .into(),
                ));
            };
            secrets::drop_old_keys(path)?;
        }
        // The keyring as it is now.
        let ring = secrets::keyring(encryption, false)?;
        Ok(KeysReport {
            current: ring.current_id().to_owned(),
            keys: ring.ids().into_iter().map(str::to_owned).collect(),
            usage,
            added,
            resealed: Some(resealed),
        })
    }
}
