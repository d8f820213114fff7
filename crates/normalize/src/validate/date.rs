//! Dates in the forms legacy systems store them.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

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

/// Reads a date with a time of day: the date in any form [`parse_date`] reads, then `HH:MM`
/// or `HH:MM:SS` after a space or `T` (`2025-07-01 17:39:00`, `2025/05/24 10:38`). A date
/// alone reads as its midnight. A zone offset, when written, is dropped: times stay as the
/// source wrote them.
pub fn parse_datetime(input: &str) -> Result<NaiveDateTime, DateError> {
    let s = nfkc(input);
    let s = s.trim();
    let form = || DateError::Form(s.to_owned());
    let (date_part, time_part) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let date = parse_date(date_part)?;
    let Some(time) = time_part.filter(|t| !t.is_empty()) else {
        return date.and_hms_opt(0, 0, 0).ok_or_else(form);
    };
    // `17:39:00+08:00`, `17:39:00.000Z`: the clock time only.
    let clock = time.split(['+', 'Z', '.']).next().unwrap_or(time).trim();
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(form());
    }
    let n = |i: usize| {
        parts
            .get(i)
            .map_or(Ok(0), |p| p.parse::<u32>().map_err(|_| form()))
    };
    date.and_hms_opt(n(0)?, n(1)?, n(2)?)
        .ok_or_else(|| DateError::Calendar(s.to_owned()))
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

    #[test]
    fn dates_with_times_of_day() {
        let t = |s: &str| {
            parse_datetime(s)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                .ok()
        };
        assert_eq!(
            t("2025-07-01 17:39:00").as_deref(),
            Some("2025-07-01T17:39:00")
        );
        assert_eq!(
            t("2025/05/24 10:38").as_deref(),
            Some("2025-05-24T10:38:00")
        );
        assert_eq!(
            t("2025-05-24T10:38:05+08:00").as_deref(),
            Some("2025-05-24T10:38:05")
        );
        assert_eq!(
            t("２０２５年５月２４日").as_deref(),
            Some("2025-05-24T00:00:00")
        );
        assert_eq!(t("2025-05-24 25:00"), None);
        assert_eq!(t("2025-05-24 noon"), None);
        assert_eq!(t("yesterday"), None);
    }
}
