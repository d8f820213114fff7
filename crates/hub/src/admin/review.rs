//! Steering the engine: the parameters in force (shown, exported, imported from another hub
//! after a fit check), the review queue, and reviewers' decisions on pairs of records.

use tombolo_core::EntityKind;
pub use tombolo_core::ReviewVerdict as Verdict;
pub use tombolo_resolve::fellegi_sunter::Model;
pub use tombolo_store::resolution::ReviewRow;

use crate::{Error, Hub, Result};

/// Checks that parameters fit the people's comparisons as this hub defines them (same fields,
/// same number of levels), so a model from another version or another hub is refused whole.
pub fn check_fit(m: &Model) -> Result<()> {
    let expected = tombolo_resolve::fellegi_sunter::Schema::comparisons(
        &tombolo_resolve::person::PersonSchema,
    );
    let fields: Vec<(&str, usize)> = m
        .comparisons
        .iter()
        .map(|c| (c.field.as_str(), c.levels.len()))
        .collect();
    let want: Vec<(&str, usize)> = expected.iter().map(|c| (c.field, c.levels.len())).collect();
    if fields != want {
        return Err(Error::Refused(format!(
            "the parameters do not fit: comparisons {fields:?}, expected {want:?}"
        )));
    }
    Ok(())
}

impl Hub {
    /// The people's parameters in force, with their id.
    pub async fn model_in_force(&self) -> Result<(i64, Model)> {
        let stored = self.store.model(EntityKind::Person).await?.ok_or_else(|| {
            Error::NotFound("no parameters yet: run `tombolo run` or `tombolo train` first".into())
        })?;
        Ok((stored.id, serde_json::from_str(&stored.params)?))
    }

    /// Puts parameters (JSON, as `model export` writes them) in force after checking their fit;
    /// the next resolution re-resolves everything. Returns their id.
    pub async fn import_model(&self, text: &str) -> Result<i64> {
        let m: Model = serde_json::from_str(text)
            .map_err(|e| Error::Refused(format!("not a Tombolo model: {e}")))?;
        check_fit(&m)?;
        Ok(self
            .store
            .save_model(
                EntityKind::Person,
                &serde_json::to_string(&m)?,
                m.info.records,
            )
            .await?)
    }

    /// The people's review queue, most probable first: pairs with `status` (all when `None`).
    pub async fn review_queue(&self, status: Option<&str>) -> Result<Vec<ReviewRow>> {
        Ok(self.store.review(EntityKind::Person, status).await?)
    }

    /// Records a reviewer's decision on two live person records; it overrides the engine from
    /// the next resolution on, through retraining and re-runs.
    pub async fn decide(
        &self,
        verdict: Verdict,
        a: &(String, String),
        b: &(String, String),
        by: &str,
        reason: &str,
    ) -> Result<()> {
        for (s, k) in [a, b] {
            if self.store.record(s, k).await?.is_none() {
                return Err(Error::NotFound(format!("no live record {s}/{k}")));
            }
        }
        self.store
            .decide(EntityKind::Person, a, b, verdict, by, reason)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombolo_resolve::fellegi_sunter::model::{ComparisonParams, Level};
    use tombolo_resolve::fellegi_sunter::Schema;
    use tombolo_resolve::person::PersonSchema;

    /// Parameters with the shape of the people's comparisons (the values do not matter here).
    fn fitting() -> Model {
        Model {
            prior: 0.001,
            comparisons: PersonSchema
                .comparisons()
                .iter()
                .map(|c| ComparisonParams {
                    field: c.field.to_owned(),
                    levels: c
                        .levels
                        .iter()
                        .map(|l| Level {
                            name: format!("{l:?}"),
                            m: 0.5,
                            u: 0.5,
                        })
                        .collect(),
                })
                .collect(),
            tf: None,
            info: Default::default(),
        }
    }

    #[test]
    fn parameters_are_checked_for_fit() {
        let good = fitting();
        assert!(check_fit(&good).is_ok());
        let mut fewer = good.clone();
        fewer.comparisons.pop();
        let e = check_fit(&fewer).unwrap_err().to_string();
        assert!(e.contains("do not fit"), "{e}");
        let mut other_levels = good;
        other_levels.comparisons[0].levels.pop();
        assert!(check_fit(&other_levels).is_err());
    }
}
