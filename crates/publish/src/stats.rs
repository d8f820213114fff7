//! What a drain published.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kafka::Outgoing;

/// What a drain published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishStats {
    pub published: u64,
    /// Messages per topic (the hub's and the departments').
    pub by_topic: BTreeMap<String, u64>,
    /// Delivery audit entries written (one per department, topic and partition of a batch).
    pub deliveries: u64,
}

impl PublishStats {
    pub(crate) fn count(&mut self, messages: &[Outgoing]) {
        for m in messages {
            *self.by_topic.entry(m.topic.clone()).or_default() += 1;
        }
    }
}
