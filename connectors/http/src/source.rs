//! The HTTP source: one page per batch, checkpointed per page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tombolo_core::{Batch, Malformed, Pulled, RawRecord, Source, SourceError, SourceResult};

use crate::template::fill;
use crate::{HttpConfig, Pagination};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// Next page (page pagination) during a run.
    #[serde(default)]
    page: Option<u64>,
    /// Next cursor (cursor pagination) during a run.
    #[serde(default)]
    cursor: Option<String>,
    /// Largest `updated_field` value seen by completed runs: the `{since}` of the next run.
    #[serde(default)]
    since: Option<String>,
    /// Largest `updated_field` value seen by the run under way.
    #[serde(default)]
    max_seen: Option<String>,
}

/// A connector over a paged JSON API.
#[derive(Debug)]
pub struct HttpSource {
    config: HttpConfig,
    client: reqwest::Client,
    columns: Vec<String>,
    cp: Checkpoint,
    done: bool,
    last_request: Option<Instant>,
    total: Option<u64>,
}

enum Fetched {
    Json(Value),
    NotJson(String, String),
    End,
}

fn env(name: &str) -> SourceResult<String> {
    std::env::var(name)
        .map_err(|_| SourceError::Fatal(format!("environment variable {name} is not set")))
}

fn expand(s: &str) -> SourceResult<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else { break };
        out.push_str(&env(&rest[i + 2..i + j])?);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A field of a record: a top-level name, or a JSON pointer starting with `/`.
fn field<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        record.pointer(name)
    } else {
        record.get(name)
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

impl HttpSource {
    pub fn open(
        config: &HttpConfig,
        columns: Vec<String>,
        checkpoint: Option<Value>,
    ) -> SourceResult<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(var) = &config.auth.bearer_env {
            let v = format!("Bearer {}", env(var)?);
            headers.insert(
                reqwest::header::AUTHORIZATION,
                v.parse().map_err(|_| {
                    SourceError::Fatal(format!("{var} is not a valid header value"))
                })?,
            );
        }
        for (k, v) in &config.auth.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| SourceError::Fatal(format!("header {k}: {e}")))?;
            let value = expand(v)?
                .parse()
                .map_err(|_| SourceError::Fatal(format!("header {k}: invalid value")))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .default_headers(headers)
            .build()
            .map_err(|e| SourceError::Fatal(format!("http client: {e}")))?;
        let cp: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::Fatal(format!("unreadable http checkpoint: {e}")))?,
            None => Checkpoint::default(),
        };
        Ok(Self {
            config: config.clone(),
            client,
            columns,
            cp,
            done: false,
            last_request: None,
            total: None,
        })
    }

    fn page(&self) -> u64 {
        match self.config.pagination {
            Pagination::Page { start, .. } => self.cp.page.unwrap_or(start),
            Pagination::Cursor { .. } => 0,
        }
    }

    fn url(&self) -> String {
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        if let Pagination::Page { start, size } = self.config.pagination {
            let page = self.page();
            vars.insert("page", page.to_string());
            vars.insert("size", size.to_string());
            vars.insert("offset", ((page - start.min(page)) * size).to_string());
        }
        vars.insert("cursor", self.cp.cursor.clone().unwrap_or_default());
        vars.insert("since", self.cp.since.clone().unwrap_or_default());
        fill(&self.config.url, &vars)
    }

    async fn throttle(&mut self) {
        if let (Some(rate), Some(last)) = (self.config.rate_limit_per_sec, self.last_request) {
            if rate > 0.0 {
                let gap = Duration::from_secs_f64(1.0 / rate);
                let elapsed = last.elapsed();
                if elapsed < gap {
                    tokio::time::sleep(gap - elapsed).await;
                }
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// One GET with retries on transient failures.
    async fn fetch(&mut self, url: &str, first_page: bool) -> SourceResult<Fetched> {
        let mut attempt = 0;
        loop {
            self.throttle().await;
            let outcome = self.client.get(url).send().await;
            let retry_reason = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        let body = resp
                            .bytes()
                            .await
                            .map_err(|e| SourceError::Transient(format!("{url}: {e}")))?;
                        return Ok(match serde_json::from_slice::<Value>(&body) {
                            Ok(v) => Fetched::Json(v),
                            Err(e) => Fetched::NotJson(
                                format!("not JSON: {e}"),
                                String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned(),
                            ),
                        });
                    }
                    if status == StatusCode::NOT_FOUND && !first_page {
                        return Ok(Fetched::End);
                    }
                    if status.is_server_error()
                        || status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT
                    {
                        format!("HTTP {status}")
                    } else {
                        return Err(SourceError::Fatal(format!("{url}: HTTP {status}")));
                    }
                }
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => e.to_string(),
                Err(e) => return Err(SourceError::Fatal(format!("{url}: {e}"))),
            };
            attempt += 1;
            if attempt > self.config.max_retries {
                return Err(SourceError::Transient(format!(
                    "{url}: {retry_reason}, after {} retries",
                    self.config.max_retries
                )));
            }
            let delay = self
                .config
                .backoff_ms
                .saturating_mul(1 << (attempt - 1).min(10));
            tracing::warn!(url, attempt, delay_ms = delay, reason = %retry_reason, "retrying");
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }

    fn record(&mut self, v: &Value, page_label: &str, index: usize) -> Pulled {
        let key = field(v, &self.config.key)
            .and_then(text)
            .filter(|k| !k.trim().is_empty());
        let Some(key) = key else {
            return Pulled::Malformed(Malformed {
                key: format!("{page_label}#{index}"),
                reason: format!("record without key field {:?}", self.config.key),
                excerpt: v.to_string().chars().take(120).collect(),
            });
        };
        let mut r = RawRecord::new(key);
        for c in &self.columns {
            r.fields.insert(c.clone(), field(v, c).and_then(text));
        }
        if let Some(u) = &self.config.updated_field {
            r.observed_at = field(v, u).and_then(text);
            if let Some(seen) = &r.observed_at {
                if self.cp.max_seen.as_ref().is_none_or(|m| seen > m) {
                    self.cp.max_seen = Some(seen.clone());
                }
            }
        }
        Pulled::Record(r)
    }

    /// Closes the run: the next one starts from the first page, offering `{since}`.
    fn finish(&mut self) {
        self.done = true;
        self.cp.page = None;
        self.cp.cursor = None;
        if self.cp.max_seen.is_some() {
            self.cp.since = self.cp.max_seen.take();
        }
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        if self.done {
            return Ok(None);
        }
        let page = self.page();
        let first = match self.config.pagination {
            Pagination::Page { start, .. } => page == start,
            Pagination::Cursor { .. } => self.cp.cursor.is_none(),
        };
        let url = self.url();
        let label = match &self.config.pagination {
            Pagination::Page { .. } => format!("page {page}"),
            Pagination::Cursor { .. } => {
                format!("cursor {}", self.cp.cursor.clone().unwrap_or_default())
            }
        };
        let mut items = Vec::new();
        match self.fetch(&url, first).await? {
            Fetched::End => self.finish(),
            Fetched::NotJson(reason, excerpt) => {
                items.push(Pulled::Malformed(Malformed {
                    key: label.clone(),
                    reason: format!("{url}: {reason}"),
                    excerpt,
                }));
                match self.config.pagination {
                    Pagination::Page { .. } => self.cp.page = Some(page + 1),
                    // Without the page there is no next cursor: the run ends here.
                    Pagination::Cursor { .. } => self.finish(),
                }
            }
            Fetched::Json(body) => {
                let records = body.pointer(&self.config.records_pointer);
                let records: &[Value] = match records {
                    Some(Value::Array(a)) => a,
                    Some(Value::Null) | None => &[],
                    Some(_) => {
                        return Err(SourceError::Fatal(format!(
                            "{url}: {} is not an array",
                            self.config.records_pointer
                        )));
                    }
                };
                if self.total.is_none() {
                    self.total = self
                        .config
                        .total_pointer
                        .as_deref()
                        .and_then(|p| body.pointer(p))
                        .and_then(Value::as_u64);
                }
                for (i, v) in records.iter().enumerate() {
                    let item = self.record(v, &label, i);
                    items.push(item);
                }
                match &self.config.pagination {
                    Pagination::Page { start, size } => {
                        let read_so_far = (page - start + 1) * size;
                        let short = (records.len() as u64) < *size;
                        let past_total = self.total.is_some_and(|t| read_so_far >= t);
                        if records.is_empty() || short || past_total {
                            self.finish();
                        } else {
                            self.cp.page = Some(page + 1);
                        }
                    }
                    Pagination::Cursor { next_pointer } => {
                        match body
                            .pointer(next_pointer)
                            .and_then(text)
                            .filter(|c| !c.is_empty())
                        {
                            Some(c) if !records.is_empty() => self.cp.cursor = Some(c),
                            _ => self.finish(),
                        }
                    }
                }
            }
        }
        Ok(Some(Batch {
            items,
            checkpoint: serde_json::to_value(&self.cp).ok(),
        }))
    }

    fn size_hint(&self) -> Option<u64> {
        self.total
    }
}
