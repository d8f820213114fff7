//! The file source: lists the export files, skips those already read with the same content,
//! and yields their rows in batches with a checkpoint that can resume mid-file.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tombolo_core::{Batch, Malformed, Pulled, RawRecord, Source, SourceError, SourceResult};

use crate::table::Table;
use crate::{csv_table, excel_table, CsvConfig, Encoding, ExcelConfig};

#[derive(Debug, Clone)]
enum Format {
    Csv {
        encoding: Encoding,
        delimiter: char,
    },
    Excel {
        sheet: Option<String>,
        header_row: usize,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Checkpoint {
    /// Files read to the end: path → SHA-256 of the content read.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// A file read in part.
    #[serde(default)]
    current: Option<Position>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    path: String,
    hash: String,
    offset: usize,
}

#[derive(Debug)]
struct Current {
    path: String,
    hash: String,
    items: VecDeque<Pulled>,
    offset: usize,
}

/// A connector over CSV or Excel exports.
#[derive(Debug)]
pub struct FileSource {
    format: Format,
    key: String,
    updated: Option<String>,
    columns: Vec<String>,
    batch_size: usize,
    pending: VecDeque<PathBuf>,
    state: Checkpoint,
    current: Option<Current>,
}

fn list(path: &Path, extensions: &[&str]) -> SourceResult<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| SourceError::Fatal(format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| extensions.contains(&x.to_lowercase().as_str()))
            })
            .collect();
        files.sort();
        Ok(files)
    } else if path.is_file() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(SourceError::Fatal(format!(
            "{}: no such file or directory",
            path.display()
        )))
    }
}

impl FileSource {
    /// Opens a CSV source reading `columns` (those its mapping names) from the checkpoint.
    pub fn csv(
        config: &CsvConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Self> {
        let format = Format::Csv {
            encoding: config.encoding,
            delimiter: config.delimiter,
        };
        let files = list(&config.path, &["csv", "txt"])?;
        Self::new(
            format,
            files,
            &config.key,
            config.updated_column.clone(),
            columns,
            config.batch_size,
            checkpoint,
        )
    }

    /// Opens an Excel source.
    pub fn excel(
        config: &ExcelConfig,
        columns: Vec<String>,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Self> {
        let format = Format::Excel {
            sheet: config.sheet.clone(),
            header_row: config.header_row,
        };
        let files = list(&config.path, &["xlsx", "xlsm", "xls", "ods"])?;
        Self::new(
            format,
            files,
            &config.key,
            config.updated_column.clone(),
            columns,
            config.batch_size,
            checkpoint,
        )
    }

    fn new(
        format: Format,
        files: Vec<PathBuf>,
        key: &str,
        updated: Option<String>,
        columns: Vec<String>,
        batch_size: usize,
        checkpoint: Option<serde_json::Value>,
    ) -> SourceResult<Self> {
        let state: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::Fatal(format!("unreadable file checkpoint: {e}")))?,
            None => Checkpoint::default(),
        };
        Ok(Self {
            format,
            key: key.to_owned(),
            updated,
            columns,
            batch_size: batch_size.max(1),
            pending: files.into(),
            state,
            current: None,
        })
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut cp = self.state.clone();
        cp.current = self.current.as_ref().map(|c| Position {
            path: c.path.clone(),
            hash: c.hash.clone(),
            offset: c.offset,
        });
        serde_json::to_value(cp).unwrap_or(serde_json::Value::Null)
    }

    fn table(&self, path: &Path, bytes: &[u8]) -> Result<Table, String> {
        match &self.format {
            Format::Csv {
                encoding,
                delimiter,
            } => csv_table::read(bytes, *encoding, *delimiter),
            Format::Excel { sheet, header_row } => {
                excel_table::read(path, sheet.as_deref(), *header_row)
            }
        }
    }

    /// Reads the next changed file into `self.current`; false when no file is left.
    fn open_next(&mut self) -> SourceResult<bool> {
        while let Some(path) = self.pending.pop_front() {
            let bytes = std::fs::read(&path)
                .map_err(|e| SourceError::Transient(format!("{}: {e}", path.display())))?;
            let hash = hex::encode(Sha256::digest(&bytes));
            let name = path.display().to_string();
            if self.state.files.get(&name) == Some(&hash) {
                continue;
            }
            let resume = self
                .state
                .current
                .take()
                .filter(|p| p.path == name && p.hash == hash)
                .map(|p| p.offset)
                .unwrap_or(0);
            let items = match self.table(&path, &bytes) {
                Ok(table) => self.pull_rows(&name, table)?,
                Err(reason) => VecDeque::from([Pulled::Malformed(Malformed {
                    key: name.clone(),
                    reason,
                    excerpt: String::new(),
                })]),
            };
            let mut items = items;
            items.drain(..resume.min(items.len()));
            self.current = Some(Current {
                path: name,
                hash,
                items,
                offset: resume,
            });
            return Ok(true);
        }
        Ok(false)
    }

    fn pull_rows(&self, name: &str, table: Table) -> SourceResult<VecDeque<Pulled>> {
        let index = |col: &str| table.headers.iter().position(|h| h == col);
        let key_idx = index(&self.key).ok_or_else(|| {
            SourceError::Fatal(format!("{name}: key column {:?} not in header", self.key))
        })?;
        let mut cols = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let i = index(c).ok_or_else(|| {
                SourceError::Fatal(format!(
                    "{name}: mapped column {c:?} not in header {:?}",
                    table.headers
                ))
            })?;
            cols.push((c.clone(), i));
        }
        let updated_idx = self.updated.as_deref().and_then(index);
        let file = Path::new(name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(table
            .rows
            .into_iter()
            .map(|row| {
                let locator = format!("{file}:{}", row.line);
                match row.cells {
                    Err(reason) => Pulled::Malformed(Malformed {
                        key: locator,
                        reason,
                        excerpt: row.excerpt,
                    }),
                    Ok(cells) => match cells.get(key_idx).cloned().flatten() {
                        None => Pulled::Malformed(Malformed {
                            key: locator,
                            reason: format!("empty key column {:?}", self.key),
                            excerpt: row.excerpt,
                        }),
                        Some(key) => {
                            let mut r = RawRecord::new(key.trim());
                            for (c, i) in &cols {
                                r.fields.insert(c.clone(), cells.get(*i).cloned().flatten());
                            }
                            r.observed_at =
                                updated_idx.and_then(|i| cells.get(i).cloned().flatten());
                            Pulled::Record(r)
                        }
                    },
                }
            })
            .collect())
    }
}

#[async_trait]
impl Source for FileSource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        if self.current.is_none() && !self.open_next()? {
            return Ok(None);
        }
        let Some(cur) = self.current.as_mut() else {
            return Ok(None);
        };
        let n = self.batch_size.min(cur.items.len());
        let items: Vec<Pulled> = cur.items.drain(..n).collect();
        cur.offset += n;
        if cur.items.is_empty() {
            self.state.files.insert(cur.path.clone(), cur.hash.clone());
            self.current = None;
        }
        Ok(Some(Batch {
            items,
            checkpoint: Some(self.checkpoint()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(path: &Path) -> CsvConfig {
        CsvConfig {
            path: path.to_path_buf(),
            key: "id".into(),
            encoding: Encoding::Auto,
            delimiter: ',',
            updated_column: None,
            batch_size: 2,
        }
    }

    async fn drain(src: &mut FileSource) -> (Vec<Pulled>, Option<serde_json::Value>) {
        let mut all = Vec::new();
        let mut cp = None;
        while let Some(b) = src.next_batch().await.unwrap() {
            all.extend(b.items);
            cp = b.checkpoint;
        }
        (all, cp)
    }

    #[tokio::test]
    async fn same_export_twice_is_a_no_op_and_changes_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "id,name,secret\n1,张三,x\n2,李四,y\n3,王五,z\n").unwrap();
        let cols = vec!["name".to_owned()];
        let mut s = FileSource::csv(&cfg(&f), cols.clone(), None).unwrap();
        let (items, cp) = drain(&mut s).await;
        assert_eq!(items.len(), 3);
        let Pulled::Record(r) = &items[0] else {
            panic!("record expected")
        };
        assert_eq!(r.get("name"), Some("张三"));
        assert!(
            !r.fields.contains_key("secret"),
            "unmapped columns are never read"
        );
        let mut s = FileSource::csv(&cfg(&f), cols.clone(), cp.clone()).unwrap();
        assert!(drain(&mut s).await.0.is_empty());
        std::fs::write(&f, "id,name,secret\n1,张三,x\n2,李四四,y\n3,王五,z\n").unwrap();
        let mut s = FileSource::csv(&cfg(&f), cols, cp).unwrap();
        assert_eq!(drain(&mut s).await.0.len(), 3);
    }

    #[tokio::test]
    async fn resumes_mid_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n").unwrap();
        let cols = vec!["name".to_owned()];
        let mut s = FileSource::csv(&cfg(&f), cols.clone(), None).unwrap();
        let first = s.next_batch().await.unwrap().unwrap();
        assert_eq!(first.items.len(), 2);
        let mut s = FileSource::csv(&cfg(&f), cols, first.checkpoint).unwrap();
        let (rest, _) = drain(&mut s).await;
        let keys: Vec<String> = rest
            .iter()
            .filter_map(|p| {
                if let Pulled::Record(r) = p {
                    Some(r.key.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(keys, vec!["3", "4", "5"]);
    }

    #[tokio::test]
    async fn malformed_rows_are_items_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, b"id,name\n1,a\n2\n,c\n4,\xFF\n5,e\n").unwrap();
        let mut s = FileSource::csv(
            &CsvConfig {
                encoding: Encoding::Utf8,
                ..cfg(&f)
            },
            vec!["name".to_owned()],
            None,
        )
        .unwrap();
        let (items, _) = drain(&mut s).await;
        assert_eq!(items.len(), 5);
        let bad: Vec<&Malformed> = items
            .iter()
            .filter_map(|p| {
                if let Pulled::Malformed(m) = p {
                    Some(m)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(bad.len(), 3);
        assert_eq!(bad[0].key, "a.csv:3");
        assert!(bad[1].reason.contains("empty key"));
        assert!(bad[2].reason.contains("invalid UTF-8"));
    }

    #[tokio::test]
    async fn missing_mapped_column_is_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "id,name\n1,a\n").unwrap();
        let mut s = FileSource::csv(&cfg(&f), vec!["nope".to_owned()], None).unwrap();
        assert!(matches!(s.next_batch().await, Err(SourceError::Fatal(_))));
    }
}
