//! Client of the Confluent Schema Registry REST API (also served by Redpanda, Karapace and
//! Apicurio's compatibility layer): register a subject version, look ids up, check
//! compatibility. Subjects follow the topic-name strategy: `<topic>-value`.

use serde::Deserialize;
use serde_json::json;

use crate::{Error, Result};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A registry client.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct IdAnswer {
    id: u32,
}

#[derive(Debug, Deserialize)]
struct CompatAnswer {
    is_compatible: bool,
}

#[derive(Debug, Deserialize)]
struct SchemaAnswer {
    schema: String,
}

/// A registered schema version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Registered {
    pub subject: String,
    pub id: u32,
    pub version: i32,
}

/// The registry did not answer. reqwest's message names the URL, so only its redacted text is
/// kept (a registry URL may carry credentials).
fn unreachable(e: reqwest::Error) -> Error {
    Error::RegistryUnreachable(tombolo_core::redact::urls_in(&tombolo_core::chain(&e)))
}

impl RegistryClient {
    pub fn new(base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(Error::RegistryClient)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// POSTs `{"schema": …}` to a path of the registry.
    async fn post_schema(&self, path: &str, schema: &str) -> Result<reqwest::Response> {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", CONTENT_TYPE)
            .json(&json!({ "schema": schema }))
            .send()
            .await
            .map_err(unreachable)
    }

    async fn error(resp: reqwest::Response) -> Error {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        Error::Registry(format!("HTTP {status}: {body}"))
    }

    /// Registers `schema` under `subject` (idempotent: an identical schema gets its existing id).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32> {
        let resp = self
            .post_schema(&format!("/subjects/{subject}/versions"), schema)
            .await?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(resp.json::<IdAnswer>().await.map_err(unreachable)?.id)
    }

    /// Whether `schema` is compatible with the subject's latest version (true for a new subject).
    pub async fn is_compatible(&self, subject: &str, schema: &str) -> Result<bool> {
        let resp = self
            .http
            .post(format!(
                "{}/compatibility/subjects/{subject}/versions/latest",
                self.base
            ))
            .header("Content-Type", CONTENT_TYPE)
            .json(&json!({ "schema": schema }))
            .send()
            .await
            .map_err(unreachable)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(true);
        }
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(resp
            .json::<CompatAnswer>()
            .await
            .map_err(unreachable)?
            .is_compatible)
    }

    /// The registered version of `schema` under `subject`, if it is registered.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<Option<Registered>> {
        let resp = self
            .post_schema(&format!("/subjects/{subject}"), schema)
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(Some(resp.json::<Registered>().await.map_err(unreachable)?))
    }

    /// The schema text registered with an id.
    pub async fn schema_by_id(&self, id: u32) -> Result<String> {
        let resp = self
            .http
            .get(format!("{}/schemas/ids/{id}", self.base))
            .send()
            .await
            .map_err(unreachable)?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(resp
            .json::<SchemaAnswer>()
            .await
            .map_err(unreachable)?
            .schema)
    }

    /// Checks compatibility (when asked) and registers; returns the schema id.
    pub async fn ensure(&self, subject: &str, schema: &str, check: bool) -> Result<u32> {
        if check && !self.is_compatible(subject, schema).await? {
            return Err(Error::Registry(format!(
                "schema for {subject} is not compatible with the registered one"
            )));
        }
        self.register(subject, schema).await
    }
}
