//! Policies over a whole release: checks that no single record's treatment can make, because
//! they depend on what else is released with it. A release is every view one department is
//! about to hold of one entity kind (a backfill, or the feed as it stands).
//!
//! [`KAnonymity`] is the first: every combination of quasi-identifier values a department
//! receives (an age band with a district, say) must be shared by at least `k` records, or the
//! combination singles a person out even when no field names them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::view::DepartmentView;

/// A policy that looks at a whole release.
pub trait ReleasePolicy {
    /// The policy's name, as findings and the audit trail report it.
    fn name(&self) -> String;
    /// What the release breaks of the policy; empty when it holds.
    fn check(&self, release: &[DepartmentView]) -> Vec<Finding>;
}

/// One way a release breaks a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub policy: String,
    /// What is wrong, in words.
    pub detail: String,
    /// The department's record ids concerned.
    pub records: Vec<String>,
}

/// k-anonymity over the named quasi-identifiers (delivered fields, as treated): a record whose
/// combination of their values is shared by fewer than `k` records of the release is a finding.
/// A record with none of the quasi-identifiers is not identifying by them and is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KAnonymity {
    pub k: usize,
    pub quasi_identifiers: Vec<String>,
}

impl ReleasePolicy for KAnonymity {
    fn name(&self) -> String {
        format!("{}-anonymity", self.k)
    }

    fn check(&self, release: &[DepartmentView]) -> Vec<Finding> {
        let mut groups: BTreeMap<Vec<Option<&str>>, Vec<&str>> = BTreeMap::new();
        for v in release {
            let key: Vec<Option<&str>> = self
                .quasi_identifiers
                .iter()
                .map(|q| v.values.get(q).map(String::as_str))
                .collect();
            if key.iter().all(Option::is_none) {
                continue;
            }
            groups.entry(key).or_default().push(&v.golden_id);
        }
        groups
            .into_iter()
            .filter(|(_, ids)| ids.len() < self.k)
            .map(|(key, ids)| {
                let combination: Vec<String> = self
                    .quasi_identifiers
                    .iter()
                    .zip(&key)
                    .map(|(q, v)| format!("{q}={}", v.unwrap_or("∅")))
                    .collect();
                Finding {
                    policy: self.name(),
                    detail: format!(
                        "{} record(s) share {}: fewer than {}",
                        ids.len(),
                        combination.join(", "),
                        self.k
                    ),
                    records: ids.into_iter().map(str::to_owned).collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str, values: &[(&str, &str)]) -> DepartmentView {
        DepartmentView {
            golden_id: id.into(),
            version: 1,
            updated_at: "t".into(),
            retired_into: None,
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn small_groups_of_quasi_identifiers_are_findings() {
        let policy = KAnonymity {
            k: 2,
            quasi_identifiers: vec!["birth_date".into(), "address".into()],
        };
        let release = [
            view("a", &[("birth_date", "30-39"), ("address", "蜀山区")]),
            view("b", &[("birth_date", "30-39"), ("address", "蜀山区")]),
            view("c", &[("birth_date", "80-89"), ("address", "蜀山区")]),
            view("d", &[("name", "张*")]),
        ];
        let findings = policy.check(&release);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].records, ["c"]);
        assert_eq!(findings[0].policy, "2-anonymity");
        assert!(findings[0]
            .detail
            .contains("birth_date=80-89, address=蜀山区"));
        let relaxed = KAnonymity { k: 1, ..policy };
        assert!(relaxed.check(&release).is_empty());
    }

    #[test]
    fn a_missing_value_is_a_value_of_its_own() {
        let policy = KAnonymity {
            k: 2,
            quasi_identifiers: vec!["birth_date".into(), "address".into()],
        };
        let release = [
            view("a", &[("birth_date", "30-39")]),
            view("b", &[("birth_date", "30-39"), ("address", "蜀山区")]),
        ];
        assert_eq!(policy.check(&release).len(), 2);
    }
}
