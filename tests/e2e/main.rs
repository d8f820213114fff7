//! End-to-end tests: the real `tombolo` binary, the real PostgreSQL and MariaDB, the real broker
//! (tansu locally, started by deploy/broker.sh), and an independent consumer (Python
//! confluent-kafka + fastavro, `consume.py`) that decodes with the schema files alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "integration")]
mod scratch;
#[cfg(feature = "integration")]
mod support;

#[cfg(feature = "integration")]
mod at_rest;
#[cfg(feature = "integration")]
mod audit;
#[cfg(feature = "integration")]
mod concurrency;
#[cfg(feature = "integration")]
mod crash;
#[cfg(feature = "integration")]
mod deletions;
#[cfg(feature = "integration")]
mod departments;
#[cfg(feature = "integration")]
mod errors;
#[cfg(feature = "integration")]
mod find;
#[cfg(feature = "integration")]
mod hostile;
#[cfg(feature = "integration")]
mod http_sources;
#[cfg(feature = "integration")]
mod islands;
#[cfg(feature = "integration")]
mod low_findings;
#[cfg(feature = "integration")]
mod malformed;
#[cfg(feature = "integration")]
mod places;
#[cfg(feature = "integration")]
mod plans;
#[cfg(feature = "integration")]
mod reconcile;
#[cfg(feature = "integration")]
mod registry;
#[cfg(feature = "integration")]
mod reliability;
#[cfg(feature = "integration")]
mod report;
#[cfg(feature = "integration")]
mod resolution;
#[cfg(feature = "integration")]
mod review;
#[cfg(feature = "integration")]
mod sql_sources;
#[cfg(feature = "integration")]
mod steward;
#[cfg(feature = "integration")]
mod store_tls;

/// Stands for the end-to-end tests when the services they need are not promised.
#[cfg(not(feature = "integration"))]
#[test]
#[ignore = "the end-to-end tests need PostgreSQL, MariaDB and the broker: run deploy/test.sh, or cargo test --features integration with TOMBOLO_TEST_POSTGRES, TOMBOLO_TEST_MYSQL and TOMBOLO_TEST_BROKERS"]
fn end_to_end_tests_need_the_services() {
    unreachable!("ignored: compiled only without the integration feature");
}
