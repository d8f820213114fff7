//! End-to-end tests: the real `tombolo` binary, the real PostgreSQL and MariaDB, the real broker
//! (tansu locally, started by deploy/broker.sh), and an independent consumer (Python
//! confluent-kafka + fastavro, `consume.py`) that decodes with the schema files alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scratch;
mod support;

mod at_rest;
mod audit;
mod concurrency;
mod crash;
mod deletions;
mod departments;
mod errors;
mod hostile;
mod http_sources;
mod islands;
mod low_findings;
mod malformed;
mod registry;
mod reliability;
mod resolution;
mod sql_sources;
