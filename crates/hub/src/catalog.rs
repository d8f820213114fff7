//! `tombolo catalog`: the data catalogue, from the configuration alone. Per source, which
//! columns the hub reads and which unified field each feeds (with its classification); per
//! department, its purpose and what it may receive, field by field with the treatment. Minimal
//! collection made visible: a column not listed is never read.

use serde::Serialize;
use tombolo_core::{Classification, EntityKind};
use tombolo_privacy::Treatment;

use crate::{Config, Result};

/// The catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub sources: Vec<SourceEntry>,
    pub departments: Vec<DepartmentEntry>,
}

/// What the hub reads from one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceEntry {
    pub name: String,
    pub connector: &'static str,
    pub entity: EntityKind,
    /// The record key column (read, stored as the record key, never published).
    pub key: String,
    /// The soft-delete marker column, if the mapping names one (read, not stored).
    pub deleted_marker: Option<String>,
    pub reads: Vec<ColumnEntry>,
}

/// A column and the unified field it feeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnEntry {
    pub column: String,
    pub field: String,
    pub classification: Option<Classification>,
}

/// What one department may receive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentEntry {
    pub name: String,
    pub purpose: String,
    pub principal: Option<String>,
    pub receives: Vec<KindEntry>,
    /// Entity kinds of the hub it receives nothing of.
    pub receives_nothing_of: Vec<EntityKind>,
}

/// The fields of one kind a department receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindEntry {
    pub entity: EntityKind,
    pub fields: Vec<GrantEntry>,
}

/// One granted field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantEntry {
    pub field: String,
    pub classification: Option<Classification>,
    pub treatment: Treatment,
}

fn classification(entity: EntityKind, field: &str) -> Option<Classification> {
    tombolo_core::fields::spec(entity, field).map(|s| s.classification)
}

impl Catalog {
    pub fn of(config: &Config) -> Result<Self> {
        let codes = config.code_tables();
        let mut sources = Vec::new();
        let mut kinds: Vec<EntityKind> = Vec::new();
        for s in &config.sources {
            let m = tombolo_normalize::Mapping::compile(&s.mapping, &codes)?;
            let entity = m.entity();
            kinds.push(entity);
            sources.push(SourceEntry {
                name: s.name.clone(),
                connector: s.connector.kind(),
                entity,
                key: s.connector.key_column().to_owned(),
                deleted_marker: s.mapping.deleted.as_ref().map(|d| d.column.clone()),
                reads: m
                    .feeds()
                    .into_iter()
                    .map(|(column, field)| ColumnEntry {
                        classification: classification(entity, &field),
                        column,
                        field,
                    })
                    .collect(),
            });
        }
        kinds.sort();
        kinds.dedup();
        let departments = config
            .departments
            .iter()
            .map(|d| {
                let receives: Vec<KindEntry> = d
                    .grants
                    .iter()
                    .filter(|(_, g)| !g.is_empty())
                    .map(|(entity, g)| KindEntry {
                        entity: *entity,
                        fields: g
                            .iter()
                            .map(|(field, t)| GrantEntry {
                                field: field.clone(),
                                classification: classification(*entity, field),
                                treatment: t.clone(),
                            })
                            .collect(),
                    })
                    .collect();
                DepartmentEntry {
                    name: d.name.clone(),
                    purpose: d.purpose.clone(),
                    principal: d.principal.clone(),
                    receives_nothing_of: kinds
                        .iter()
                        .copied()
                        .filter(|k| !receives.iter().any(|r| r.entity == *k))
                        .collect(),
                    receives,
                }
            })
            .collect();
        Ok(Self {
            sources,
            departments,
        })
    }

    /// The catalogue as a Markdown document.
    pub fn markdown(&self) -> String {
        let class = |c: &Option<Classification>| {
            c.map_or("unknown".to_owned(), |c| format!("{c:?}").to_lowercase())
        };
        let mut out = String::from("# Data catalogue\n\n## Sources\n");
        for s in &self.sources {
            out.push_str(&format!(
                "\n### {} ({}, {})\n\nRecord key: column `{}`.",
                s.name, s.connector, s.entity, s.key
            ));
            if let Some(d) = &s.deleted_marker {
                out.push_str(&format!(" Soft-delete marker: column `{d}`."));
            }
            out.push_str(" No other column is read.\n\n| column | unified field | classification |\n|---|---|---|\n");
            for c in &s.reads {
                out.push_str(&format!(
                    "| `{}` | `{}` | {} |\n",
                    c.column,
                    c.field,
                    class(&c.classification)
                ));
            }
        }
        out.push_str("\n## Departments\n");
        if self.departments.is_empty() {
            out.push_str("\nNo department is granted anything.\n");
        }
        for d in &self.departments {
            out.push_str(&format!("\n### {}\n\nPurpose: {}.", d.name, d.purpose));
            if let Some(p) = &d.principal {
                out.push_str(&format!(" Principal: `{p}`."));
            }
            out.push('\n');
            for k in &d.receives {
                out.push_str(&format!(
                    "\n{}:\n\n| field | classification | treatment |\n|---|---|---|\n",
                    k.entity
                ));
                for f in &k.fields {
                    out.push_str(&format!(
                        "| `{}` | {} | {} |\n",
                        f.field,
                        class(&f.classification),
                        describe(&f.treatment)
                    ));
                }
            }
            if !d.receives_nothing_of.is_empty() {
                let kinds: Vec<String> = d
                    .receives_nothing_of
                    .iter()
                    .map(|k| k.to_string())
                    .collect();
                out.push_str(&format!("\nReceives nothing of: {}.\n", kinds.join(", ")));
            }
        }
        out
    }
}

fn describe(t: &Treatment) -> String {
    match t {
        Treatment::Clear {
            justification: Some(j),
        } => format!("clear (justification: {j})"),
        Treatment::Clear {
            justification: None,
        } => "clear".to_owned(),
        Treatment::Mask {
            keep_start,
            keep_end,
        } => match (keep_start, keep_end) {
            (None, None) => "mask".to_owned(),
            (s, e) => format!(
                "mask (keep first {}, last {})",
                s.map_or("default".to_owned(), |s| s.to_string()),
                e.map_or("default".to_owned(), |e| e.to_string())
            ),
        },
        Treatment::Generalize { to } => {
            format!("generalize to {}", format!("{to:?}").to_lowercase())
        }
        Treatment::Pseudonym { joinable: true } => "pseudonym (shared key: joinable)".to_owned(),
        Treatment::Pseudonym { joinable: false } => "pseudonym (department key)".to_owned(),
        Treatment::Drop => "drop".to_owned(),
    }
}
