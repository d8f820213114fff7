//! The schema-registry client against a local stand-in serving the Confluent REST endpoints,
//! and a hub run that frames its values in the Confluent wire format.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tombolo_publish::schema_registry::RegistryClient;

use crate::support::*;

#[derive(Default)]
struct Registry {
    /// id → schema text
    schemas: Vec<String>,
    /// subject → ids of its versions
    subjects: BTreeMap<String, Vec<u32>>,
}

type Shared = Arc<Mutex<Registry>>;

fn canonical(s: &str) -> String {
    serde_json::from_str::<Value>(s)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

async fn register(
    State(r): State<Shared>,
    UrlPath(subject): UrlPath<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let schema = canonical(body["schema"].as_str().unwrap_or_default());
    let mut r = r.lock().unwrap();
    let id = match r.schemas.iter().position(|s| *s == schema) {
        Some(i) => i as u32 + 1,
        None => {
            r.schemas.push(schema);
            r.schemas.len() as u32
        }
    };
    let versions = r.subjects.entry(subject).or_default();
    if !versions.contains(&id) {
        versions.push(id);
    }
    Json(json!({ "id": id }))
}

async fn lookup(
    State(r): State<Shared>,
    UrlPath(subject): UrlPath<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let schema = canonical(body["schema"].as_str().unwrap_or_default());
    let r = r.lock().unwrap();
    let versions = r.subjects.get(&subject).ok_or(StatusCode::NOT_FOUND)?;
    let (version, id) = versions
        .iter()
        .enumerate()
        .find(|(_, id)| r.schemas[**id as usize - 1] == schema)
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(
        json!({ "subject": subject, "id": id, "version": version + 1, "schema": schema }),
    ))
}

/// Compatible when every field of the latest version is still there (a backward-compatible
/// evolution in this stand-in's simple reading).
async fn compatible(
    State(r): State<Shared>,
    UrlPath(subject): UrlPath<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let r = r.lock().unwrap();
    let latest = r
        .subjects
        .get(&subject)
        .and_then(|v| v.last())
        .ok_or(StatusCode::NOT_FOUND)?;
    let old: Value = serde_json::from_str(&r.schemas[*latest as usize - 1]).unwrap_or_default();
    let new: Value =
        serde_json::from_str(body["schema"].as_str().unwrap_or_default()).unwrap_or_default();
    let names = |v: &Value| -> Vec<String> {
        v["fields"]
            .as_array()
            .map(|f| f.iter().map(|x| x["name"].to_string()).collect())
            .unwrap_or_default()
    };
    let new_names = names(&new);
    Ok(Json(
        json!({ "is_compatible": names(&old).iter().all(|n| new_names.contains(n)) }),
    ))
}

async fn by_id(
    State(r): State<Shared>,
    UrlPath(id): UrlPath<u32>,
) -> Result<Json<Value>, StatusCode> {
    let r = r.lock().unwrap();
    let s = r
        .schemas
        .get(id as usize - 1)
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(json!({ "schema": s })))
}

async fn standin() -> String {
    let app = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/subjects/{subject}", post(lookup))
        .route(
            "/compatibility/subjects/{subject}/versions/latest",
            post(compatible),
        )
        .route("/schemas/ids/{id}", get(by_id))
        .with_state(Shared::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn registry_client_speaks_the_confluent_api() {
    let url = standin().await;
    let c = RegistryClient::new(&url).unwrap();
    let person = include_str!("../../schemas/person.avsc");
    let org = include_str!("../../schemas/organization.avsc");
    assert!(
        c.is_compatible("t-value", person).await.unwrap(),
        "a new subject accepts any schema"
    );
    let id = c.register("t-value", person).await.unwrap();
    assert_eq!(
        c.register("t-value", person).await.unwrap(),
        id,
        "registering again is idempotent"
    );
    let found = c.lookup("t-value", person).await.unwrap().unwrap();
    assert_eq!((found.id, found.version), (id, 1));
    assert_eq!(c.lookup("t-value", org).await.unwrap(), None);
    assert_eq!(
        canonical(&c.schema_by_id(id).await.unwrap()),
        canonical(person)
    );
    assert!(
        !c.is_compatible("t-value", org).await.unwrap(),
        "dropping the person fields is incompatible"
    );
    assert!(c.ensure("t-value", org, true).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn hub_frames_values_for_the_registry() {
    let url = standin().await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("market.csv");
    std::fs::copy(islands_dir().join("market_entities.csv"), &data).unwrap();
    let prefix = unique("e2e.registry");
    let config = tmp.path().join("tombolo.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = {brokers:?}\ntopic_prefix = {prefix:?}\n[kafka.registry]\nurl = {url:?}\n\n\
             [[sources]]\nname = \"market\"\n[sources.connector]\nkind = \"csv\"\npath = \"market.csv\"\nkey = \"统一社会信用代码\"\n\
             [sources.mapping]\nentity = \"organization\"\n[sources.mapping.fields]\ncredit_code = {{ from = \"统一社会信用代码\" }}\nname = {{ from = \"企业名称\" }}\n\n\
             [[departments]]\nname = \"tax\"\npurpose = \"reconciliation\"\nkey_env = \"E2E_TAX_KEY\"\n\
             [departments.grants.organization]\nname = {{ treatment = \"clear\" }}\ncredit_code = {{ treatment = \"pseudonym\" }}\n",
            brokers = brokers()
        ),
    )
    .unwrap();
    let store = format!("sqlite:{}", tmp.path().join("t.db").display());
    let env = BTreeMap::from([("E2E_TAX_KEY".to_owned(), "t".repeat(40))]);
    ok(&mut tombolo(&config, &store, &env, &["run"]));
    let messages = consume(&format!("{prefix}.organization.v1"), "organization");
    assert_eq!(messages.len(), 800);
    let c = RegistryClient::new(&url).unwrap();
    let registered = c
        .lookup(
            &format!("{prefix}.organization.v1-value"),
            include_str!("../../schemas/organization.avsc"),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(messages
        .iter()
        .all(|m| m["framing"] == "registry" && m["schema_id"] == registered.id));
    // `tombolo tail` decodes the same messages as the independent consumer.
    let topic = format!("{prefix}.organization.v1");
    let tailed = ok(&mut tombolo(
        &config,
        &store,
        &env,
        &["tail", &topic, "--max", "800", "--idle", "30"],
    ));
    let ours = projection(&lines(&tailed), &["name", "version"]);
    assert_eq!(ours.len(), 800);
    assert_eq!(ours, projection(&messages, &["name", "version"]));

    // The department's topic: its derived schema registered like the hub's, values framed
    // with its id, decoded by the independent consumer with the schema `tombolo schema` prints.
    let dept_topic = format!("{topic}.dept.tax");
    let schema_text = ok(&mut tombolo(
        &config,
        &store,
        &env,
        &["schema", "organization", "--department", "tax"],
    ));
    let schema_file = tmp.path().join("tax.avsc");
    std::fs::write(&schema_file, &schema_text).unwrap();
    let dept = consume_raw(&dept_topic, &[&schema_file]).unwrap();
    assert_eq!(dept.len(), 800);
    let registered = c
        .lookup(&format!("{dept_topic}-value"), schema_text.trim())
        .await
        .unwrap()
        .unwrap();
    assert!(dept
        .iter()
        .all(|m| m["framing"] == "registry" && m["schema_id"] == registered.id));
    assert!(dept.iter().all(|m| m["value"]["credit_code"]
        .as_str()
        .is_some_and(|p| p.len() == 64)));
    // `tombolo tail` decodes the department topic with the same schema.
    let tailed = ok(&mut tombolo(
        &config,
        &store,
        &env,
        &["tail", &dept_topic, "--max", "800", "--idle", "30"],
    ));
    let ours = projection(&lines(&tailed), &["credit_code"]);
    assert_eq!(ours.len(), 800);
    assert_eq!(ours, projection(&dept, &["credit_code"]));
}

/// JSON lines, parsed.
fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Each message (`tombolo tail`'s or the independent consumer's: both `{"key", "value"}`) as
/// its key and the named value fields (as JSON text), every one of which must be present.
fn projection(
    messages: &[serde_json::Value],
    fields: &[&str],
) -> std::collections::BTreeSet<Vec<String>> {
    messages
        .iter()
        .map(|m| {
            let mut row = vec![&m["key"]];
            row.extend(fields.iter().map(|f| &m["value"][*f]));
            assert!(row.iter().all(|v| !v.is_null()), "{m}");
            row.into_iter().map(ToString::to_string).collect()
        })
        .collect()
}
