use super::*;

fn cfg(path: &Path) -> CsvConfig {
    CsvConfig {
        path: path.to_path_buf(),
        key: "id".into(),
        encoding: Encoding::Auto,
        delimiter: ',',
        updated_column: None,
        batch_size: 2,
        multiline: false,
        max_record_lines: 100,
        max_record_bytes: 1 << 20,
        max_file_bytes: 1 << 30,
        snapshot: false,
        follow_symlinks: false,
    }
}

async fn drain(src: &mut FileSource) -> (Vec<Pulled>, Option<serde_json::Value>) {
    let mut all = Vec::new();
    let mut cp = None;
    while let Some(b) = src.next_batch().await.unwrap() {
        all.extend(b.items);
        cp = b.checkpoint;
    }
    (all, cp)
}

#[tokio::test]
async fn same_export_twice_is_a_no_op_and_changes_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.csv");
    std::fs::write(&f, "id,name,secret\n1,张三,x\n2,李四,y\n3,王五,z\n").unwrap();
    let cols = vec!["name".to_owned()];
    let mut s = FileSource::csv(&cfg(&f), cols.clone(), None).unwrap();
    let (items, cp) = drain(&mut s).await;
    assert_eq!(items.len(), 3);
    let Pulled::Record(r) = &items[0] else {
        panic!("record expected")
    };
    assert_eq!(r.get("name"), Some("张三"));
    assert!(
        !r.fields.contains_key("secret"),
        "unmapped columns are never read"
    );
    let mut s = FileSource::csv(&cfg(&f), cols.clone(), cp.clone()).unwrap();
    assert!(drain(&mut s).await.0.is_empty());
    std::fs::write(&f, "id,name,secret\n1,张三,x\n2,李四四,y\n3,王五,z\n").unwrap();
    let mut s = FileSource::csv(&cfg(&f), cols, cp).unwrap();
    assert_eq!(drain(&mut s).await.0.len(), 3);
}

#[tokio::test]
async fn resumes_mid_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.csv");
    std::fs::write(&f, "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n").unwrap();
    let cols = vec!["name".to_owned()];
    let mut s = FileSource::csv(&cfg(&f), cols.clone(), None).unwrap();
    let first = s.next_batch().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 2);
    let mut s = FileSource::csv(&cfg(&f), cols, first.checkpoint).unwrap();
    let (rest, _) = drain(&mut s).await;
    let keys: Vec<String> = rest
        .iter()
        .filter_map(|p| {
            if let Pulled::Record(r) = p {
                Some(r.key.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(keys, vec!["3", "4", "5"]);
}

#[tokio::test]
async fn malformed_rows_are_items_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.csv");
    std::fs::write(&f, b"id,name\n1,a\n2\n,c\n4,\xFF\n5,e\n").unwrap();
    let mut s = FileSource::csv(
        &CsvConfig {
            encoding: Encoding::Utf8,
            ..cfg(&f)
        },
        vec!["name".to_owned()],
        None,
    )
    .unwrap();
    let (items, _) = drain(&mut s).await;
    assert_eq!(items.len(), 5);
    let bad: Vec<&Malformed> = items
        .iter()
        .filter_map(|p| {
            if let Pulled::Malformed(m) = p {
                Some(m)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(bad.len(), 3);
    assert_eq!(bad[0].key, "a.csv:3");
    assert!(bad[1].reason.contains("empty key"));
    assert!(bad[2].reason.contains("invalid UTF-8"));
}

#[cfg(unix)]
#[tokio::test]
async fn l13_a_symbolic_link_in_a_directory_is_quarantined_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "id,name\n9,x\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.csv"), dir.path().join("b.csv"))
        .unwrap();
    std::fs::write(dir.path().join("a.csv"), "id,name\n1,a\n").unwrap();
    let mut s = FileSource::csv(&cfg(dir.path()), vec!["name".to_owned()], None).unwrap();
    let (items, cp) = drain(&mut s).await;
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[0], Pulled::Record(r) if r.key == "1"));
    assert!(matches!(&items[1], Pulled::Malformed(m) if m.reason.contains("symbolic link")));
    // Reported once, not at every run.
    let mut s = FileSource::csv(&cfg(dir.path()), vec!["name".to_owned()], cp).unwrap();
    assert!(drain(&mut s).await.0.is_empty());
    let follow = CsvConfig {
        follow_symlinks: true,
        ..cfg(dir.path())
    };
    let mut s = FileSource::csv(&follow, vec!["name".to_owned()], None).unwrap();
    assert_eq!(drain(&mut s).await.0.len(), 2);
}

#[tokio::test]
async fn missing_mapped_column_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.csv");
    std::fs::write(&f, "id,name\n1,a\n").unwrap();
    let mut s = FileSource::csv(&cfg(&f), vec!["nope".to_owned()], None).unwrap();
    assert!(matches!(
        s.next_batch().await,
        Err(SourceError::Fatal { .. })
    ));
}
