//! The contributor's guide names real files: every repository path it quotes exists, so the
//! checklists stay true as the tree changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn contributing_names_real_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("CONTRIBUTING.md")).unwrap();
    let mut checked = 0;
    for quoted in guide.split('`').skip(1).step_by(2) {
        let looks_like_path = quoted.contains('/')
            && !quoted.contains(' ')
            && !quoted.contains('<')
            && !quoted.starts_with("../")
            && (quoted.starts_with("crates/")
                || quoted.starts_with("connectors/")
                || quoted.starts_with("docs/")
                || quoted.starts_with("tests/")
                || quoted.starts_with("bench/")
                || quoted.starts_with("deploy/")
                || quoted.starts_with("schemas/")
                || quoted.starts_with("examples/"));
        if looks_like_path {
            let path = quoted.trim_end_matches(',');
            assert!(
                root.join(path).exists(),
                "CONTRIBUTING.md names {path}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "only {checked} paths found: the parser no longer reads the guide"
    );
}
