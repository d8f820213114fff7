//! The hub's configuration file (`tombolo.toml`). See `docs/configuration.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tombolo_normalize::MappingConfig;
use tombolo_privacy::{DepartmentConfig, Treatment};
use tombolo_publish::KafkaConfig;
use tombolo_resolve::ResolveConfig;

use crate::registry::ConnectorConfig;
use crate::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    /// Where golden records are published. Without it, `run` stores and resolves, and the outbox
    /// keeps everything for a later run with a broker.
    #[serde(default)]
    pub kafka: Option<KafkaConfig>,
    #[serde(default)]
    pub resolve: ResolveConfig,
    /// Extra code tables, or entries added to the built-in ones (`sex`, `marital_status`,
    /// `org_status`): table → raw value → code.
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub run: RunConfig,
    /// The departmental sources.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// `[[departments]]`: who may receive which fields, for which purpose, treated how
    /// (`docs/privacy.md`). Checked against the field catalogue at load; `tombolo catalog`
    /// lists them.
    #[serde(default)]
    pub departments: Vec<DepartmentConfig>,
    #[serde(default)]
    pub pseudonyms: PseudonymConfig,
    /// `[events]`: how incident reports become incidents.
    #[serde(default)]
    pub events: EventsConfig,
}

/// `[events]`: how reports of incidents (hotline tickets, grid reports) become incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// How long after an incident's first report a report of the same kind at the same place
    /// is still of it, in hours. Default 72.
    #[serde(default = "default_window_hours")]
    pub window_hours: u32,
    /// A source's category → the common category the sources' vocabularies meet in (e.g.
    /// the hotline's `路灯故障` → the grid offices' `市政设施`). A category not listed is
    /// its own common category.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
}

fn default_window_hours() -> u32 {
    72
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            window_hours: default_window_hours(),
            categories: BTreeMap::new(),
        }
    }
}

/// `[pseudonyms]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymConfig {
    /// Environment variable holding the shared key of joinable pseudonyms (at least 32 bytes,
    /// or 64 hex digits). Required when a grant says `joinable = true`.
    #[serde(default)]
    pub shared_key_env: Option<String>,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite:PATH` (relative paths are relative to the config file) or `postgres://…`.
    #[serde(default = "default_store")]
    pub url: String,
    /// `[store.encryption]`: encryption at rest of the columns holding personal data
    /// (`docs/privacy.md`). Without it the store is written in plaintext, with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionConfig>,
    /// Seconds a command that writes waits for another process holding the store's writer
    /// lock before it gives up (exit code 4). Default 0: refuse at once, naming the holder.
    #[serde(default)]
    pub lock_wait_secs: u64,
}

/// `[store.encryption]`: where the keyring is, one of the two. A keyring holds one key per line,
/// `<id> <64 hex digits>`; the last key seals, every key opens (`tombolo keys rotate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// A keyring file (relative to the config file), readable by its owner only (mode 0600,
    /// checked). Created with a new random key when it does not exist and the store holds no
    /// sealed value, or by `tombolo keys init`; a missing file in front of a sealed store is an
    /// error, never a new key. `tombolo keys rotate` appends a key to it. Keep it apart from the
    /// store's backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the keyring (lines, or entries separated by `;`). To
    /// rotate, add the new key last and run `tombolo keys rotate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Refuse any value of a sealed column that is not sealed to its row (plaintext, or an
    /// older `tmb1:` value): set it for a store sealed from its first run, or once
    /// `tombolo keys status` shows neither after `keys rotate`. Then a value written into the
    /// database by someone else is an error, not data. Default false.
    #[serde(default)]
    pub require_sealed: bool,
}

fn default_store() -> String {
    "sqlite:.tombolo/tombolo.db".into()
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: default_store(),
            encryption: None,
            lock_wait_secs: 0,
        }
    }
}

/// `[run]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Seconds between runs with `run --follow`.
    #[serde(default = "default_interval")]
    pub follow_interval_secs: u64,
    /// Outbox entries per produce batch.
    #[serde(default = "default_publish_batch")]
    pub publish_batch: i64,
    /// Times a source is pulled again from its checkpoint after a transient failure (a
    /// database, broker or API that is down or slow) before the run gives up on it.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first wait before a retry; each further one doubles, up to `retry_max_ms`, with
    /// jitter (a `Retry-After` from the source is waited out when it is longer).
    #[serde(default = "default_retry_initial_ms")]
    pub retry_initial_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
}

fn default_retries() -> u32 {
    3
}

fn default_retry_initial_ms() -> u64 {
    1_000
}

fn default_retry_max_ms() -> u64 {
    60_000
}

impl RunConfig {
    /// The wait before retry `attempt` (1-based): exponential from `retry_initial_ms`, capped
    /// at `retry_max_ms`, with jitter in its upper half (`jitter` in 0..1); at least what the
    /// source asked for (`retry_after`).
    pub fn retry_delay(
        &self,
        attempt: u32,
        jitter: f64,
        retry_after: Option<std::time::Duration>,
    ) -> std::time::Duration {
        let exp = self
            .retry_initial_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
            .min(self.retry_max_ms);
        let jittered = (exp as f64 * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u64;
        std::time::Duration::from_millis(jittered).max(retry_after.unwrap_or_default())
    }
}

fn default_interval() -> u64 {
    60
}

fn default_publish_batch() -> i64 {
    500
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            follow_interval_secs: default_interval(),
            publish_batch: default_publish_batch(),
            retries: default_retries(),
            retry_initial_ms: default_retry_initial_ms(),
            retry_max_ms: default_retry_max_ms(),
        }
    }
}

/// `[[sources]]`: one departmental source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Short unique name (`hukou`); it appears in the crosswalk and in provenance.
    pub name: String,
    /// Skip this source in `run` (it can still be pulled by name).
    #[serde(default = "yes")]
    pub enabled: bool,
    pub connector: ConnectorConfig,
    pub mapping: MappingConfig,
    /// When the connector lists the source's keys (SQL `delete_scan`, file `snapshot`, HTTP
    /// `full_listing`), the records missing from the listing are withdrawn — unless more than
    /// this share of the source's records would go at once: then nothing is withdrawn and the
    /// source fails with the count, since an empty or cut-off export must not wipe the hub.
    /// Default 0.5.
    #[serde(default = "half")]
    pub max_withdraw_share: f64,
    /// The department that keeps this source (`[[departments]]` name): its grant decides which
    /// winning values `tombolo reconcile --export` shows it in clear. Default: the department
    /// of the same name as the source, if one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

fn yes() -> bool {
    true
}

fn half() -> f64 {
    0.5
}

/// Replaces `${VAR}` and `${VAR:-default}` by the environment.
pub fn expand_env(text: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .ok_or_else(|| "unterminated ${".to_owned())?;
        let inner = &rest[i + 2..i + end];
        let (var, default) = match inner.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(var), default) {
            (Ok(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            (Ok(v), None) => out.push_str(&v),
            (Err(_), None) => {
                return Err(format!(
                    "environment variable {var} is not set (use ${{{var}:-default}})"
                ))
            }
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands `${VAR}` in every string of a parsed config; an error names the value's place.
fn expand_values(v: &mut toml::Value, at: &mut String) -> std::result::Result<(), String> {
    match v {
        toml::Value::String(s) if s.contains("${") => {
            *s = expand_env(s).map_err(|e| format!("{at}: {e}"))?;
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                expand_values(item, at)?;
                at.truncate(len);
            }
        }
        toml::Value::Table(t) => {
            for (k, item) in t.iter_mut() {
                let len = at.len();
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(k);
                expand_values(item, at)?;
                at.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn rebase(dir: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = dir.join(&*p);
    }
}

impl Config {
    /// Reads, expands and checks a config file. Relative file paths (and a relative SQLite
    /// path) are taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let err = |message: String| Error::Config {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(err)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.rebase(&dir);
        Ok(config)
    }

    /// Parses and checks config text. `${VAR}` is expanded in the string values after the
    /// TOML is parsed, never in the raw text: a `"` or `\` in a secret cannot break or alter
    /// the config, a parse error never quotes a secret, and comments are left alone.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        expand_values(&mut value, &mut String::new())?;
        let config: Config = value
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn rebase(&mut self, dir: &Path) {
        for s in &mut self.sources {
            match &mut s.connector {
                ConnectorConfig::Csv(c) => rebase(dir, &mut c.path),
                ConnectorConfig::Excel(c) => rebase(dir, &mut c.path),
                _ => {}
            }
        }
        if let Some(path) = self
            .store
            .encryption
            .as_mut()
            .and_then(|e| e.key_file.as_mut())
        {
            rebase(dir, path);
        }
        if let Some(p) = self.store.url.strip_prefix("sqlite:") {
            let p = p.trim_start_matches("//");
            let (file, query) = p
                .split_once('?')
                .map(|(f, q)| (f, Some(q)))
                .unwrap_or((p, None));
            if Path::new(file).is_relative() && file != ":memory:" {
                let abs = dir.join(file);
                self.store.url = format!(
                    "sqlite:{}{}",
                    abs.display(),
                    query.map(|q| format!("?{q}")).unwrap_or_default()
                );
            }
        }
    }

    fn check(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.sources {
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "source name {:?}: use letters, digits, _ and -",
                    s.name
                ));
            }
            if !seen.insert(&s.name) {
                return Err(format!("source {:?} is defined twice", s.name));
            }
            let codes = self.code_tables();
            tombolo_normalize::Mapping::compile(&s.mapping, &codes)
                .map_err(|e| format!("source {}: {e}", s.name))?;
        }
        if let Some(e) = &self.store.encryption {
            if e.key_file.is_some() == e.key_env.is_some() {
                return Err("[store.encryption]: give exactly one of key_file and key_env".into());
            }
        }
        self.check_departments()
    }

    fn check_departments(&self) -> std::result::Result<(), String> {
        let classify = |entity, field: &str| {
            tombolo_core::fields::spec(entity, field).map(|s| s.classification)
        };
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.departments {
            if !seen.insert(&d.name) {
                return Err(format!("department {:?} is defined twice", d.name));
            }
            d.check(&classify).map_err(|e| e.to_string())?;
            let joinable = d
                .grants
                .values()
                .flat_map(|g| g.values())
                .any(|t| *t == Treatment::Pseudonym { joinable: true });
            if joinable && self.pseudonyms.shared_key_env.is_none() {
                return Err(format!(
                    "department {}: a joinable pseudonym needs [pseudonyms] shared_key_env",
                    d.name
                ));
            }
            if d.key_env.is_none() && self.pseudonyms.shared_key_env.is_none() {
                return Err(format!(
                    "department {}: its record ids are pseudonymised, so it needs a key_env \
                     (or [pseudonyms] shared_key_env)",
                    d.name
                ));
            }
        }
        for src in &self.sources {
            if let Some(d) = &src.department {
                if !self.departments.iter().any(|x| &x.name == d) {
                    return Err(format!(
                        "source {}: department {d:?} is not configured ([[departments]])",
                        src.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The department that keeps a source: the one it names, else the one of its name.
    pub fn keeper(&self, source: &SourceConfig) -> Option<&DepartmentConfig> {
        let name = source.department.as_deref().unwrap_or(&source.name);
        self.departments.iter().find(|d| d.name == name)
    }

    /// Built-in code tables extended by `[codes]`.
    pub fn code_tables(&self) -> tombolo_normalize::codes::CodeTables {
        let mut t = tombolo_normalize::codes::CodeTables::default();
        for (name, entries) in &self.codes {
            t.extend(name, entries);
        }
        t
    }

    pub fn source(&self, name: &str) -> Result<&SourceConfig> {
        self.sources
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::UnknownSource(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/islands/tombolo.toml");
        let c = Config::load(&path).unwrap();
        assert!(c.sources.len() >= 4);
        assert!(c.kafka.is_some());
        let kinds: std::collections::BTreeSet<&str> =
            c.sources.iter().map(|s| s.connector.kind()).collect();
        assert_eq!(kinds, ["csv", "excel", "http", "sql"].into_iter().collect());
        assert_eq!(c.departments.len(), 3);
        use tombolo_core::EntityKind;
        let entities: std::collections::BTreeSet<EntityKind> =
            c.sources.iter().map(|s| s.mapping.entity).collect();
        assert_eq!(
            entities.len(),
            EntityKind::ALL.len(),
            "every kind has a source"
        );
        assert_eq!(c.events.window_hours, 72);
        assert_eq!(
            c.events.categories.get("路灯故障").map(String::as_str),
            Some("市政设施")
        );
        let quickstart =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/tombolo.toml");
        let q = Config::load(&quickstart).unwrap();
        let key_file = q.store.encryption.and_then(|e| e.key_file).unwrap();
        assert!(key_file.is_absolute() && key_file.ends_with(".tombolo-keys/quickstart.keyring"));
    }

    #[test]
    fn encryption_names_one_keyring() {
        let both = "[store]\nencryption = { key_file = \"k\", key_env = \"K\" }\n";
        assert!(Config::parse(both).unwrap_err().contains("exactly one"));
        let neither = "[store]\nencryption = {}\n";
        assert!(Config::parse(neither).unwrap_err().contains("exactly one"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = Config::parse("[store]\nurl = \"sqlite:x.db\"\nurl2 = 1\n").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
        let err = Config::parse(
            "[[sources]]\nname = \"a\"\n[sources.connector]\nkind = \"csv\"\npath = \"a.csv\"\nkey = \"id\"\ncolour = \"red\"\n[sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = { from = \"n\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn environment_is_expanded() {
        std::env::set_var("TOMBOLO_TEST_DIR", "/data");
        assert_eq!(
            expand_env("${TOMBOLO_TEST_DIR}/a.csv").unwrap(),
            "/data/a.csv"
        );
        assert_eq!(expand_env("${TOMBOLO_SURELY_UNSET:-x}/a").unwrap(), "x/a");
        assert!(expand_env("${TOMBOLO_SURELY_UNSET}").is_err());
    }

    #[test]
    fn department_grants_are_checked_at_load() {
        let source = "[[sources]]\nname = \"a\"\n[sources.connector]\nkind = \"csv\"\npath = \"a.csv\"\nkey = \"id\"\n[sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nname = { from = \"n\" }\n";
        let dept = |grants: &str| {
            format!("{source}[[departments]]\nname = \"health\"\npurpose = \"care\"\nkey_env = \"K\"\n[departments.grants.person]\n{grants}\n")
        };
        let c = Config::parse(&dept("phone = { treatment = \"pseudonym\" }")).unwrap();
        assert_eq!(c.departments.len(), 1);
        let err = Config::parse(&dept("resident_id = { treatment = \"clear\" }")).unwrap_err();
        assert!(err.contains("justification"), "{err}");
        let err = Config::parse(&dept(
            "phone = { treatment = \"pseudonym\", joinable = true }",
        ))
        .unwrap_err();
        assert!(err.contains("shared_key_env"), "{err}");
        let twice = format!(
            "{}[[departments]]\nname = \"health\"\npurpose = \"again\"\n",
            dept("name = { treatment = \"mask\" }")
        );
        assert!(Config::parse(&twice).unwrap_err().contains("defined twice"));
    }

    #[test]
    fn the_privacy_guide_example_is_a_valid_config() {
        let guide = include_str!("../../../docs/privacy.md");
        let example = guide
            .split("```toml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        // The islands sources, without the islands example's own departments.
        let islands = include_str!("../../../examples/islands/tombolo.toml");
        let sources = islands.split("\n[[departments]]").next().unwrap();
        let text = format!("{sources}\n{example}");
        let c = Config::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = c.departments.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["health", "civil", "stats"]);
        let catalog = crate::catalog::Catalog::of(&c).unwrap();
        let md = catalog.markdown();
        assert!(md.contains("| `resident_id` | sensitive | mask |"), "{md}");
        assert!(
            md.contains("Receives nothing of: organization, place, house, event."),
            "{md}"
        );
        assert!(md.contains("### hukou (sql, person)"), "{md}");
        let health = &catalog.departments[0];
        assert_eq!(health.receives.len(), 1);
        assert_eq!(health.receives[0].fields.len(), 5);
    }

    #[test]
    fn bad_mappings_are_refused_at_load() {
        let err = Config::parse(
            "[[sources]]\nname = \"a\"\n[sources.connector]\nkind = \"csv\"\npath = \"a.csv\"\nkey = \"id\"\n[sources.mapping]\nentity = \"person\"\n[sources.mapping.fields]\nshoe = { from = \"n\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("unknown field \"shoe\""), "{err}");
    }
}
