//! The file source: lists the export files, skips those already read with the same content,
//! and yields their rows in batches with a checkpoint that can resume mid-file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tombolo_core::{Batch, Malformed, Pulled, RawRecord, Source, SourceError, SourceResult};

use crate::csv_table::{self, CsvOptions};
use crate::excel_table::{self, ExcelLimits};
use crate::survey::{detect, survey};
use crate::table::{FileStats, Row, RowStream};
use crate::{CsvConfig, Encoding, ExcelConfig};

#[derive(Debug, Clone)]
enum Format {
    Csv {
        encoding: Encoding,
        opts: CsvOptions,
        max_file_bytes: u64,
    },
    Excel {
        sheet: Option<String>,
        header_row: usize,
        limits: ExcelLimits,
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
    /// Rows (records and quarantined rows) of the file already stored.
    offset: usize,
}

/// The file being read: its rows come one at a time from a stream, or, when the whole file
/// was rejected, as one quarantined item.
#[derive(Debug)]
struct Current {
    path: String,
    hash: String,
    rows: Option<Box<dyn RowStream>>,
    key_idx: usize,
    cols: Vec<(String, usize)>,
    updated_idx: Option<usize>,
    rejected: Option<Malformed>,
    offset: usize,
    /// Index of this file's entry in `FileSource::report`.
    report: usize,
}

impl Current {
    fn new(path: String, hash: String, offset: usize, report: usize) -> Self {
        Self {
            path,
            hash,
            rows: None,
            key_idx: 0,
            cols: Vec::new(),
            updated_idx: None,
            rejected: None,
            offset,
            report,
        }
    }
}

/// A connector over CSV or Excel exports.
#[derive(Debug)]
pub struct FileSource {
    format: Format,
    key: String,
    updated: Option<String>,
    columns: Vec<String>,
    batch_size: usize,
    pending: std::collections::VecDeque<PathBuf>,
    state: Checkpoint,
    current: Option<Current>,
    report: Vec<FileStats>,
    snapshot: Option<Snapshot>,
    /// Symbolic links in a directory source, not followed (`follow_symlinks = false`).
    links: std::collections::HashSet<PathBuf>,
}

/// What a snapshot export lists this run (`snapshot = true`).
#[derive(Debug, Default)]
struct Snapshot {
    keys: std::collections::HashSet<String>,
    /// Every row of every file was read with its key (no row unreadable, no file rejected).
    complete: bool,
    /// A file changed or went away this run: only then can a record have been deleted.
    changed: bool,
    /// Files read before and unchanged: their keys are read at the end, when needed.
    unchanged: Vec<PathBuf>,
}

/// The files of a source, and those of them that are symbolic links found in a directory.
fn list(path: &Path, extensions: &[&str]) -> SourceResult<(Vec<PathBuf>, Vec<PathBuf>)> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| SourceError::fatal(path.display().to_string()).caused_by(e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| extensions.contains(&x.to_lowercase().as_str()))
            })
            .collect();
        files.sort();
        let links = files
            .iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()))
            .cloned()
            .collect();
        Ok((files, links))
    } else if path.is_file() {
        Ok((vec![path.to_path_buf()], Vec::new()))
    } else {
        Err(SourceError::fatal(format!(
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
        let delimiter = u8::try_from(config.delimiter).map_err(|_| {
            SourceError::fatal(format!(
                "delimiter {:?} is not a single byte",
                config.delimiter
            ))
        })?;
        let format = Format::Csv {
            encoding: config.encoding,
            opts: CsvOptions {
                encoding: config.encoding,
                delimiter,
                multiline: config.multiline,
                max_record_bytes: config.max_record_bytes.max(1),
                max_record_lines: config.max_record_lines.max(1),
            },
            max_file_bytes: config.max_file_bytes,
        };
        let (files, links) = list(&config.path, &["csv", "txt"])?;
        let links = if config.follow_symlinks {
            Vec::new()
        } else {
            links
        };
        Self::new(
            format,
            files,
            &config.key,
            config.updated_column.clone(),
            columns,
            config.batch_size,
            checkpoint,
            config.snapshot,
        )
        .map(|s| s.with_links(links))
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
            limits: ExcelLimits {
                max_inflated_bytes: config.max_inflated_bytes,
                max_cells: config.max_cells,
                max_record_bytes: config.max_record_bytes.max(1),
            },
        };
        let (files, links) = list(&config.path, &["xlsx", "xlsm", "xls", "ods"])?;
        let links = if config.follow_symlinks {
            Vec::new()
        } else {
            links
        };
        Self::new(
            format,
            files,
            &config.key,
            config.updated_column.clone(),
            columns,
            config.batch_size,
            checkpoint,
            config.snapshot,
        )
        .map(|s| s.with_links(links))
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        format: Format,
        files: Vec<PathBuf>,
        key: &str,
        updated: Option<String>,
        columns: Vec<String>,
        batch_size: usize,
        checkpoint: Option<serde_json::Value>,
        snapshot: bool,
    ) -> SourceResult<Self> {
        let mut state: Checkpoint = match checkpoint {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| SourceError::fatal("unreadable file checkpoint").caused_by(e))?,
            None => Checkpoint::default(),
        };
        // Files read before that are gone: their rows are no longer in the export.
        let listed: std::collections::HashSet<String> =
            files.iter().map(|p| p.display().to_string()).collect();
        let before = state.files.len();
        state.files.retain(|f, _| listed.contains(f));
        let snapshot = snapshot.then(|| Snapshot {
            complete: true,
            changed: state.files.len() != before,
            ..Snapshot::default()
        });
        Ok(Self {
            format,
            key: key.to_owned(),
            updated,
            columns,
            batch_size: batch_size.max(1),
            pending: files.into(),
            state,
            current: None,
            report: Vec::new(),
            snapshot,
            links: Default::default(),
        })
    }

    fn with_links(mut self, links: Vec<PathBuf>) -> Self {
        self.links = links.into_iter().collect();
        self
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

    /// Opens a file's row stream; `Err`: the file as a whole is unreadable or over a cap.
    fn rows(
        &self,
        path: &Path,
        stats: FileStats,
        sniff: &crate::survey::Survey,
    ) -> Result<Box<dyn RowStream>, String> {
        match &self.format {
            Format::Csv {
                encoding,
                opts,
                max_file_bytes,
            } => {
                if stats.bytes > *max_file_bytes {
                    return Err(format!(
                        "file of {} bytes is over max_file_bytes ({max_file_bytes})",
                        stats.bytes
                    ));
                }
                let encoding = detect(path, sniff, *encoding).map_err(|e| e.to_string())?;
                let stats = FileStats {
                    encoding: match encoding {
                        Encoding::Gb18030 => "gb18030".into(),
                        _ => "utf-8".into(),
                    },
                    ..stats
                };
                let opts = CsvOptions { encoding, ..*opts };
                Ok(Box::new(csv_table::open(path, opts, stats)?))
            }
            Format::Excel {
                sheet,
                header_row,
                limits,
            } => excel_table::open(path, sheet.as_deref(), *header_row, *limits, stats),
        }
    }

    /// Opens the next changed file as `self.current`; false when no file is left.
    fn open_next(&mut self) -> SourceResult<bool> {
        while let Some(path) = self.pending.pop_front() {
            if self.links.contains(&path) {
                // Reported once per link target, not read: a drop folder's link may point
                // anywhere on the hub's host.
                let name = path.display().to_string();
                let target = std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                let mark = format!("symlink:{target}");
                if self.state.files.get(&name) == Some(&mark) {
                    continue;
                }
                let reason = format!(
                    "a symbolic link (to {target}), not followed: set follow_symlinks = true to read it"
                );
                if let Some(snap) = self.snapshot.as_mut() {
                    snap.complete = false;
                }
                self.report.push(FileStats {
                    path: name.clone(),
                    rejected: Some(reason.clone()),
                    items: 1,
                    ..FileStats::default()
                });
                let mut current = Current::new(name.clone(), mark, 0, self.report.len() - 1);
                current.rejected = Some(Malformed {
                    key: name,
                    reason,
                    excerpt: String::new(),
                });
                self.current = Some(current);
                return Ok(true);
            }
            let sniff = matches!(
                self.format,
                Format::Csv {
                    encoding: Encoding::Auto,
                    ..
                }
            );
            let sv = survey(&path, sniff)
                .map_err(|e| SourceError::transient(path.display().to_string()).caused_by(e))?;
            let name = path.display().to_string();
            if self.state.files.get(&name) == Some(&sv.sha256) {
                if let Some(snap) = self.snapshot.as_mut() {
                    snap.unchanged.push(path);
                }
                continue;
            }
            if let Some(snap) = self.snapshot.as_mut() {
                snap.changed = true;
            }
            let resume = self
                .state
                .current
                .take()
                .filter(|p| p.path == name && p.hash == sv.sha256)
                .map(|p| p.offset)
                .unwrap_or(0);
            let stats = FileStats {
                path: name.clone(),
                bytes: sv.bytes,
                ..FileStats::default()
            };
            let mut current =
                Current::new(name.clone(), sv.sha256.clone(), resume, self.report.len());
            match self.rows(&path, stats.clone(), &sv) {
                Ok(rows) => {
                    self.bind(&name, &mut current, rows.headers())?;
                    let mut rows = rows;
                    for _ in 0..resume {
                        let Some(row) = rows.next_row() else { break };
                        // Already stored; still part of what the snapshot lists.
                        let item = self.item(&current, "", row);
                        self.note(&item);
                    }
                    let mut st = rows.stats().clone();
                    st.resumed_past = resume as u64;
                    self.report.push(st);
                    current.rows = Some(rows);
                }
                Err(reason) => {
                    if let Some(snap) = self.snapshot.as_mut() {
                        snap.complete = false;
                    }
                    self.report.push(FileStats {
                        rejected: Some(reason.clone()),
                        items: 1,
                        ..stats
                    });
                    current.rejected = (resume == 0).then(|| Malformed {
                        key: name.clone(),
                        reason,
                        excerpt: String::new(),
                    });
                }
            }
            self.current = Some(current);
            return Ok(true);
        }
        Ok(false)
    }

    /// Finds the key, mapped and update columns in a file's header.
    fn bind(&self, name: &str, cur: &mut Current, headers: &[String]) -> SourceResult<()> {
        let index = |col: &str| headers.iter().position(|h| h == col);
        cur.key_idx = index(&self.key).ok_or_else(|| {
            SourceError::fatal(format!("{name}: key column {:?} not in header", self.key))
        })?;
        for c in &self.columns {
            let i = index(c).ok_or_else(|| {
                SourceError::fatal(format!(
                    "{name}: mapped column {c:?} not in header {headers:?}"
                ))
            })?;
            cur.cols.push((c.clone(), i));
        }
        cur.updated_idx = self.updated.as_deref().and_then(index);
        Ok(())
    }

    /// Counts an item into the snapshot's listing.
    fn note(&mut self, item: &Pulled) {
        if let Some(snap) = self.snapshot.as_mut() {
            match item {
                Pulled::Record(r) => {
                    snap.keys.insert(r.key.clone());
                }
                Pulled::Malformed(_) => snap.complete = false,
            }
        }
    }

    /// Reads the keys of an unchanged file of the snapshot.
    fn list_unchanged(&mut self, path: &Path) -> SourceResult<()> {
        let sv = survey(
            path,
            matches!(
                self.format,
                Format::Csv {
                    encoding: Encoding::Auto,
                    ..
                }
            ),
        )
        .map_err(|e| SourceError::transient(path.display().to_string()).caused_by(e))?;
        let name = path.display().to_string();
        let stats = FileStats {
            path: name.clone(),
            bytes: sv.bytes,
            ..FileStats::default()
        };
        let mut cur = Current::new(name.clone(), sv.sha256.clone(), 0, usize::MAX);
        match self.rows(path, stats, &sv) {
            Ok(mut rows) => {
                self.bind(&name, &mut cur, rows.headers())?;
                while let Some(row) = rows.next_row() {
                    let item = self.item(&cur, "", row);
                    self.note(&item);
                }
            }
            Err(_) => {
                if let Some(snap) = self.snapshot.as_mut() {
                    snap.complete = false;
                }
            }
        }
        Ok(())
    }

    fn item(&self, cur: &Current, file: &str, row: Row) -> Pulled {
        let locator = format!("{file}:{}", row.line);
        match row.cells {
            Err(reason) => Pulled::Malformed(Malformed {
                key: locator,
                reason,
                excerpt: row.excerpt,
            }),
            Ok(cells) => match cells.get(cur.key_idx).cloned().flatten() {
                None => Pulled::Malformed(Malformed {
                    key: locator,
                    reason: format!("empty key column {:?}", self.key),
                    excerpt: row.excerpt,
                }),
                Some(key) => {
                    let mut r = RawRecord::new(key.trim());
                    for (c, i) in &cur.cols {
                        r.fields.insert(c.clone(), cells.get(*i).cloned().flatten());
                    }
                    r.observed_at = cur
                        .updated_idx
                        .and_then(|i| cells.get(i).cloned().flatten());
                    Pulled::Record(r)
                }
            },
        }
    }
}

#[async_trait]
impl Source for FileSource {
    async fn next_batch(&mut self) -> SourceResult<Option<Batch>> {
        if self.current.is_none() && !self.open_next()? {
            return Ok(None);
        }
        let Some(mut cur) = self.current.take() else {
            return Ok(None);
        };
        let file = Path::new(&cur.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut items = Vec::with_capacity(self.batch_size.min(4096));
        if let Some(m) = cur.rejected.take() {
            let item = Pulled::Malformed(m);
            self.note(&item);
            items.push(item);
            cur.offset += 1;
        }
        let mut finished = cur.rows.is_none();
        while items.len() < self.batch_size {
            let Some(rows) = cur.rows.as_mut() else { break };
            match rows.next_row() {
                Some(row) => {
                    let item = self.item(&cur, &file, row);
                    self.note(&item);
                    items.push(item);
                    cur.offset += 1;
                }
                None => {
                    finished = true;
                    break;
                }
            }
        }
        if let (Some(rows), Some(st)) = (cur.rows.as_ref(), self.report.get_mut(cur.report)) {
            let resumed = st.resumed_past;
            *st = rows.stats().clone();
            st.resumed_past = resumed;
        }
        if finished {
            self.state.files.insert(cur.path.clone(), cur.hash.clone());
        } else {
            self.current = Some(cur);
        }
        Ok(Some(Batch {
            items,
            checkpoint: Some(self.checkpoint()),
        }))
    }

    fn input_report(&self) -> Option<serde_json::Value> {
        serde_json::to_value(serde_json::json!({ "files": self.report })).ok()
    }

    async fn listing(&mut self) -> SourceResult<Option<Vec<String>>> {
        match &self.snapshot {
            Some(snap) if snap.changed => {}
            _ => return Ok(None),
        }
        let unchanged = self
            .snapshot
            .as_mut()
            .map(|s| std::mem::take(&mut s.unchanged))
            .unwrap_or_default();
        for path in unchanged {
            self.list_unchanged(&path)?;
        }
        Ok(self.snapshot.take().and_then(|s| {
            if s.complete {
                Some(s.keys.into_iter().collect())
            } else {
                tracing::warn!(
                    "snapshot not complete (unreadable rows or files): no record is withdrawn this run"
                );
                None
            }
        }))
    }
}

#[cfg(test)]
mod tests;
