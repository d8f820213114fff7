//! Keys the configuration names by environment variable: pseudonym keys of the departments
//! and the shared one. Read when they are needed, never logged.

use std::collections::BTreeMap;

use tombolo_publish::grants::treat::parse_key;
use tombolo_publish::grants::PseudonymKeys;

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

#[cfg(test)]
mod tests {
    use super::*;

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
