//! Corrections after reconciliation: listed, closed when a later pull brings the department's
//! value in line (or withdraws the record), disputed by the department (the pair goes to
//! review).

use std::collections::BTreeMap;

use tombolo_core::EntityKind;
use tombolo_resolve::survivorship;
pub use tombolo_store::corrections::Correction;
use tombolo_store::resolution::NewReview;

use crate::{Error, Hub, Result};

/// What a refresh of the open corrections did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Refreshed {
    pub fixed: u64,
    pub withdrawn: u64,
    pub still_open: u64,
}

impl Hub {
    /// Corrections, newest first (of a source, with a status).
    pub async fn corrections(
        &self,
        source: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Correction>> {
        Ok(self.store.corrections(source, status).await?)
    }

    /// Closes the open corrections whose record now agrees with its golden record (`fixed`:
    /// its value of the field won, or equals the one that did, or it has none any more) or is
    /// gone (`withdrawn`). Run after every resolution.
    pub async fn refresh_corrections(&self) -> Result<Refreshed> {
        let open = self.store.corrections(None, Some("open")).await?;
        let mut out = Refreshed::default();
        // By golden record as the crosswalk has it now, so each contest is computed once.
        let mut by_golden: BTreeMap<String, Vec<Correction>> = BTreeMap::new();
        for c in open {
            match self.store.link(&c.source, &c.record_key).await? {
                Some((_, link)) => by_golden.entry(link.golden_id).or_default().push(c),
                None => {
                    self.store.close_correction(c.id, "withdrawn").await?;
                    out.withdrawn += 1;
                }
            }
        }
        for (golden, corrections) in by_golden {
            let inputs = self
                .member_inputs(&self.store.members(&golden).await?)
                .await?;
            let all: Vec<usize> = (0..inputs.len()).collect();
            let contests = survivorship::contests(&inputs, &all, &self.config.resolve.survivorship);
            for c in corrections {
                let loses = contests.get(&c.field).is_some_and(|cands| {
                    cands
                        .iter()
                        .any(|x| x.source == c.source && x.record_key == c.record_key && !x.chosen)
                });
                if loses {
                    out.still_open += 1;
                } else {
                    self.store.close_correction(c.id, "fixed").await?;
                    out.fixed += 1;
                }
            }
        }
        if out.fixed + out.withdrawn > 0 {
            tracing::info!(
                fixed = out.fixed,
                withdrawn = out.withdrawn,
                "corrections closed"
            );
        }
        Ok(out)
    }

    /// The department disputes correction `id`: its value is right. The correction is marked
    /// disputed and the pair (its record, the one whose value won) goes to the review queue.
    pub async fn dispute(&self, id: i64, by: &str, reason: &str) -> Result<Correction> {
        let c = self
            .store
            .correction(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no correction {id}")))?;
        if c.status != "open" {
            return Err(Error::Refused(format!(
                "correction {id} is {}: only an open one can be disputed",
                c.status
            )));
        }
        if reason.trim().is_empty() {
            return Err(Error::Refused("give a reason (--reason)".into()));
        }
        let entity = EntityKind::parse(&c.entity)
            .ok_or_else(|| Error::Refused(format!("correction {id}: unknown kind {}", c.entity)))?;
        let a = (c.source.clone(), c.record_key.clone());
        let b = (c.winner_source.clone(), c.winner_key.clone());
        let (Some(ra), Some(rb)) = (
            self.store.record(&a.0, &a.1).await?,
            self.store.record(&b.0, &b.1).await?,
        ) else {
            return Err(Error::Refused(format!(
                "correction {id}: a record of the pair is no longer stored"
            )));
        };
        let explanation = match (entity, self.store.model(entity).await?) {
            (EntityKind::Person, Some(m)) => {
                let model: tombolo_resolve::fellegi_sunter::Model =
                    serde_json::from_str(&m.params)?;
                tombolo_resolve::explain_people(&model, &ra, &rb)
            }
            _ => {
                let input = |source: &str, r| tombolo_resolve::Input {
                    source: source.to_owned(),
                    record: r,
                };
                tombolo_resolve::linking::explain(
                    &input(&a.0, (&ra).into()),
                    &input(&b.0, (&rb).into()),
                )
            }
        };
        self.store
            .file_dispute(
                entity,
                &NewReview {
                    a,
                    b,
                    reason: "disputed".into(),
                    probability: explanation.probability,
                    explanation: serde_json::to_string(&explanation)?,
                },
            )
            .await?;
        self.store.dispute_correction(id, by, reason).await?;
        self.store
            .correction(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no correction {id}")))
    }
}
