//! Code tables: the many ways legacy systems spell an enumerated value, mapped to one code.
//! Built-in tables cover sex, marital status and organisation status; a config may add tables
//! or extend these.

use std::collections::BTreeMap;
use tombolo_core::fields::id;

/// A set of named code tables. Lookups are exact after trimming and NFKC.
#[derive(Debug, Clone)]
pub struct CodeTables {
    tables: BTreeMap<String, BTreeMap<String, String>>,
}

fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Default for CodeTables {
    fn default() -> Self {
        let mut tables = BTreeMap::new();
        // GB/T 2261.1 sex codes and the spellings found in the wild.
        tables.insert(
            id::SEX.to_owned(),
            table(&[
                ("1", "male"),
                ("男", "male"),
                ("男性", "male"),
                ("M", "male"),
                ("m", "male"),
                ("male", "male"),
                ("2", "female"),
                ("女", "female"),
                ("女性", "female"),
                ("F", "female"),
                ("f", "female"),
                ("female", "female"),
                ("0", "unknown"),
                ("9", "unspecified"),
                ("未知", "unknown"),
            ]),
        );
        // GB/T 2261.2 marital status.
        tables.insert(
            id::MARITAL_STATUS.to_owned(),
            table(&[
                ("10", "unmarried"),
                ("未婚", "unmarried"),
                ("20", "married"),
                ("已婚", "married"),
                ("21", "married"),
                ("22", "married"),
                ("23", "married"),
                ("30", "widowed"),
                ("丧偶", "widowed"),
                ("40", "divorced"),
                ("离婚", "divorced"),
                ("離婚", "divorced"),
                ("喪偶", "widowed"),
                ("90", "unspecified"),
            ]),
        );
        tables.insert(
            "org_status".to_owned(),
            table(&[
                ("存续", "active"),
                ("在业", "active"),
                ("开业", "active"),
                ("正常", "active"),
                ("注销", "deregistered"),
                ("吊销", "revoked"),
                ("迁出", "moved_out"),
                ("停业", "suspended"),
            ]),
        );
        Self { tables }
    }
}

impl CodeTables {
    /// Adds entries to a table (creating it), overriding built-in entries of the same key.
    pub fn extend(&mut self, name: &str, entries: &BTreeMap<String, String>) {
        let t = self.tables.entry(name.to_owned()).or_default();
        for (k, v) in entries {
            t.insert(k.clone(), v.clone());
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// The code for a raw value, or `None` when the table has no such entry.
    pub fn lookup(&self, name: &str, raw: &str) -> Option<&str> {
        let t = self.tables.get(name)?;
        let key = crate::text::trim(&crate::text::nfkc(raw));
        t.get(&key)
            .or_else(|| t.get(&key.to_lowercase()))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sex_codes() {
        let c = CodeTables::default();
        for raw in ["1", "男", "M", " 男 "] {
            assert_eq!(c.lookup("sex", raw), Some("male"));
        }
        assert_eq!(c.lookup("sex", "女"), Some("female"));
        assert_eq!(c.lookup("sex", "x"), None);
        assert_eq!(c.lookup("nope", "1"), None);
    }

    #[test]
    fn config_extends_tables() {
        let mut c = CodeTables::default();
        c.extend(
            "sex",
            &BTreeMap::from([("W".to_owned(), "female".to_owned())]),
        );
        assert_eq!(c.lookup("sex", "W"), Some("female"));
        assert_eq!(c.lookup("sex", "1"), Some("male"));
    }
}
