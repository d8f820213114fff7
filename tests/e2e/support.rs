//! Fixtures shared by the end-to-end tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn islands_dir() -> PathBuf {
    let dir = std::env::var("TOMBOLO_ISLANDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared/data/islands"));
    assert!(
        dir.join("truth_person.csv").exists(),
        "islands data not found at {}",
        dir.display()
    );
    dir
}

pub fn brokers() -> String {
    std::env::var("TOMBOLO_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

pub fn pg_base() -> String {
    std::env::var("TOMBOLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap()
}

pub fn my_base() -> String {
    std::env::var("TOMBOLO_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap()
}

/// A name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 100_000_000;
    format!(
        "{prefix}_{}_{t}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh, empty PostgreSQL database named `db`; its URL.
fn create_postgres(db: &str) -> String {
    let base = pg_base();
    run(Command::new("psql").args([
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        &format!("{base}/postgres"),
        "-c",
        &format!("DROP DATABASE IF EXISTS {db}"),
        "-c",
        &format!("CREATE DATABASE {db}"),
    ]));
    format!("{base}/{db}")
}

/// A fresh PostgreSQL database loaded from a dump; its URL.
pub fn load_postgres(db: &str, dump: &Path) -> String {
    let url = create_postgres(db);
    run(Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-f"])
        .arg(dump));
    url
}

/// A fresh, empty PostgreSQL database with a unique name; its URL.
pub fn fresh_postgres(tag: &str) -> String {
    create_postgres(&unique(tag))
}

/// The store an end-to-end test runs on: a SQLite file `name`.db in `dir`, or a fresh
/// PostgreSQL database when `TOMBOLO_TEST_STORE=postgres` (deploy/test.sh runs the islands,
/// crash, resolution and at-rest tests a second time so).
pub fn test_store(dir: &Path, name: &str) -> String {
    match std::env::var("TOMBOLO_TEST_STORE").as_deref() {
        Ok("postgres") => fresh_postgres(&format!("e2e_store_{name}")),
        Ok("sqlite") | Err(_) => format!("sqlite:{}", dir.join(format!("{name}.db")).display()),
        Ok(other) => panic!("TOMBOLO_TEST_STORE is sqlite or postgres, not {other:?}"),
    }
}

/// The files that hold a store's data: a SQLite store's database and journal files, or a
/// PostgreSQL store's database directory, checkpointed first so what was written is there.
pub fn store_files(store: &str) -> Vec<PathBuf> {
    if let Some(path) = store.strip_prefix("sqlite:") {
        return ["", "-wal", "-shm"]
            .iter()
            .map(|s| PathBuf::from(format!("{path}{s}")))
            .filter(|p| p.exists())
            .collect();
    }
    let (_, db) = store.rsplit_once('/').unwrap();
    psql_at(store, "CHECKPOINT");
    let data_dir = PathBuf::from(psql_at(store, "SHOW data_directory").trim());
    let oid = psql_at(
        store,
        &format!("SELECT oid FROM pg_database WHERE datname = '{db}'"),
    );
    let mut files = Vec::new();
    let mut dirs = vec![data_dir.join("base").join(oid.trim())];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 10, "the database's files: {files:?}");
    files
}

/// Serves `app` on a free local port in the background of the test runtime; its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The clusters of a crosswalk export (`source,record_key,golden_id,rule`), as sets of
/// `(source, key)`.
pub fn clusters(csv: &str) -> BTreeSet<BTreeSet<(String, String)>> {
    let mut by_golden: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        by_golden
            .entry(cols[2].to_owned())
            .or_default()
            .insert((cols[0].to_owned(), cols[1].to_owned()));
    }
    by_golden.into_values().collect()
}

/// Runs SQL on a PostgreSQL database (the URL of `fresh_postgres` or `load_postgres`).
pub fn psql_at(url: &str, sql: &str) -> String {
    String::from_utf8(
        run(Command::new("psql").args(["-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql]))
            .stdout,
    )
    .unwrap()
}

/// A fresh MariaDB database loaded from a dump; its URL.
pub fn load_mariadb(db: &str, dump: &Path) -> String {
    let base = my_base();
    let hostport = base
        .trim_start_matches("mysql://")
        .rsplit('@')
        .next()
        .unwrap()
        .to_owned();
    let (host, port) = hostport.split_once(':').unwrap_or((&hostport, "3306"));
    let user = base
        .trim_start_matches("mysql://")
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    let mysql = || {
        let mut c = Command::new("mariadb");
        c.args([
            "-h",
            host,
            "-P",
            port,
            "-u",
            &user,
            "--default-character-set=utf8mb4",
        ]);
        c
    };
    run(mysql().args([
        "-e",
        &format!(
            "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db} DEFAULT CHARACTER SET utf8mb4"
        ),
    ]));
    let file = std::fs::File::open(dump).unwrap();
    run(mysql().arg(db).stdin(Stdio::from(file)));
    format!("{base}/{db}")
}

/// Serves a directory over HTTP on a free local port, in the background of the test runtime.
pub async fn serve_dir(dir: PathBuf) -> String {
    use axum::extract::Path as UrlPath;
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/{file}",
        axum::routing::get(move |UrlPath(file): UrlPath<String>| {
            let dir = dir.clone();
            async move {
                if file.contains("..") || file.contains('/') {
                    return Err(StatusCode::BAD_REQUEST);
                }
                tokio::fs::read(dir.join(&file))
                    .await
                    .map_err(|_| StatusCode::NOT_FOUND)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Copies a directory (one level deep plus subdirectories of files).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Tests that push the whole islands set through the broker take turns: the local test broker
/// serves one such load well, two at once slowly.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The islands data set wired up for one test: databases, HTTP API, store, topic prefix, and
/// the islands example config with the store sealed at rest (so every test of the full path
/// resolves and publishes through encryption).
pub struct Islands {
    pub data: PathBuf,
    config: PathBuf,
    pub env: BTreeMap<String, String>,
    pub store: String,
    pub prefix: String,
    pub pg_url: String,
    pub _tmp: tempfile::TempDir,
}

impl Islands {
    /// Loads the islands data (a private copy, so tests may change files), all eleven sources.
    pub async fn new(tag: &str) -> Self {
        Self::with_kinds(tag, true).await
    }

    /// The seven people and organisation sources only (no places, houses or incidents), for
    /// tests about those two kinds: half the broker's load of the whole city.
    pub async fn people_and_organisations(tag: &str) -> Self {
        Self::with_kinds(tag, false).await
    }

    async fn with_kinds(tag: &str, all: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        copy_dir(&islands_dir(), &data);
        let pg_url = load_postgres(
            &unique(&format!("e2e_hukou_{tag}")),
            &data.join("hukou.postgres.sql"),
        );
        let my_url = load_mariadb(
            &unique(&format!("e2e_mz_{tag}")),
            &data.join("minzheng.mariadb.sql"),
        );
        let http = serve_dir(data.join("hrss_api")).await;
        let hotline = serve_dir(data.join("events_api")).await;
        let prefix = unique(&format!("e2e.{tag}"));
        let store = test_store(tmp.path(), "tombolo");
        let env = BTreeMap::from([
            ("ISLANDS_DIR".to_owned(), data.display().to_string()),
            ("HUKOU_URL".to_owned(), pg_url.clone()),
            ("MINZHENG_URL".to_owned(), my_url),
            ("HRSS_URL".to_owned(), http),
            ("HOTLINE_URL".to_owned(), hotline),
            ("KAFKA_BROKERS".to_owned(), brokers()),
            ("TOPIC_PREFIX".to_owned(), prefix.clone()),
            ("TOMBOLO_KEY_HEALTH".to_owned(), "e2e-health-".repeat(4)),
            ("TOMBOLO_KEY_TAX".to_owned(), "e2e-tax-key-".repeat(4)),
            ("TOMBOLO_KEY_URBAN".to_owned(), "e2e-urban-k-".repeat(4)),
        ]);
        let mut example =
            std::fs::read_to_string(root().join("examples/islands/tombolo.toml")).unwrap();
        if !all {
            let start = example.find("# 8. Standard address registry").unwrap();
            let start = example[..start].rfind("# ----").unwrap();
            let end = example.find("# ====").unwrap();
            example.replace_range(start..end, "");
            let urban = example.find("\n[[departments]]\nname = \"urban\"").unwrap();
            example.truncate(urban + 1);
        }
        let sealed = example.replacen(
            "\n[store]\n",
            "\n[store]\nencryption = { key_file = \"store.keyring\", require_sealed = true }\n",
            1,
        );
        assert_ne!(sealed, example, "the example has a [store] section");
        let config = tmp.path().join("tombolo.toml");
        std::fs::write(&config, sealed).unwrap();
        Self {
            data,
            config,
            env,
            store,
            prefix,
            pg_url,
            _tmp: tmp,
        }
    }

    pub fn config(&self) -> PathBuf {
        self.config.clone()
    }

    /// A `tombolo` command against this fixture.
    pub fn tombolo(&self, args: &[&str]) -> Command {
        tombolo(&self.config(), &self.store, &self.env, args)
    }

    /// Appends to the tax registry a taxpayer written under the first registered company's
    /// name, with another legal representative and no tax number (`SW9999999`): an
    /// organisation pair a reviewer must look at. The company's (credit code, name).
    pub fn add_namesake_taxpayer(&self) -> (String, String) {
        use std::io::Write;
        let market = std::fs::read_to_string(self.data.join("market_entities.csv")).unwrap();
        let cells: Vec<&str> = market.lines().nth(1).unwrap().split(',').collect();
        let (credit, name) = (cells[0].to_owned(), cells[1].to_owned());
        let mut tax = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("tax_registry.csv"))
            .unwrap();
        writeln!(tax, "SW9999999,,{name},某甲,").unwrap();
        (credit, name)
    }

    pub fn topic(&self, entity: &str) -> String {
        format!("{}.{entity}.v1", self.prefix)
    }
}

/// A `[[sources]]` block of the config: a UTF-8 CSV file (relative to the config) keyed by
/// `key`, mapped to `entity`; `mapping` is the rest of `[sources.mapping]` (its fields table,
/// and anything before it such as a soft-delete marker).
pub fn csv_source(name: &str, file: &str, key: &str, entity: &str, mapping: &str) -> String {
    format!(
        "\n[[sources]]\nname = \"{name}\"\n[sources.connector]\nkind = \"csv\"\npath = \"{file}\"\n\
         encoding = \"utf-8\"\nkey = \"{key}\"\n[sources.mapping]\nentity = \"{entity}\"\n{}\n",
        mapping.trim()
    )
}

pub fn tombolo(
    config: &Path,
    store: &str,
    env: &BTreeMap<String, String>,
    args: &[&str],
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tombolo"));
    c.arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .args(args)
        .envs(env);
    c
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(mut cmd: impl std::borrow::BorrowMut<Command>) -> String {
    String::from_utf8(run(cmd.borrow_mut()).stdout).unwrap()
}

/// Runs and parses JSON output.
pub fn json(cmd: impl std::borrow::BorrowMut<Command>) -> Value {
    let out = ok(cmd);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Parses JSON lines (a `--json` listing).
pub fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Seconds the independent consumer waits without progress before it gives up: the local
/// test broker (tansu with SQLite storage) was seen to stall for over a minute after a heavy
/// test, then carry on.
const IDLE: &str = "240";

/// Every message of a topic, decoded by the independent consumer with the schema file.
pub fn consume(topic: &str, entity: &str) -> Vec<Value> {
    let schema = root().join(format!("schemas/{entity}.avsc"));
    consume_raw(topic, &[&schema]).unwrap_or_else(|| panic!("no topic {topic}"))
}

/// Every message of a topic decoded by the independent consumer with the given schema files
/// (several when the topic was written under several schema versions), each with its value's
/// bytes in hex (`raw`); `None` when the topic does not exist.
pub fn consume_raw(topic: &str, schemas: &[&Path]) -> Option<Vec<Value>> {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/e2e/consume.py")).args([
        "--brokers",
        &brokers(),
        "--topic",
        topic,
        "--idle",
        IDLE,
        "--raw",
    ]);
    for s in schemas {
        cmd.arg("--schema").arg(s);
    }
    let out = cmd.output().unwrap();
    if out.status.code() == Some(2) {
        return None;
    }
    assert!(
        out.status.success(),
        "consume {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

/// The latest message per key.
pub fn latest(messages: &[Value]) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for m in messages {
        let key = m["key"].as_str().unwrap().to_owned();
        let version = m["value"]["version"].as_i64().unwrap();
        if out
            .get(&key)
            .is_none_or(|old| old["value"]["version"].as_i64().unwrap() <= version)
        {
            out.insert(key, m.clone());
        }
    }
    out
}

/// Pairwise precision and F1 from the shared scorer.
pub fn score(truth: &Path, crosswalk: &Path) -> (f64, f64) {
    let out = ok(Command::new("python3")
        .arg(root().join("../shared/tools/score_crosswalk.py"))
        .arg(truth)
        .arg(crosswalk));
    scored(&out, "pairwise", ["precision", "f1"])
}

/// The two `name=value` figures of the scorer's output line that starts with `line`.
fn scored(out: &str, line: &str, names: [&str; 2]) -> (f64, f64) {
    let line = out.lines().find(|l| l.starts_with(line)).unwrap();
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    (field(names[0]), field(names[1]))
}

/// Precision and recall of links from one kind to golden records of another, from the shared
/// scorer (`score_links.py TRUTH COLUMN LINKS TARGET_TRUTH TARGET_CROSSWALK [extra…]`).
pub fn score_links(args: &[&Path], column: &str, extra: &[&str]) -> (f64, f64) {
    let [truth, links, target_truth, target_crosswalk] = args else {
        panic!("score_links takes four files");
    };
    let out = ok(Command::new("python3")
        .arg(root().join("../shared/tools/score_links.py"))
        .arg(truth)
        .arg(column)
        .args([links, target_truth, target_crosswalk])
        .args(extra));
    scored(&out, "precision=", ["precision", "recall"])
}

/// The keys of a topic whose latest message is not a tombstone (relationships still asserted).
pub fn live_keys(messages: &[Value]) -> BTreeSet<String> {
    let mut latest: BTreeMap<String, bool> = BTreeMap::new();
    for m in messages {
        latest.insert(m["key"].as_str().unwrap().to_owned(), !m["value"].is_null());
    }
    latest
        .into_iter()
        .filter_map(|(k, live)| live.then_some(k))
        .collect()
}

/// The entry of `name` in the `sources` of a run report or of `status --json`.
pub fn by_source<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["sources"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["source"] == name))
        .unwrap_or_else(|| panic!("no source {name} in {report}"))
}
