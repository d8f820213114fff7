//! A decoded table: headers and rows, each row either its cells or the reason it is unreadable.

/// One data row: its 1-based line (or sheet row) number and its cells or a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Result<Vec<Option<String>>, String>,
    /// A short excerpt of the raw row, for quarantine.
    pub excerpt: String,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// The first characters of a text, for excerpts.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).collect::<String>() + "…"
    }
}
