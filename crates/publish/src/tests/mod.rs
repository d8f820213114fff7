//! Delivery and backfill through the narrow traits of [`crate::ports`], against an in-memory
//! outbox, ledger and broker: no Kafka, no database.

mod delivery;
mod memory;
