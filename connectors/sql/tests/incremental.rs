//! Against the real PostgreSQL and MariaDB services: rows sharing a timestamp across a page
//! boundary are all read, the checkpoint resumes exactly, changed rows are read again, and NULLs
//! in the key column are reported. URLs: TOMBOLO_TEST_POSTGRES / TOMBOLO_TEST_MYSQL, defaulting
//! to the local services the project's scripts start.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "integration")]

use tombolo_connector_sql::{SqlConfig, SqlSource};
use tombolo_core::{Pulled, Source};

fn pg_url() -> String {
    std::env::var("TOMBOLO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn my_url() -> String {
    std::env::var("TOMBOLO_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

async fn drain(
    cfg: &SqlConfig,
    cp: Option<serde_json::Value>,
) -> (Vec<String>, Vec<String>, Option<serde_json::Value>) {
    let mut src = SqlSource::open(cfg, vec!["name".into()], cp.clone())
        .await
        .unwrap();
    let (mut keys, mut bad, mut last) = (vec![], vec![], cp);
    while let Some(b) = src.next_batch().await.unwrap() {
        for it in b.items {
            match it {
                Pulled::Record(r) => {
                    keys.push(format!("{}={}", r.key, r.get("name").unwrap_or("-")))
                }
                Pulled::Malformed(m) => bad.push(m.reason),
            }
        }
        last = b.checkpoint;
    }
    (keys, bad, last)
}

async fn exercise(
    url: &str,
    exec: impl Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
    table: &str,
) {
    exec(format!("DROP TABLE IF EXISTS {table}")).await;
    exec(format!("CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), updated_at TIMESTAMP NOT NULL)")).await;
    // Five rows share one timestamp; pages of two cut through them.
    exec(format!(
        "INSERT INTO {table} VALUES (1,'a','s','2024-01-01 00:00:00'),(2,'b','s','2024-01-01 00:00:00'),(3,'c','s','2024-01-01 00:00:00'),\
         (4,'d','s','2024-01-01 00:00:00'),(5,'e','s','2024-01-01 00:00:00'),(6,'f','s','2023-06-01 00:00:00')"
    ))
    .await;
    let cfg = SqlConfig {
        url: url.into(),
        table: Some(table.into()),
        query: None,
        key: "id".into(),
        watermark: Some("updated_at".into()),
        batch_size: 2,
        reread_window: 0,
        statement_timeout_secs: 60,
        max_null_keys: 1000,
        delete_scan: false,
    };
    let (keys, bad, cp) = drain(&cfg, None).await;
    assert_eq!(keys, vec!["6=f", "1=a", "2=b", "3=c", "4=d", "5=e"]);
    assert!(bad.is_empty());
    // Nothing new: nothing pulled.
    let (keys, _, cp) = drain(&cfg, cp).await;
    assert!(keys.is_empty(), "{keys:?}");
    // A late row with the same timestamp and a higher key, and a changed row.
    exec(format!(
        "INSERT INTO {table} VALUES (7,'g','s','2024-01-01 00:00:00')"
    ))
    .await;
    exec(format!(
        "UPDATE {table} SET name = 'b2', updated_at = '2024-02-01 00:00:00' WHERE id = 2"
    ))
    .await;
    let (keys, _, _) = drain(&cfg, cp).await;
    assert_eq!(keys, vec!["7=g", "2=b2"]);
    exec(format!("DROP TABLE {table}")).await;
}

#[tokio::test]
async fn postgres_keyset_pagination() {
    let pool = sqlx::PgPool::connect(&pg_url())
        .await
        .expect("PostgreSQL reachable");
    let exec = move |sql: String| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
    };
    exercise(
        &pg_url(),
        exec,
        &format!("tombolo_it_{}", std::process::id()),
    )
    .await;
}

#[tokio::test]
async fn mariadb_keyset_pagination() {
    let pool = sqlx::MySqlPool::connect(&my_url())
        .await
        .expect("MariaDB reachable");
    let exec = move |sql: String| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
    };
    exercise(
        &my_url(),
        exec,
        &format!("tombolo_it_{}", std::process::id()),
    )
    .await;
}

#[tokio::test]
async fn null_key_and_null_watermark_rows_are_not_lost() {
    let pool = sqlx::PgPool::connect(&pg_url())
        .await
        .expect("PostgreSQL reachable");
    let table = format!("tombolo_it_null_{}", std::process::id());
    for sql in [
        format!("DROP TABLE IF EXISTS {table}"),
        format!("CREATE TABLE {table} (id TEXT, name TEXT, updated_at TIMESTAMP)"),
        format!("INSERT INTO {table} VALUES ('k1','a','2024-01-01'),('k2','b',NULL),(NULL,'c','2024-01-02'),('k3','d',NULL)"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    let cfg = SqlConfig {
        url: pg_url(),
        table: Some(table.clone()),
        query: None,
        key: "id".into(),
        watermark: Some("updated_at".into()),
        batch_size: 10,
        reread_window: 0,
        statement_timeout_secs: 60,
        max_null_keys: 1000,
        delete_scan: false,
    };
    let (keys, bad, cp) = drain(&cfg, None).await;
    assert_eq!(keys, vec!["k1=a", "k2=b", "k3=d"]);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].contains("NULL in key column"));
    // Rows without a watermark are re-read each run (the store keeps only changes).
    let (keys, _, _) = drain(&cfg, cp).await;
    assert_eq!(keys, vec!["k2=b", "k3=d"]);
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_query_can_stand_for_a_table() {
    let pool = sqlx::MySqlPool::connect(&my_url())
        .await
        .expect("MariaDB reachable");
    let table = format!("tombolo_it_q_{}", std::process::id());
    for sql in [
        format!("DROP TABLE IF EXISTS {table}"),
        format!("CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(20), active INT, updated_at DATETIME NOT NULL)"),
        format!("INSERT INTO {table} VALUES (1,'a',1,'2024-01-01'),(2,'b',0,'2024-01-02'),(3,'c',1,'2024-01-03')"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    let cfg = SqlConfig {
        url: my_url(),
        table: None,
        query: Some(format!(
            "SELECT id, name, updated_at FROM {table} WHERE active = 1"
        )),
        key: "id".into(),
        watermark: Some("updated_at".into()),
        batch_size: 1,
        reread_window: 0,
        statement_timeout_secs: 60,
        max_null_keys: 1000,
        delete_scan: false,
    };
    let (keys, bad, _) = drain(&cfg, None).await;
    assert_eq!(keys, vec!["1=a", "3=c"]);
    assert!(bad.is_empty());
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .unwrap();
}
