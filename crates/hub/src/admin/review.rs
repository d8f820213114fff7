//! Steering the engine: the parameters in force (shown, exported, imported from another hub
//! after a fit check), the review queue, and reviewers' decisions on pairs of records.

use serde::Serialize;
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

    /// The review queue, most probable first, filtered; with the number of items that pass
    /// the filter before `limit`.
    pub async fn review_queue(&self, f: &ReviewFilter) -> Result<(Vec<ReviewRow>, usize)> {
        let rows = self.store.review_all(f.entity, f.status.as_deref()).await?;
        let cutoff = f
            .older_than_days
            .map(|d| chrono::Utc::now() - chrono::Duration::days(i64::from(d)));
        let rows: Vec<ReviewRow> = rows
            .into_iter()
            .filter(|r| {
                f.source.as_deref().is_none_or(|s| r.a.0 == s || r.b.0 == s)
                    && f.min.is_none_or(|m| r.probability >= m)
                    && f.max.is_none_or(|m| r.probability <= m)
                    && cutoff.is_none_or(|c| {
                        chrono::DateTime::parse_from_rfc3339(&r.created_at).is_ok_and(|t| t < c)
                    })
            })
            .collect();
        let total = rows.len();
        Ok((rows.into_iter().take(f.limit).collect(), total))
    }

    /// One review item with both records side by side and where each sits now.
    pub async fn review_show(&self, id: i64) -> Result<ReviewDetail> {
        let item = self
            .store
            .review_item(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no review item {id}")))?;
        let side = |r: Option<tombolo_normalize::NormalizedRecord>| r.map(|r| r.values);
        let a = side(self.store.record(&item.a.0, &item.a.1).await?);
        let b = side(self.store.record(&item.b.0, &item.b.1).await?);
        let golden = |l: Option<(EntityKind, tombolo_core::Link)>| l.map(|(_, l)| l.golden_id);
        let a_golden = golden(self.store.link(&item.a.0, &item.a.1).await?);
        let b_golden = golden(self.store.link(&item.b.0, &item.b.1).await?);
        let mut fields: Vec<String> = a
            .iter()
            .chain(b.iter())
            .flat_map(|v| v.keys().cloned())
            .collect();
        fields.sort();
        fields.dedup();
        let pick = |v: &Option<std::collections::BTreeMap<String, String>>, f: &str| {
            v.as_ref().and_then(|v| v.get(f).cloned())
        };
        let side_by_side = fields
            .into_iter()
            .map(|field| {
                let (x, y) = (pick(&a, &field), pick(&b, &field));
                SideBySide {
                    same: x.is_some() && x == y,
                    a: x,
                    b: y,
                    field,
                }
            })
            .collect();
        let explanation = serde_json::from_str(&item.explanation)?;
        Ok(ReviewDetail {
            item,
            a_golden,
            b_golden,
            fields: side_by_side,
            explanation,
        })
    }

    /// Records a reviewer's decision on two live records of one kind (people or
    /// organisations); it overrides the engine from the next resolution on, through retraining
    /// and re-runs.
    pub async fn decide(
        &self,
        verdict: Verdict,
        a: &(String, String),
        b: &(String, String),
        by: &str,
        reason: &str,
    ) -> Result<()> {
        let entity = self.decidable(a, b).await?;
        self.store.decide(entity, a, b, verdict, by, reason).await?;
        Ok(())
    }

    /// The kind two records share, when a reviewer may decide on them.
    async fn decidable(&self, a: &(String, String), b: &(String, String)) -> Result<EntityKind> {
        let mut kinds = Vec::new();
        for (s, k) in [a, b] {
            let r = self
                .store
                .record(s, k)
                .await?
                .ok_or_else(|| Error::NotFound(format!("no live record {s}/{k}")))?;
            kinds.push(r.entity);
        }
        if kinds[0] != kinds[1] {
            return Err(Error::Refused(format!(
                "{}/{} is a {} and {}/{} a {}: a decision is about two records of one kind",
                a.0, a.1, kinds[0], b.0, b.1, kinds[1]
            )));
        }
        if !kinds[0].is_matched() {
            return Err(Error::Refused(format!(
                "{} records are placed by rule; decisions apply to people and organisations",
                kinds[0]
            )));
        }
        Ok(kinds[0])
    }

    /// Decisions in bulk from CSV text (`review_id,verdict,reason` or
    /// `a_source,a_key,b_source,b_key,verdict,reason`, with that header). Every line is
    /// checked before any is recorded: one bad line refuses the file, naming each bad line.
    pub async fn decide_file(&self, csv: &str, by: &str) -> Result<usize> {
        let (lines, mut bad) = parse_decisions(csv)?;
        let mut resolved = Vec::with_capacity(lines.len());
        for (n, line) in lines {
            let (a, b) = match line.pair {
                Pair::Records(a, b) => (a, b),
                Pair::Item(id) => match self.store.review_item(id).await? {
                    Some(r) => (r.a, r.b),
                    None => {
                        bad.push((n, format!("no review item {id}")));
                        continue;
                    }
                },
            };
            match self.decidable(&a, &b).await {
                Ok(entity) => resolved.push((entity, a, b, line.verdict, line.reason)),
                Err(e) => bad.push((n, e.to_string())),
            }
        }
        if !bad.is_empty() {
            bad.sort_by_key(|(n, _)| *n);
            let bad: Vec<String> = bad
                .into_iter()
                .map(|(n, e)| format!("line {n}: {e}"))
                .collect();
            return Err(Error::Refused(format!(
                "nothing recorded: {}",
                bad.join("; ")
            )));
        }
        // Every line was checked above: each is recorded as it stands.
        for (entity, a, b, verdict, reason) in &resolved {
            self.store
                .decide(*entity, a, b, *verdict, by, reason)
                .await?;
        }
        Ok(resolved.len())
    }
}

/// Which review items to list.
#[derive(Debug, Clone)]
pub struct ReviewFilter {
    pub entity: Option<EntityKind>,
    /// `open`, `match`, `distinct`; `None`: all.
    pub status: Option<String>,
    /// Items with a record of this source.
    pub source: Option<String>,
    /// Score band: probability at least / at most.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Items filed more than this many days ago.
    pub older_than_days: Option<u32>,
    pub limit: usize,
}

/// One field of both records.
#[derive(Debug, Clone, Serialize)]
pub struct SideBySide {
    pub field: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub same: bool,
}

/// `review show`: the item, both records field by field, the explanation, where each sits.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewDetail {
    pub item: ReviewRow,
    pub a_golden: Option<String>,
    pub b_golden: Option<String>,
    pub fields: Vec<SideBySide>,
    pub explanation: serde_json::Value,
}

enum Pair {
    Item(i64),
    Records((String, String), (String, String)),
}

struct DecisionLine {
    pair: Pair,
    verdict: Verdict,
    reason: String,
}

/// A numbered line and what is wrong with it.
type BadLine = (usize, String);
/// Numbered lines read, and lines that could not be.
type Parsed = (Vec<(usize, DecisionLine)>, Vec<BadLine>);

/// The lines of a decisions file, numbered as a spreadsheet shows them (header is line 1), and
/// the lines that cannot be read.
fn parse_decisions(text: &str) -> Result<Parsed> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Refused(format!("not a decisions CSV: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let by_item = col("review_id");
    let by_records = [col("a_source"), col("a_key"), col("b_source"), col("b_key")];
    let (Some(verdict_col), Some(reason_col)) = (col("verdict"), col("reason")) else {
        return Err(Error::Refused(
            "a decisions CSV has the columns verdict and reason, with review_id or a_source,a_key,b_source,b_key".into(),
        ));
    };
    if by_item.is_none() && by_records.iter().any(Option::is_none) {
        return Err(Error::Refused(
            "a decisions CSV names each pair by review_id or by a_source,a_key,b_source,b_key"
                .into(),
        ));
    }
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let n = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                bad.push((n, e.to_string()));
                continue;
            }
        };
        let cell = |c: usize| row.get(c).unwrap_or("").to_owned();
        let verdict = match cell(verdict_col).parse::<Verdict>() {
            Ok(v) => v,
            Err(e) => {
                bad.push((n, e.to_string()));
                continue;
            }
        };
        let reason = cell(reason_col);
        if reason.is_empty() {
            bad.push((n, "no reason".to_owned()));
            continue;
        }
        let pair = match (by_item, by_records) {
            (Some(c), _) if !cell(c).is_empty() => match cell(c).parse::<i64>() {
                Ok(id) => Pair::Item(id),
                Err(_) => {
                    bad.push((n, format!("review_id {:?} is not a number", cell(c))));
                    continue;
                }
            },
            (_, [Some(a), Some(b), Some(c), Some(d)])
                if [a, b, c, d].iter().all(|&x| !cell(x).is_empty()) =>
            {
                Pair::Records((cell(a), cell(b)), (cell(c), cell(d)))
            }
            _ => {
                bad.push((n, "no pair named".to_owned()));
                continue;
            }
        };
        out.push((
            n,
            DecisionLine {
                pair,
                verdict,
                reason,
            },
        ));
    }
    Ok((out, bad))
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

    #[test]
    fn decision_files_name_pairs_by_item_or_by_records() {
        let (lines, bad) = parse_decisions(
            "review_id,a_source,a_key,b_source,b_key,verdict,reason\n\
             7,,,,,match,same\n\
             ,hukou,1,grid,2,distinct,two people\n\
             x,,,,,match,r\n\
             8,,,,,maybe,r\n\
             9,,,,,match,\n\
             ,,,,,match,r\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert!(matches!(lines[0].1.pair, Pair::Item(7)));
        assert!(matches!(&lines[1].1.pair, Pair::Records(a, _) if a.0 == "hukou"));
        let numbers: Vec<usize> = bad.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, vec![4, 5, 6, 7], "{bad:?}");
        assert!(
            parse_decisions("verdict,reason\nmatch,r\n").is_err(),
            "no pair columns"
        );
    }
}
