//! The pipeline as a library, without PostgreSQL, MariaDB or a broker: a temporary SQLite
//! store, the small islands fixture in `tests/fixtures/islands/` (cut from the shared islands
//! data by its `make.py`), and scripted in-memory sources put in place of the connector
//! registry, one per error class.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tombolo_core::{Batch, ErrorClass, Pulled, RawRecord, Source, SourceError, SourceResult};
use tombolo_hub::registry::{ConnectorConfig, OpenSource, Registry};
use tombolo_hub::{Config, EntityKind, Hub};

fn fixture(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/islands");
    dir.join(name).display().to_string()
}

/// One `[[sources]]` table: its connector's settings and its mapping's fields (`name`
/// required), as TOML lines.
fn source(name: &str, connector: &str, entity: &str, fields: &[(&str, &str)]) -> String {
    let fields: String = fields
        .iter()
        .map(|(target, from)| {
            // A record without a name is bad input, as in every islands mapping.
            let required = if *target == "name" {
                ", required = true"
            } else {
                ""
            };
            format!("{target:?} = {{ from = {from:?}{required} }}\n")
        })
        .collect();
    format!(
        "[[sources]]\nname = \"{name}\"\n[sources.connector]\n{connector}\n\
         [sources.mapping]\nentity = \"{entity}\"\n[sources.mapping.fields]\n{fields}"
    )
}

/// The head of a config: a SQLite store at `store`, quick retries.
fn head(store: &Path) -> String {
    let url = store.display();
    format!("[store]\nurl = \"sqlite:{url}\"\n[resolve]\ncities = [\"合肥\"]\n[run]\nretries = 2\nretry_initial_ms = 1\nretry_max_ms = 5\n")
}

/// A CSV connector on a fixture file.
fn csv(file: &str, key: &str, extra: &str) -> String {
    format!(
        "kind = \"csv\"\npath = {:?}\nkey = {key:?}\n{extra}",
        fixture(file)
    )
}

/// The fixture's four sources: two of people (a GB18030 CSV and a UTF-8 one), two of
/// organisations.
fn islands_config(store: &Path) -> String {
    let person = [
        ("name", "姓名"),
        ("sex", "性别"),
        ("birth_date", "出生日期"),
    ];
    let health = [
        ("resident_id", "证件号码"),
        ("phone", "手机号码"),
        ("address", "现住址"),
    ];
    let grid = [
        ("name", "姓名"),
        ("resident_id", "身份证号"),
        ("phone", "联系电话"),
        ("address.community", "所属社区"),
        ("address.building", "楼栋号"),
        ("address.unit", "单元"),
        ("address.room", "房间号"),
    ];
    let market = [
        ("credit_code", "统一社会信用代码"),
        ("name", "企业名称"),
        ("legal_rep", "法定代表人"),
        ("address", "住所"),
    ];
    let tax = [
        ("tax_number", "纳税人识别号"),
        ("name", "纳税人名称"),
        ("legal_rep", "法定代表人"),
        ("address", "生产经营地址"),
    ];
    let health_fields: Vec<(&str, &str)> = person.into_iter().chain(health).collect();
    [
        head(store),
        source(
            "health",
            &csv("health.gbk.csv", "档案编号", "encoding = \"gb18030\""),
            "person",
            &health_fields,
        ),
        source("grid", &csv("grid.csv", "序号", ""), "person", &grid),
        source(
            "market",
            &csv("market.csv", "统一社会信用代码", ""),
            "organization",
            &market,
        ),
        source("tax", &csv("tax.csv", "登记序号", ""), "organization", &tax),
    ]
    .concat()
}

async fn hub(config: &str) -> Hub {
    let config = Config::parse(config).unwrap_or_else(|e| panic!("{e}"));
    Hub::open(config, None).await.unwrap()
}

/// Pairs of records in one cluster: (same in truth and result, in truth, in result).
fn pairwise(
    truth: &BTreeMap<String, String>,
    result: &BTreeMap<String, String>,
) -> (u64, u64, u64) {
    let keys: Vec<&String> = truth.keys().collect();
    let (mut both, mut t, mut r) = (0, 0, 0);
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let same_t = truth[*a] == truth[*b];
            let same_r = result.get(*a).is_some() && result.get(*a) == result.get(*b);
            both += u64::from(same_t && same_r);
            t += u64::from(same_t);
            r += u64::from(same_r);
        }
    }
    (both, t, r)
}

fn truth(name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        out.insert(format!("{}/{}", f[0], f[1]), f[2].to_owned());
    }
    out
}

#[tokio::test]
async fn the_islands_fixture_runs_to_golden_records_that_match_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&islands_config(&dir.path().join("hub.db"))).await;
    let report = hub.run(&[], None, false).await.unwrap();
    // Every count adds up against the source: the files' data lines.
    let lines = |f: &str| {
        std::fs::read(fixture(f))
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64
            - 1
    };
    for (source, file) in [
        ("health", "health.gbk.csv"),
        ("grid", "grid.csv"),
        ("market", "market.csv"),
        ("tax", "tax.csv"),
    ] {
        let s = report.sources.iter().find(|s| s.source == source).unwrap();
        assert_eq!(s.error, None, "{source}");
        assert_eq!(s.counts.pulled, lines(file), "{source}");
        assert_eq!(
            s.counts.accepted + s.counts.quarantined,
            s.counts.pulled,
            "{source}"
        );
    }
    for (entity, truth_file) in [
        (EntityKind::Person, "truth_person.csv"),
        (EntityKind::Organization, "truth_org.csv"),
    ] {
        let links = hub.crosswalk(entity).await.unwrap();
        let result: BTreeMap<String, String> = links
            .into_iter()
            .map(|l| (format!("{}/{}", l.source, l.record_key), l.golden_id))
            .collect();
        let truth = truth(truth_file);
        let (both, t, r) = pairwise(&truth, &result);
        let (precision, recall) = (both as f64 / r as f64, both as f64 / t as f64);
        assert!(
            precision >= 0.95 && recall >= 0.9,
            "{entity}: precision {precision:.3}, recall {recall:.3}"
        );
    }
    // A second run finds nothing new.
    let again = hub.run(&[], None, false).await.unwrap();
    assert!(again
        .sources
        .iter()
        .all(|s| s.counts.outcome.new == 0 && s.error.is_none()));
}

/// What a scripted source does on each opening: fail with this error, or yield these batches.
#[derive(Debug)]
enum Script {
    Fail(fn() -> SourceError),
    Yield(Vec<Vec<Pulled>>),
}

/// Opens scripted sources by name; a source without a script is opened by the registry.
#[derive(Debug, Default)]
struct Scripted {
    scripts: Mutex<BTreeMap<String, VecDeque<Script>>>,
}

#[derive(Debug)]
struct MemorySource {
    batches: VecDeque<Vec<Pulled>>,
}

#[async_trait]
impl Source for MemorySource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        Ok(self.batches.pop_front().map(|items| Batch {
            items,
            checkpoint: None,
        }))
    }
}

#[async_trait]
impl OpenSource for Scripted {
    async fn open(
        &self,
        name: &str,
        connector: &ConnectorConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Box<dyn Source>> {
        let next = self
            .scripts
            .lock()
            .unwrap()
            .get_mut(name)
            .and_then(VecDeque::pop_front);
        match next {
            Some(Script::Fail(error)) => Err(error()),
            Some(Script::Yield(batches)) => Ok(Box::new(MemorySource {
                batches: batches.into(),
            })),
            None => Registry.open(name, connector, columns, checkpoint).await,
        }
    }
}

fn person(key: &str, name: &str, phone: &str) -> Pulled {
    let mut r = RawRecord::new(key);
    r.fields.insert("姓名".into(), Some(name.into()));
    r.fields.insert("手机号码".into(), Some(phone.into()));
    Pulled::Record(r)
}

/// A source that answers with one person.
fn steady() -> Vec<Script> {
    vec![Script::Yield(vec![vec![person(
        "s1",
        "李四",
        "13900139000",
    )]])]
}

fn refused() -> SourceError {
    let cause = std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        "permission denied for table hukou",
    );
    SourceError::fatal("database").caused_by(cause)
}

fn unreachable() -> SourceError {
    SourceError::transient("database unreachable")
}

/// A config of two scripted sources, `flaky` and `steady`, both of people (their connector is
/// never opened: the scripts stand in for it).
fn scripted_config(store: &Path) -> String {
    let fields = [("name", "姓名"), ("phone", "手机号码")];
    let never = csv("scripted-sources-never-read-this.csv", "k", "");
    let sources = ["flaky", "steady"].map(|name| source(name, &never, "person", &fields));
    head(store) + &sources.concat()
}

async fn scripted(
    dir: &Path,
    scripts: Vec<(&str, Vec<Script>)>,
) -> (Hub, tombolo_hub::pipeline::RunReport) {
    let opener = Scripted::default();
    for (name, s) in scripts {
        opener
            .scripts
            .lock()
            .unwrap()
            .insert(name.to_owned(), s.into());
    }
    let hub = hub(&scripted_config(&dir.join("hub.db")))
        .await
        .with_connectors(Arc::new(opener));
    let report = hub.run(&[], None, false).await.unwrap();
    (hub, report)
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_the_retries_are_reported() {
    let dir = tempfile::tempdir().unwrap();

    let flaky = vec![
        Script::Fail(unreachable),
        Script::Fail(unreachable),
        Script::Yield(vec![vec![
            person("f1", "张三", "13800138000"),
            person("f2", "王五", "13700137000"),
        ]]),
    ];
    let (hub, report) = scripted(dir.path(), vec![("flaky", flaky), ("steady", steady())]).await;
    let f = report.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert_eq!(
        (f.error.as_deref(), f.counts.retries, f.counts.accepted),
        (None, 2, 2)
    );
    let status = hub.status().await.unwrap();
    let f = status.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert_eq!(f.last.retries, 2, "the retries are in the status");
    assert_eq!(report.failed_sources(), 0);
}

#[tokio::test]
async fn a_transient_failure_past_its_retries_fails_only_its_source() {
    let dir = tempfile::tempdir().unwrap();

    let flaky = vec![
        Script::Fail(unreachable),
        Script::Fail(unreachable),
        Script::Fail(unreachable),
    ];
    let (_, report) = scripted(dir.path(), vec![("flaky", flaky), ("steady", steady())]).await;
    let f = report.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert_eq!(
        (f.error_class, f.counts.retries),
        (Some(ErrorClass::Transient), 2)
    );
    assert_eq!((report.failed_sources(), report.fatal_sources()), (1, 0));
    let s = report
        .sources
        .iter()
        .find(|s| s.source == "steady")
        .unwrap();
    assert_eq!((s.error.as_deref(), s.counts.accepted), (None, 1));
}

#[tokio::test]
async fn a_fatal_error_stops_its_source_at_once_with_its_whole_cause() {
    let dir = tempfile::tempdir().unwrap();

    let (hub, report) = scripted(
        dir.path(),
        vec![("flaky", vec![Script::Fail(refused)]), ("steady", steady())],
    )
    .await;
    let f = report.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert_eq!(
        (f.error_class, f.counts.retries),
        (Some(ErrorClass::Fatal), 0),
        "never retried"
    );
    let error = f.error.as_deref().unwrap();
    assert!(
        error.contains("fatal: database: permission denied for table hukou"),
        "{error}"
    );
    assert_eq!(report.fatal_sources(), 1);
    let s = report
        .sources
        .iter()
        .find(|s| s.source == "steady")
        .unwrap();
    assert_eq!(
        (s.error.as_deref(), s.counts.accepted),
        (None, 1),
        "the other source goes on"
    );
    let people = report
        .entities
        .iter()
        .find(|e| e.entity == EntityKind::Person)
        .unwrap();
    assert_eq!(people.golden_records, 1);
    let status = hub.status().await.unwrap();
    let f = status.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert!(
        f.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("permission denied"),
        "{f:?}"
    );
}

#[tokio::test]
async fn bad_records_are_quarantined_with_their_reason_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut nameless = RawRecord::new("f2");
    nameless
        .fields
        .insert("手机号码".into(), Some("13700137000".into()));
    let broken = Pulled::Malformed(tombolo_core::Malformed {
        key: "input.csv:4".into(),
        reason: "a quote is never closed".into(),
        excerpt: "\"f3,赵六".into(),
    });
    let flaky = vec![Script::Yield(vec![
        vec![
            person("f1", "张三", "13800138000"),
            Pulled::Record(nameless),
        ],
        vec![broken],
    ])];
    let (hub, report) = scripted(
        dir.path(),
        vec![("flaky", flaky), ("steady", vec![Script::Yield(vec![])])],
    )
    .await;
    let f = report.sources.iter().find(|s| s.source == "flaky").unwrap();
    assert_eq!(
        (f.counts.pulled, f.counts.accepted, f.counts.quarantined),
        (3, 1, 2)
    );
    assert_eq!(f.error, None, "bad input never fails a source");
    let q = hub.quarantine(Some("flaky"), false, 10).await.unwrap();
    let mut reasons: Vec<(String, String)> =
        q.into_iter().map(|r| (r.record_key, r.reason)).collect();
    reasons.sort();
    assert_eq!(reasons[0].0, "f2");
    assert!(reasons[0].1.contains("name"), "{reasons:?}");
    assert_eq!(
        reasons[1],
        (
            "input.csv:4".to_owned(),
            "a quote is never closed".to_owned()
        )
    );
}

#[tokio::test]
async fn follow_retries_a_failing_source_on_its_own_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let opener = Scripted::default();
    let flaky = vec![
        Script::Fail(unreachable),
        Script::Yield(vec![vec![person("f1", "张三", "13800138000")]]),
    ];

    for (name, s) in [("flaky", flaky), ("steady", steady())] {
        opener
            .scripts
            .lock()
            .unwrap()
            .insert(name.to_owned(), s.into());
    }
    // No retries within a run: the schedule is what tries the source again.
    let config = scripted_config(&dir.path().join("hub.db")).replace("retries = 2", "retries = 0");
    let mut hub = hub(&config).await.with_connectors(Arc::new(opener));
    type Round = Vec<(String, Option<String>)>;
    let rounds: Arc<Mutex<Vec<Round>>> = Arc::default();
    let done = Arc::new(tokio::sync::Notify::new());
    let (seen, finished) = (rounds.clone(), done.clone());
    let on_round = move |r: &tombolo_hub::Result<tombolo_hub::pipeline::RunReport>| {
        let report = r.as_ref().unwrap();
        let round: Round = report
            .sources
            .iter()
            .map(|s| {
                (
                    s.source.clone(),
                    s.error_class.map(|c| c.as_str().to_owned()),
                )
            })
            .collect();
        let recovered = round.iter().any(|(s, e)| s == "flaky" && e.is_none());
        seen.lock().unwrap().push(round);
        if recovered {
            finished.notify_one();
        }
    };
    let every = std::time::Duration::from_secs(3600);
    let stopped = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        hub.follow(every, false, on_round, done.notified()),
    )
    .await;
    assert!(
        stopped.is_ok(),
        "the failing source was not tried again within the interval"
    );
    let rounds = rounds.lock().unwrap().clone();
    let first = vec![
        ("flaky".to_owned(), Some("transient".to_owned())),
        ("steady".to_owned(), None),
    ];
    assert_eq!(
        rounds,
        vec![first, vec![("flaky".to_owned(), None)]],
        "only the failing source ran again"
    );
    assert_eq!(hub.crosswalk(EntityKind::Person).await.unwrap().len(), 2);
}
