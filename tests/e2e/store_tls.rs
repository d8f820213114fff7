//! A PostgreSQL store reached over TLS, as one on another host is: the URL's `sslmode` and
//! `sslrootcert` (docs/operations.md, "Production store").

use std::collections::BTreeMap;

use crate::support::*;

#[test]
fn postgres_store_over_verified_tls() {
    let tested = fresh_postgres("e2e_tls");
    let (_, db) = tested.rsplit_once('/').unwrap();
    assert_eq!(
        psql_at(&tested, "SHOW ssl").trim(),
        "on",
        "the test server must offer TLS (ssl = on) for this test"
    );
    // The server's own certificate is the authority the hub trusts here; it names `localhost`.
    let cert = psql_at(&tested, "SHOW ssl_cert_file").trim().to_owned();
    let port = tested
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap()
        .to_owned();
    let url = |host: &str| {
        format!("postgres://postgres@{host}:{port}/{db}?sslmode=verify-full&sslrootcert={cert}")
    };
    let config = root().join("examples/quickstart/tombolo.toml");
    let env = BTreeMap::new();

    let report = json(tombolo(
        &config,
        &url("localhost"),
        &env,
        &["--json", "run", "--no-publish"],
    ));
    let accepted: u64 = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["accepted"].as_u64().unwrap())
        .sum();
    assert!(accepted > 0, "{report}");
    let stored = psql_at(&tested, "SELECT count(*) FROM source_record");
    assert_eq!(stored.trim(), accepted.to_string());

    // Verification is real: the same server under a name its certificate does not carry is
    // refused, with the reason.
    let out = tombolo(&config, &url("127.0.0.1"), &env, &["status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate"), "{err}");
}
