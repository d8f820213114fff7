//! Excel (and ODS) sheets through calamine.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use crate::table::{excerpt, Row, Table};

/// Renders a cell as text the way a person reads it: whole numbers without `.0`, dates as
/// `YYYY-MM-DD` (with the time when it is not midnight).
fn render(cell: &Data) -> Result<Option<String>, String> {
    Ok(match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(d) => Some(serial_to_text(d.as_f64())),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => return Err(format!("cell error {e}")),
    })
}

/// Excel's serial day number (1900 system, with its phantom 29 February 1900) as text.
fn serial_to_text(serial: f64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    let days = serial.floor() as i64;
    let secs = ((serial - serial.floor()) * 86_400.0).round() as i64;
    let date = epoch + chrono::Duration::days(days);
    if secs == 0 {
        date.format("%Y-%m-%d").to_string()
    } else {
        (date.and_hms_opt(0, 0, 0).unwrap_or_default() + chrono::Duration::seconds(secs))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

pub fn read(path: &Path, sheet: Option<&str>, header_row: usize) -> Result<Table, String> {
    let mut wb = open_workbook_auto(path)
        .map_err(|e| format!("{}: not a readable workbook: {e}", path.display()))?;
    let name = match sheet {
        Some(s) => s.to_owned(),
        None => wb
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| format!("{}: no sheets", path.display()))?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| format!("{}: sheet {name:?}: {e}", path.display()))?;
    let (start_row, _) = range.start().unwrap_or((0, 0));
    let header_abs = header_row.saturating_sub(1) as u32;
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let abs = start_row + i as u32;
        if abs < header_abs {
            continue;
        }
        if abs == header_abs {
            headers = cells
                .iter()
                .map(|c| {
                    render(c)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
                .collect();
            continue;
        }
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let raw: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        let rendered: Result<Vec<Option<String>>, String> = cells
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                render(cell).map_err(|e| {
                    format!(
                        "column {:?}: {e}",
                        headers.get(c).cloned().unwrap_or_default()
                    )
                })
            })
            .collect();
        rows.push(Row {
            line: u64::from(abs) + 1,
            cells: rendered,
            excerpt: excerpt(&raw.join(",")),
        });
    }
    if headers.is_empty() {
        return Err(format!(
            "{}: sheet {name:?} has no header row {header_row}",
            path.display()
        ));
    }
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_render_as_dates() {
        assert_eq!(serial_to_text(32875.0), "1990-01-02");
        assert_eq!(serial_to_text(32875.5), "1990-01-02 12:00:00");
    }

    #[test]
    fn cells_render_as_text() {
        assert_eq!(render(&Data::Float(301.0)), Ok(Some("301".into())));
        assert_eq!(render(&Data::Float(1.5)), Ok(Some("1.5".into())));
        assert_eq!(render(&Data::String("  ".into())), Ok(None));
        assert!(render(&Data::Error(calamine::CellErrorType::NA)).is_err());
    }
}
