//! The HTTP source: one page per batch, checkpointed per page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;
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
    /// A page of the run under way could not be read: `{since}` is not advanced at its end,
    /// so the next run asks for those records again.
    #[serde(default)]
    failed_pages: u64,
}

/// The longest `Retry-After` honoured: a server asking for more is retried after this.
pub const MAX_RETRY_AFTER_SECS: u64 = 300;

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
    /// Pages fetched this run, and the digests of their bodies and cursors (an API that
    /// ignores `page` or repeats a cursor is stopped, not followed forever).
    pages: u64,
    seen_pages: std::collections::HashSet<[u8; 32]>,
    seen_cursors: std::collections::HashSet<String>,
    /// The error that ends this run, returned once the batch saving the checkpoint is out.
    failed: Option<SourceError>,
    /// Pages in a row that could not be read; at [`MAX_FAILED_IN_A_ROW`] the run stops.
    failed_in_a_row: u32,
    /// With `full_listing`: the keys this run listed, and whether the listing is whole (the
    /// run started at the first page and every page and record was read).
    listed: Option<(std::collections::HashSet<String>, bool)>,
}

/// Unreadable pages in a row that end a run: an API that answers nothing usable (HTML error
/// pages, bodies over the cap) is not read page after page up to `max_pages`.
const MAX_FAILED_IN_A_ROW: u32 = 5;

enum Fetched {
    Json(Value, [u8; 32]),
    NotJson(String, String),
    End,
}

/// `a` is later than `b`: as timestamps when both parse as one, as text otherwise (so
/// `2024-01-03T00:00:00Z` and `2024-01-02 23:00:00+08:00` compare by time).
fn later(a: &str, b: &str) -> bool {
    match (instant(a), instant(b)) {
        (Some(x), Some(y)) => x > y,
        _ => a > b,
    }
}

fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.with_timezone(&Utc));
        }
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// The same origin (scheme, host, port): where a request's credentials may follow a redirect.
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn env(name: &str) -> SourceResult<String> {
    std::env::var(name)
        .map_err(|_| SourceError::fatal(format!("environment variable {name} is not set")))
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
                    SourceError::fatal(format!("{var} is not a valid header value"))
                })?,
            );
        }
        for (k, v) in &config.auth.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| SourceError::fatal(format!("header {k}")).caused_by(e))?;
            let value = v
                .parse()
                .map_err(|_| SourceError::fatal(format!("header {k}: invalid value")))?;
            headers.insert(name, value);
        }
        // Credentials never leave the origin: a redirect is followed only within it (no https →
        // http either), and no Referer carries the URL (and a token in it) anywhere.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let stays = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if stays {
                attempt.follow()
            } else {
                let to = tombolo_core::redact::url(attempt.url().as_str());
                attempt.error(format!("redirect to another origin ({to}) refused"))
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .default_headers(headers)
            .redirect(redirects)
            .referer(false)
            .build()
            .map_err(|e| SourceError::fatal("http client").caused_by(e))?;
        let cp: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::fatal("unreadable http checkpoint").caused_by(e))?,
            None => Checkpoint::default(),
        };
        // A listing is whole only from the first page on (not a run resumed mid-way).
        let fresh = cp.page.is_none() && cp.cursor.is_none();
        let listed = config
            .full_listing
            .then(|| (std::collections::HashSet::new(), fresh));
        Ok(Self {
            config: config.clone(),
            client,
            columns,
            cp,
            done: false,
            last_request: None,
            total: None,
            pages: 0,
            seen_pages: Default::default(),
            seen_cursors: Default::default(),
            failed: None,
            failed_in_a_row: 0,
            listed,
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
        let since = if self.config.full_listing {
            String::new()
        } else {
            self.cp.since.clone().unwrap_or_default()
        };
        vars.insert("since", since);
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

    /// Reads a body of at most `max_body_bytes`, never holding more; `Err` names the size.
    async fn body(&self, mut resp: reqwest::Response) -> SourceResult<Result<Vec<u8>, String>> {
        let cap = self.config.max_body_bytes;
        let too_big =
            |n: u64| format!("answer of {n} bytes or more is over max_body_bytes ({cap})");
        if let Some(n) = resp.content_length().filter(|n| *n > cap) {
            return Ok(Err(too_big(n)));
        }
        let mut body = Vec::new();
        loop {
            let chunk = resp.chunk().await.map_err(|e| {
                SourceError::transient(tombolo_core::redact::urls_in(&e.to_string()))
            })?;
            let Some(chunk) = chunk else { break };
            if (body.len() + chunk.len()) as u64 > cap {
                return Ok(Err(too_big((body.len() + chunk.len()) as u64)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Ok(body))
    }

    /// One GET with retries on transient failures (after the server's `Retry-After`, in
    /// seconds and at most [`MAX_RETRY_AFTER_SECS`], when it asks for longer than the backoff).
    async fn fetch(&mut self, url: &str, first_page: bool) -> SourceResult<Fetched> {
        let shown = tombolo_core::redact::url(url);
        let mut attempt = 0;
        loop {
            self.throttle().await;
            let outcome = self.client.get(url).send().await;
            let mut retry_after: Option<u64> = None;
            let retry_reason = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| s.min(MAX_RETRY_AFTER_SECS));
                    if status.is_success() {
                        let body = match self.body(resp).await? {
                            Ok(b) => b,
                            Err(reason) => return Ok(Fetched::NotJson(reason, String::new())),
                        };
                        let digest: [u8; 32] = sha2::Sha256::digest(&body).into();
                        return Ok(match serde_json::from_slice::<Value>(&body) {
                            Ok(v) => Fetched::Json(v, digest),
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
                        return Err(SourceError::fatal(format!("{shown}: HTTP {status}")));
                    }
                }
                Err(e) if e.is_redirect() => {
                    let text = tombolo_core::redact::urls_in(&tombolo_core::chain(&e));
                    return Err(SourceError::fatal(format!("{shown}: {text}")));
                }
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                    tombolo_core::redact::urls_in(&e.to_string())
                }
                Err(e) => {
                    let text = tombolo_core::redact::urls_in(&e.to_string());
                    return Err(SourceError::fatal(format!("{shown}: {text}")));
                }
            };
            attempt += 1;
            if attempt > self.config.max_retries {
                let message = format!(
                    "{shown}: {retry_reason}, after {} retries",
                    self.config.max_retries
                );
                return Err(match retry_after {
                    Some(retry_after_secs) => SourceError::Throttled {
                        message,
                        retry_after_secs,
                        cause: None,
                    },
                    None => SourceError::transient(message),
                });
            }
            // The server's `Retry-After` (seconds) when it is longer than the backoff.
            let delay = self
                .config
                .backoff_ms
                .saturating_mul(1 << (attempt - 1).min(10))
                .max(retry_after.unwrap_or(0).saturating_mul(1000));
            tracing::warn!(url = %shown, attempt, delay_ms = delay, reason = %retry_reason, "retrying");
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }

    fn record(&mut self, v: &Value, page_label: &str, index: usize) -> Pulled {
        let key = field(v, &self.config.key)
            .and_then(text)
            .filter(|k| !k.trim().is_empty());
        if let Some((keys, whole)) = self.listed.as_mut() {
            match &key {
                Some(k) => {
                    keys.insert(k.clone());
                }
                None => *whole = false,
            }
        }
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
                if self.cp.max_seen.as_ref().is_none_or(|m| later(seen, m)) {
                    self.cp.max_seen = Some(seen.clone());
                }
            }
        }
        Pulled::Record(r)
    }

    /// Closes the run: the next one starts from the first page, offering `{since}` — moved
    /// on only when every page of the run was read, so a failed page's records are asked for
    /// again.
    fn finish(&mut self) {
        self.done = true;
        self.cp.page = None;
        self.cp.cursor = None;
        let max_seen = self.cp.max_seen.take();
        if self.cp.failed_pages == 0 {
            if max_seen.is_some() {
                self.cp.since = max_seen;
            }
        } else {
            tracing::warn!(
                failed_pages = self.cp.failed_pages,
                "pages of this run could not be read: {{since}} stays where it was"
            );
        }
        self.cp.failed_pages = 0;
    }

    /// Ends the run on an API that pages without end: what was read is kept, `{since}` is not
    /// moved, the next run starts from the first page, and this run fails with `why` (returned
    /// by the call after the batch that saves that checkpoint).
    fn runaway(&mut self, why: String) {
        self.cp.failed_pages += 1;
        self.listed = None;
        self.finish();
        self.failed = Some(SourceError::fatal(why));
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let page = self.page();
        let first = match self.config.pagination {
            Pagination::Page { start, .. } => page == start,
            Pagination::Cursor { .. } => self.cp.cursor.is_none(),
        };
        let url = self.url();
        self.pages += 1;
        if self.pages > self.config.max_pages {
            self.runaway(format!(
                "more than max_pages ({}) pages in one run: the API does not stop paging",
                self.config.max_pages
            ));
            return Ok(Some(Batch {
                items: Vec::new(),
                checkpoint: serde_json::to_value(&self.cp).ok(),
            }));
        }
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
                self.cp.failed_pages += 1;
                self.failed_in_a_row += 1;
                if let Some((_, whole)) = self.listed.as_mut() {
                    *whole = false;
                }
                items.push(Pulled::Malformed(Malformed {
                    key: label.clone(),
                    reason: format!("{}: {reason}", tombolo_core::redact::url(&url)),
                    excerpt,
                }));
                match self.config.pagination {
                    _ if self.failed_in_a_row >= MAX_FAILED_IN_A_ROW => self.runaway(format!(
                        "{MAX_FAILED_IN_A_ROW} pages in a row could not be read; stopped"
                    )),
                    Pagination::Page { .. } => self.cp.page = Some(page + 1),
                    // Without the page there is no next cursor: the run ends here.
                    Pagination::Cursor { .. } => self.finish(),
                }
            }
            Fetched::Json(body, digest) => {
                self.failed_in_a_row = 0;
                if !self.seen_pages.insert(digest) {
                    self.runaway(format!(
                        "{label} is identical to an earlier page of this run: the API ignores \
                         the page parameter (or repeats pages); stopped"
                    ));
                    return Ok(Some(Batch {
                        items,
                        checkpoint: serde_json::to_value(&self.cp).ok(),
                    }));
                }
                let records = body.pointer(&self.config.records_pointer);
                let records: &[Value] = match records {
                    Some(Value::Array(a)) => a,
                    Some(Value::Null) | None => &[],
                    Some(_) => {
                        return Err(SourceError::fatal(format!(
                            "{}: {} is not an array",
                            tombolo_core::redact::url(&url),
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
                            Some(c) if !records.is_empty() => {
                                if !self.seen_cursors.insert(c.clone()) {
                                    // This page's records are kept; the run ends with the error.
                                    self.runaway(format!(
                                        "the API answered cursor {c:?} a second time in this \
                                         run; stopped"
                                    ));
                                } else {
                                    self.cp.cursor = Some(c);
                                }
                            }
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

    async fn listing(&mut self) -> SourceResult<Option<Vec<String>>> {
        Ok(match self.listed.take() {
            Some((keys, true)) if self.done => Some(keys.into_iter().collect()),
            Some(_) => {
                tracing::warn!("listing not whole (a page or record could not be read): no record is withdrawn this run");
                None
            }
            None => None,
        })
    }

    fn input_report(&self) -> Option<Value> {
        Some(serde_json::json!({
            "pages": self.pages,
            "since": self.cp.since,
        }))
    }
}
