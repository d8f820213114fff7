//! A reviewer's verdict on two records: what `tombolo decide` records and resolution obeys.

use serde::{Deserialize, Serialize};

/// A reviewer's verdict on a pair of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// The two records are the same entity.
    Match,
    /// The two records are different entities.
    Distinct,
}

impl ReviewVerdict {
    /// The name stored and shown: `match` or `distinct`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewVerdict::Match => "match",
            ReviewVerdict::Distinct => "distinct",
        }
    }
}

impl std::fmt::Display for ReviewVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ReviewVerdict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "match" => Ok(ReviewVerdict::Match),
            "distinct" => Ok(ReviewVerdict::Distinct),
            other => Err(format!("{other:?} is not a verdict (match, distinct)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_and_nothing_else_parses() {
        for v in [ReviewVerdict::Match, ReviewVerdict::Distinct] {
            assert_eq!(v.as_str().parse::<ReviewVerdict>(), Ok(v));
        }
        assert!("Match".parse::<ReviewVerdict>().is_err());
        assert!("".parse::<ReviewVerdict>().is_err());
    }
}
