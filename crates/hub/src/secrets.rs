//! Keys the configuration names: pseudonym keys of the departments and the shared one (by
//! environment variable), and the store's keyring (a file or an environment variable). Read
//! when they are needed, never logged.

use std::collections::BTreeMap;
use std::path::Path;

use tombolo_store::Keyring;

use crate::config::EncryptionConfig;

use tombolo_privacy::treat::parse_key;
use tombolo_privacy::PseudonymKeys;

use crate::{Config, Error, Result};

/// The value of a key variable, parsed; a missing or unusable key is a config error naming the
/// variable (never its value).
pub fn env_key(var: &str, what: &str) -> Result<Vec<u8>> {
    let text = std::env::var(var).map_err(|_| Error::Config {
        path: format!("${var}"),
        message: format!("{what}: the environment variable is not set"),
    })?;
    parse_key(&text).map_err(|e| Error::Config {
        path: format!("${var}"),
        message: format!("{what}: {e}"),
    })
}

/// The pseudonym keys of every configured department and the shared key.
pub fn pseudonym_keys(config: &Config) -> Result<PseudonymKeys> {
    let mut departments = BTreeMap::new();
    for d in &config.departments {
        if let Some(var) = &d.key_env {
            let key = env_key(var, &format!("pseudonym key of department {}", d.name))?;
            departments.insert(d.name.clone(), key);
        }
    }
    let shared = config
        .pseudonyms
        .shared_key_env
        .as_deref()
        .map(|var| env_key(var, "shared pseudonym key"))
        .transpose()?;
    Ok(PseudonymKeys::new(departments, shared))
}

fn key_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Config {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Creates a directory (and its parents) that the hub makes for itself (a store's, a key
/// file's), readable by its owner only; an existing directory is left as it is.
pub fn private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| key_error(dir, e))
}

/// Writes a keyring file readable by its owner only, replacing it atomically.
fn write_keyring(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(|e| key_error(&tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| key_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| key_error(path, e))
}

/// Refuses a key file that others than its owner can read (as ssh does for private keys).
fn check_mode(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                format!(
                    "the key file is readable or writable by others (mode {:o}): chmod 600 it",
                    mode & 0o777
                ),
            ));
        }
    }
    Ok(())
}

/// Creates a key file with one new key; refuses when it exists. Returns the key's id.
pub fn init_key_file(path: &Path) -> Result<String> {
    if path.exists() {
        return Err(key_error(path, "the key file exists already"));
    }
    let (line, id) = Keyring::new_key();
    let lookup = tombolo_store::lookup::LookupKey::random().line();
    write_keyring(path, &keyring_file(&[&lookup, &line]))?;
    Ok(id)
}

/// The keyring text of `[store.encryption]`. A missing key file is created with a new key only
/// when `may_create` (the store holds no sealed value): otherwise the file was lost, moved or
/// not mounted, and a new key would seal new rows that the real key cannot open.
fn keyring_text(e: &EncryptionConfig, may_create: bool) -> Result<String> {
    if let Some(var) = &e.key_env {
        let text = std::env::var(var).map_err(|_| Error::Config {
            path: format!("${var}"),
            message: "store keyring: the environment variable is not set".into(),
        })?;
        return Ok(text.replace(';', "\n"));
    }
    let Some(path) = &e.key_file else {
        return Err(Error::Config {
            path: "[store.encryption]".into(),
            message: "give key_file or key_env".into(),
        });
    };
    if !path.exists() {
        if !may_create {
            return Err(key_error(
                path,
                "the key file does not exist, but the store holds sealed values: restore the \
                 key file (or point key_file at it); a new key is made only for a store without \
                 sealed values, or by `tombolo keys init`",
            ));
        }
        let id = init_key_file(path)?;
        tracing::warn!(file = %path.display(), key = %id, "created a new store keyring: back it up apart from the store");
    }
    check_mode(path)?;
    std::fs::read_to_string(path).map_err(|e| key_error(path, e))
}

/// The store's keyring as configured; `may_create`: see [`keyring_text`].
pub fn keyring(e: &EncryptionConfig, may_create: bool) -> Result<Keyring> {
    Keyring::parse(&keyring_text(e, may_create)?).map_err(|err| Error::Config {
        path: where_(e),
        message: err.to_string(),
    })
}

/// Where the keyring comes from, for messages.
pub fn where_(e: &EncryptionConfig) -> String {
    e.key_file
        .as_ref()
        .map(|p| p.display().to_string())
        .or_else(|| e.key_env.as_ref().map(|v| format!("${v}")))
        .unwrap_or_default()
}

/// The keyring of `[store.encryption]` for `store`, as the hub uses it: a key is made only for a
/// store without sealed values, the keyring must open what is sealed before anything is
/// written with it, and `require_sealed` is applied.
pub async fn store_keyring(store: &tombolo_store::Store, e: &EncryptionConfig) -> Result<Keyring> {
    let samples = store.sealed_samples().await?;
    let ring = keyring(e, samples.is_empty())?;
    check_against(&ring, &samples, e)?;
    Ok(ring.requiring_sealed(e.require_sealed))
}

/// Checks a keyring against the store before anything is written with it: it must open one
/// sealed value of every sealed column (`samples`, from `Store::sealed_samples`).
pub fn check_against(
    ring: &Keyring,
    samples: &[(&'static str, String, String)],
    e: &EncryptionConfig,
) -> Result<()> {
    for (column, row, value) in samples {
        if let Err(err) = ring.open(column, row, value) {
            return Err(Error::Config {
                path: where_(e),
                message: format!(
                    "this keyring does not open the store's sealed values ({err}): the key is \
                     wrong, replaced or from another store; restore the right key file"
                ),
            });
        }
    }
    Ok(())
}

/// Appends a new random key to a keyring file (it seals from now on); returns its id.
pub fn add_key(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
    let ring = Keyring::parse(&text).map_err(|e| key_error(path, e))?;
    drop(ring);
    let (line, id) = Keyring::new_key();
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    write_keyring(path, &text)?;
    Ok(id)
}

/// Rewrites a keyring file with its lookup key and its current data key only (after every
/// value was resealed). A lookup key derived from the oldest data key is written out as a line
/// first, so the keyed hashes outlive the key it came from.
pub fn drop_old_keys(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
    let ring = Keyring::parse(&text).map_err(|e| key_error(path, e))?;
    let lookup = ring
        .derived_lookup_line()
        .or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| tombolo_store::lookup::is_lookup_id(l))
                .map(str::to_owned)
        })
        .ok_or_else(|| key_error(path, "the keyring's lookup key line is unreadable"))?;
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#') && !tombolo_store::lookup::is_lookup_id(l))
        .ok_or_else(|| key_error(path, "the keyring holds no key"))?;
    write_keyring(path, &keyring_file(&[&lookup, last]))
}

/// A keyring file holding key lines, with its header.
fn keyring_file(lines: &[&str]) -> String {
    let mut text = String::from(
        "# Tombolo store keyring: `<id> <64 hex digits>` per line. The `l-` key keys the \
         store's hashes\n# and never rotates; of the others, the last one seals.\n",
    );
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_files_are_created_extended_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/store.keyring");
        let e = EncryptionConfig {
            key_file: Some(path.clone()),
            key_env: None,
            require_sealed: false,
        };
        assert!(keyring(&e, false)
            .unwrap_err()
            .to_string()
            .contains("holds sealed values"));
        assert!(
            !path.exists(),
            "no key is made for a store with sealed values"
        );
        let first = keyring(&e, true).unwrap().current_id().to_owned();
        assert!(first.starts_with("k-"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(keyring(&e, false)
                .unwrap_err()
                .to_string()
                .contains("chmod 600"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(init_key_file(&path).is_err(), "init never overwrites");
        let lookup = keyring(&e, false).unwrap().lookup().id().to_owned();
        assert!(std::fs::read_to_string(&path).unwrap().contains(&lookup));
        let second = add_key(&path).unwrap();
        assert_ne!(first, second);
        let ring = keyring(&e, false).unwrap();
        assert_eq!(
            (ring.ids(), ring.current_id()),
            (vec![first.as_str(), second.as_str()], second.as_str())
        );
        drop_old_keys(&path).unwrap();
        let ring = keyring(&e, false).unwrap();
        assert_eq!(ring.ids(), [second.as_str()]);
        assert_eq!(
            ring.lookup().id(),
            lookup,
            "rotation never touches the lookup key"
        );

        // A keyring from before lookup keys: its derived lookup key survives dropping the
        // data key it came from.
        let (old, _) = Keyring::new_key();
        write_keyring(&path, &format!("{old}\n")).unwrap();
        let derived = keyring(&e, false).unwrap().lookup().id().to_owned();
        add_key(&path).unwrap();
        drop_old_keys(&path).unwrap();
        let ring = keyring(&e, false).unwrap();
        assert_eq!(ring.lookup().id(), derived);
        assert!(
            ring.derived_lookup_line().is_none(),
            "written out as a line"
        );
        std::env::set_var(
            "TOMBOLO_TEST_KEYRING",
            format!(
                "{};{}",
                Keyring::new_key_line("a"),
                Keyring::new_key_line("b")
            ),
        );
        let env = EncryptionConfig {
            key_file: None,
            key_env: Some("TOMBOLO_TEST_KEYRING".into()),
            require_sealed: false,
        };
        assert_eq!(keyring(&env, false).unwrap().current_id(), "b");
    }

    #[test]
    fn keys_come_from_the_environment_and_errors_name_the_variable_only() {
        std::env::set_var("TOMBOLO_TEST_SECRET_OK", "ab".repeat(32));
        std::env::set_var("TOMBOLO_TEST_SECRET_SHORT", "too short a key");
        assert_eq!(
            env_key("TOMBOLO_TEST_SECRET_OK", "k").unwrap(),
            vec![0xab; 32]
        );
        let e = env_key("TOMBOLO_TEST_SECRET_SHORT", "k")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TOMBOLO_TEST_SECRET_SHORT") && !e.contains("too short a key"),
            "{e}"
        );
        let e = env_key("TOMBOLO_TEST_SECRET_UNSET", "k")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not set"), "{e}");
    }
}
