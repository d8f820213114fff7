//! Dates in the forms legacy systems store them.

use chrono::{Datelike, NaiveDate};

use crate::text::nfkc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    #[error("empty")]
    Empty,
    #[error("{0:?} is not a date in a known form")]
    Form(String),
    #[error("{0:?} is not a real calendar date")]
    Calendar(String),
    #[error("{0} is outside the plausible range 1800..today")]
    Range(NaiveDate),
}

/// Reads `19900102`, `1990/1/2`, `1990-01-02`, `1990.1.2`, `1990年1月2日`, ISO timestamps
/// (`1990-01-02T08:00:00+08:00`, `1990-01-02 08:00:00`) and Excel date serials rendered by the
/// connector as `1990-01-02 00:00:00`.
pub fn parse_date(input: &str) -> Result<NaiveDate, DateError> {
    let s = nfkc(input);
    let s = s.trim();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    let form = || DateError::Form(s.to_owned());
    let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (&s[..4], &s[4..6], &s[6..8])
    } else {
        // The date part ends where a time part starts.
        let date_part = s.split(['T', ' ']).next().unwrap_or(s);
        let groups: Vec<&str> = date_part
            .split(['-', '/', '.', '年', '月', '日'])
            .filter(|g| !g.is_empty())
            .collect();
        if groups.len() != 3
            || groups
                .iter()
                .any(|g| !g.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(form());
        }
        if groups[0].len() != 4 || groups[1].len() > 2 || groups[2].len() > 2 {
            return Err(form());
        }
        (groups[0], groups[1], groups[2])
    };
    let (y, m, d): (i32, u32, u32) = (
        y.parse().map_err(|_| form())?,
        m.parse().map_err(|_| form())?,
        d.parse().map_err(|_| form())?,
    );
    let date = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| DateError::Calendar(s.to_owned()))?;
    if date.year() < 1800 || date > chrono::Local::now().date_naive() {
        return Err(DateError::Range(date));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_forms() {
        let want = NaiveDate::from_ymd_opt(1990, 1, 2).unwrap();
        for s in [
            "19900102",
            "1990/1/2",
            "1990-01-02",
            "1990.1.2",
            "1990年1月2日",
            "1990-01-02T08:00:00+08:00",
            "1990-01-02 08:00:00",
            " １９９０－０１－０２ ",
        ] {
            assert_eq!(parse_date(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn bad_dates() {
        assert_eq!(parse_date(""), Err(DateError::Empty));
        assert!(matches!(
            parse_date("1990-02-30"),
            Err(DateError::Calendar(_))
        ));
        assert!(matches!(
            parse_date("19901302"),
            Err(DateError::Calendar(_))
        ));
        assert!(matches!(parse_date("not a date"), Err(DateError::Form(_))));
        assert!(matches!(parse_date("02/01/1990"), Err(DateError::Form(_))));
        assert!(matches!(parse_date("2999-01-01"), Err(DateError::Range(_))));
    }
}
