//! The one explicit registry of connectors: a tagged config enum and one `match`.
//! Adding a connector means a variant here and a crate under `connectors/`.

use serde::{Deserialize, Serialize};
use tombolo_connector_file::{CsvConfig, ExcelConfig, FileSource};
use tombolo_connector_http::{HttpConfig, HttpSource};
use tombolo_connector_sql::{SqlConfig, SqlSource};
use tombolo_core::{Source, SourceResult};

/// Opens a configured source's connector. The hub opens every source through one of these:
/// [`Registry`] by default; an embedding front end or a test can put another in its place
/// ([`crate::Hub::with_connectors`]), for a connector of its own or a scripted source.
#[async_trait::async_trait]
pub trait OpenSource: Send + Sync + std::fmt::Debug {
    /// Opens source `name`, configured as `connector`, to read `columns` from `checkpoint`.
    async fn open(
        &self,
        name: &str,
        connector: &ConnectorConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Box<dyn Source>>;
}

/// The connectors of this registry, by their config.
#[derive(Debug, Clone, Copy, Default)]
pub struct Registry;

#[async_trait::async_trait]
impl OpenSource for Registry {
    async fn open(
        &self,
        _name: &str,
        connector: &ConnectorConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Box<dyn Source>> {
        connector.open(columns, checkpoint).await
    }
}

/// `[sources.connector]`: which system a source is read from; `kind` selects the connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectorConfig {
    /// PostgreSQL or MySQL/MariaDB table or query (`connectors/sql`).
    Sql(SqlConfig),
    /// CSV export(s) (`connectors/file`).
    Csv(CsvConfig),
    /// Excel sheet(s) (`connectors/file`).
    Excel(ExcelConfig),
    /// Paged JSON HTTP API (`connectors/http`).
    Http(HttpConfig),
}

impl ConnectorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::Sql(_) => "sql",
            ConnectorConfig::Csv(_) => "csv",
            ConnectorConfig::Excel(_) => "excel",
            ConnectorConfig::Http(_) => "http",
        }
    }

    /// The key column, which is read besides the mapped columns.
    pub fn key_column(&self) -> &str {
        match self {
            ConnectorConfig::Sql(c) => &c.key,
            ConnectorConfig::Csv(c) => &c.key,
            ConnectorConfig::Excel(c) => &c.key,
            ConnectorConfig::Http(c) => &c.key,
        }
    }

    /// Opens the connector to read `columns`, resuming from `checkpoint`.
    pub async fn open(
        &self,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Box<dyn Source>> {
        Ok(match self {
            ConnectorConfig::Sql(c) => Box::new(SqlSource::open(c, columns, checkpoint).await?),
            ConnectorConfig::Csv(c) => Box::new(FileSource::csv(c, columns, checkpoint)?),
            ConnectorConfig::Excel(c) => Box::new(FileSource::excel(c, columns, checkpoint)?),
            ConnectorConfig::Http(c) => Box::new(HttpSource::open(c, columns, checkpoint)?),
        })
    }
}
