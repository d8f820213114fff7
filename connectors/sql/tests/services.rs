//! Stands for `incremental.rs` when the databases it needs are not promised.
#![cfg(not(feature = "integration"))]

#[test]
#[ignore = "the SQL connector tests need PostgreSQL and MariaDB: run deploy/test.sh, or cargo test --features integration with TOMBOLO_TEST_POSTGRES and TOMBOLO_TEST_MYSQL"]
fn sql_connector_tests_need_the_databases() {
    unreachable!("ignored: compiled only without the integration feature");
}
