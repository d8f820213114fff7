//! Incidents: several reports of one incident (a hotline ticket, a grid worker's report) become
//! one. Two reports are of one incident when their categories meet in the common vocabulary
//! (each source's categories are mapped onto it by configuration), they name the same place at
//! the coarser of their two levels (a report of a leak in room 301 and one of a leak in its
//! building), and they fall within the time window of the incident's first report. A report
//! whose address fits several places (a community and building on two roads) is one of them:
//! it joins a report placed at any of them, or one that fits the same ones. A report with no
//! place at all never joins another: nothing says it is the same incident.

use std::collections::BTreeMap;

use crate::place::{same_place, PlaceKey};

/// One report, as clustering sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The category in the common vocabulary.
    pub category: String,
    /// When it was reported, in minutes since any fixed origin.
    pub at_minutes: i64,
    pub place: Option<PlaceKey>,
    /// The places its address fits when it fits several (`place` is then `None`).
    pub candidates: Vec<PlaceKey>,
}

impl Report {
    /// Whether the two reports name one place, as far as their addresses tell.
    fn meets(&self, other: &Report) -> bool {
        match (&self.place, &other.place) {
            (Some(a), Some(b)) => same_place(a, b),
            (Some(a), None) => other.candidates.iter().any(|c| same_place(a, c)),
            (None, Some(b)) => self.candidates.iter().any(|c| same_place(c, b)),
            (None, None) => !self.candidates.is_empty() && self.candidates == other.candidates,
        }
    }
}

/// The incidents of `reports`: groups of indices into it, each in time order, the groups in the
/// order of their first report. `window_minutes`: how long after an incident's first report a
/// report can still be of it.
pub fn incidents(reports: &[Report], window_minutes: i64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..reports.len()).collect();
    order.sort_by_key(|&i| (reports[i].at_minutes, i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    // Category → the groups still open for it.
    let mut open: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in order {
        let r = &reports[i];
        if r.place.is_none() && r.candidates.is_empty() {
            groups.push(vec![i]);
            continue;
        }
        let candidates = open.entry(r.category.as_str()).or_default();
        candidates.retain(|&g| r.at_minutes - reports[groups[g][0]].at_minutes <= window_minutes);
        let joined = candidates
            .iter()
            .copied()
            .find(|&g| groups[g].iter().any(|&j| reports[j].meets(r)));
        match joined {
            Some(g) => groups[g].push(i),
            None => {
                candidates.push(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups.sort_by_key(|g| g.first().map(|&i| (reports[i].at_minutes, i)));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: Option<&str>, room: Option<&str>) -> PlaceKey {
        PlaceKey {
            building: b.map(Into::into),
            room: room.map(Into::into),
            unit: room.map(|_| "1".into()),
            ..PlaceKey::door("包河区", "大连路", "274")
        }
    }

    fn report(category: &str, hours: i64, place: Option<PlaceKey>) -> Report {
        Report {
            category: category.into(),
            at_minutes: hours * 60,
            place,
            candidates: Vec::new(),
        }
    }

    #[test]
    fn reports_of_one_incident_meet_at_the_coarser_place() {
        let reports = [
            report("leak", 0, Some(key(Some("3"), Some("301")))),
            report("leak", 5, Some(key(Some("3"), None))),
            report("leak", 6, Some(key(Some("4"), None))),
            report("lamp", 7, Some(key(None, None))),
            report("leak", 100, Some(key(Some("3"), Some("301")))),
            report("leak", 8, None),
        ];
        let got = incidents(&reports, 48 * 60);
        assert_eq!(got, vec![vec![0, 1], vec![2], vec![3], vec![5], vec![4]]);
    }

    #[test]
    fn the_window_runs_from_the_first_report() {
        let at = Some(key(None, None));
        let reports = [
            report("lamp", 0, at.clone()),
            report("lamp", 40, at.clone()),
            report("lamp", 80, at),
        ];
        assert_eq!(incidents(&reports, 48 * 60), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn an_ambiguous_report_joins_one_placed_at_one_of_its_places() {
        let mut vague = report("rubbish", 1, None);
        vague.candidates = vec![key(Some("3"), None), key(Some("9"), None)];
        let reports = [
            report("rubbish", 0, Some(key(Some("9"), None))),
            vague.clone(),
            vague,
        ];
        assert_eq!(incidents(&reports, 48 * 60), vec![vec![0, 1, 2]]);
        let mut elsewhere = report("rubbish", 1, None);
        elsewhere.candidates = vec![key(Some("5"), None)];
        let apart = [report("rubbish", 0, Some(key(Some("9"), None))), elsewhere];
        assert_eq!(incidents(&apart, 48 * 60), vec![vec![0], vec![1]]);
    }
}
