//! Incidents: several reports of one incident (a hotline ticket, a grid worker's report) become
//! one. Two reports are of one incident when their categories meet in the common vocabulary
//! (each source's categories are mapped onto it by configuration), they name the same place at
//! the coarser of their two levels (a report of a leak in room 301 and one of a leak in its
//! building), and they fall within the time window of the incident's first report. A report
//! joins an incident only when it meets every placed report of it, so a report of a building
//! does not chain a leak in one room to a leak in another. A report whose address fits several
//! places (a community and building on two roads) is one of them: it joins an incident placed
//! at one of them, or one whose reports all fit the same ones; once an incident has a placed
//! report, only that place counts. A report with no place at all never joins another: nothing
//! says it is the same incident.

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
            .find(|&g| group_meets(&groups[g], reports, r));
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

/// Whether report `r` is of the incident `group` (indices into `reports`) as far as places go.
/// A group's placed reports say where it is: `r` must meet every one of them (a report of a
/// building does not chain a leak in room 301 to one in room 502), and its candidates count
/// only against them (an address that fits many buildings does not carry the incident from
/// one of them to another). Only a group of unplaced reports is met through their candidates.
fn group_meets(group: &[usize], reports: &[Report], r: &Report) -> bool {
    let mut placed = group
        .iter()
        .map(|&j| &reports[j])
        .filter(|m| m.place.is_some());
    match placed.next() {
        Some(first) => first.meets(r) && placed.all(|m| m.meets(r)),
        None => group.iter().any(|&j| reports[j].meets(r)),
    }
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
    fn a_report_of_a_building_does_not_chain_two_rooms() {
        let reports = [
            report("leak", 0, Some(key(Some("3"), Some("301")))),
            report("leak", 1, Some(key(Some("3"), None))),
            report("leak", 2, Some(key(Some("3"), Some("502")))),
            report("leak", 3, Some(key(Some("3"), Some("301")))),
        ];
        assert_eq!(incidents(&reports, 48 * 60), vec![vec![0, 1, 3], vec![2]]);
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
        // Once it has joined a placed report, its other candidates no longer count: a report
        // at building 3 is not of the incident at building 9.
        let mut at_three = reports.to_vec();
        at_three.push(report("rubbish", 2, Some(key(Some("3"), None))));
        assert_eq!(incidents(&at_three, 48 * 60), vec![vec![0, 1, 2], vec![3]]);
        let mut elsewhere = report("rubbish", 1, None);
        elsewhere.candidates = vec![key(Some("5"), None)];
        let apart = [report("rubbish", 0, Some(key(Some("9"), None))), elsewhere];
        assert_eq!(incidents(&apart, 48 * 60), vec![vec![0], vec![1]]);
    }
}
