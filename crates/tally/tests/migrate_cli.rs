//! `tally migrate`: a SQLite database made through the CLI goes to PostgreSQL and back
//! into a new SQLite file; the exports (deleted values included) are byte for byte the
//! same on all three, and so are the audits; a non-empty target is refused.

use std::path::Path;
use std::process::{Command, Output};

use tally_store_postgres::testkit::TestSchema;

fn tally(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .arg("--database")
        .arg(db)
        .env("TALLY_PASSWORD", "district-password")
        .output()
        .expect("run tally")
}

fn ok(o: &Output) -> Vec<u8> {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout.clone()
}

/// Runs in `cwd`: file contents of a PostgreSQL database live in `./tally.files`.
fn migrate(from: &Path, to: &Path, cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .current_dir(cwd)
        .arg("migrate")
        .arg("--from")
        .arg(from)
        .arg("--to")
        .arg(to)
        .output()
        .expect("run tally")
}

fn values(v: &[(&str, &str)], complete: bool) -> String {
    let rows: Vec<String> = v
        .iter()
        .map(|(pe, value)| {
            // A blank value without a comment deletes.
            let comment = if value.is_empty() {
                String::new()
            } else {
                format!(r#","comment":"c{pe}""#)
            };
            format!(
                r#"{{"dataElement":"f7n9E0hX8qk","period":"{pe}","orgUnit":"DiszpKrYNg8","value":"{value}"{comment}}}"#
            )
        })
        .collect();
    let completion = if complete {
        r#""dataSet":"pBOMPrpg1QX","period":"201401","orgUnit":"DiszpKrYNg8","completeDate":"2014-02-03","#
    } else {
        ""
    };
    format!(r#"{{{completion}"dataValues":[{}]}}"#, rows.join(","))
}

fn export(db: &Path) -> Vec<u8> {
    ok(&tally(
        &[
            "export",
            "--data-set",
            "pBOMPrpg1QX",
            "--start-date",
            "2014-01-01",
            "--end-date",
            "2014-12-31",
            "--org-unit",
            "DiszpKrYNg8",
            "--include-deleted",
        ],
        db,
    ))
}

#[test]
fn sqlite_to_postgres_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let metadata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metadata/demo.json");
    ok(&tally(
        &["metadata", "import", metadata.to_str().unwrap()],
        &a,
    ));
    ok(&tally(
        &[
            "user",
            "add",
            "admin",
            "--authority",
            "ALL",
            "--org-unit",
            "ImspTQPwCqd",
        ],
        &a,
    ));
    let first = dir.path().join("first.json");
    std::fs::write(
        &first,
        values(&[("201401", "1"), ("201402", "2"), ("201403", "3")], false),
    )
    .unwrap();
    let second = dir.path().join("second.json");
    // An update, an unchanged value and a delete (blank).
    std::fs::write(
        &second,
        values(&[("201401", "10"), ("201402", "2"), ("201403", "")], false),
    )
    .unwrap();
    // The header's period applies to every value: the completion goes alone.
    let completion = dir.path().join("completion.json");
    std::fs::write(&completion, values(&[], true)).unwrap();
    ok(&tally(&["import", first.to_str().unwrap()], &a));
    ok(&tally(&["import", second.to_str().unwrap()], &a));
    ok(&tally(&["import", completion.to_str().unwrap()], &a));

    // A file value's resource: its row in the store, its content beside the database.
    let content = b"a scanned tally sheet";
    let key = "0f".repeat(32);
    let resource = tally_store::FileResourceRow {
        uid: "Fr1leRes0ur".into(),
        name: "sheet.png".into(),
        content_type: "image/png".into(),
        content_length: i64::try_from(content.len()).unwrap(),
        content_md5: "00".repeat(16),
        storage_key: key.clone(),
        domain: "DATA_VALUE".into(),
        assigned: true,
        created_ms: 1_700_000_000_000,
        last_updated_ms: 1_700_000_000_000,
        created_by: "admin".into(),
    };
    {
        use tally_store::DataValueStore as _;
        let store = tally_store_sqlite::SqliteStore::open(&a).unwrap();
        store.save_file_resource(&resource).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("a.db.files")).unwrap();
    std::fs::write(dir.path().join("a.db.files").join(&key), content).unwrap();

    let schema = TestSchema::new();
    let pg_url = schema.url();
    let pg = Path::new(&pg_url);
    ok(&migrate(&a, pg, dir.path()));
    let again = migrate(&a, pg, dir.path());
    assert!(!again.status.success(), "a non-empty target is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let b = dir.path().join("b.db");
    ok(&migrate(pg, &b, dir.path()));

    let original = export(&a);
    let text = String::from_utf8_lossy(&original).into_owned();
    assert!(text.contains(r#""value":"10""#), "{text}");
    assert!(text.contains(r#""deleted":true"#), "{text}");
    assert_eq!(original, export(pg), "PostgreSQL export");
    assert_eq!(original, export(&b), "SQLite export after the round trip");

    let audits = |store: &dyn tally_store::DataValueStore| {
        store
            .query_audits(&tally_store::AuditQuery::default())
            .unwrap()
    };
    let from_a = audits(&tally_store_sqlite::SqliteStore::open(&a).unwrap());
    assert_eq!(from_a.1, 2, "an UPDATE and a DELETE audit: {from_a:?}");
    assert_eq!(from_a, audits(&schema.open()));
    assert_eq!(
        from_a,
        audits(&tally_store_sqlite::SqliteStore::open(&b).unwrap())
    );

    // The file resource and its content went along, through PostgreSQL's files directory.
    {
        use tally_store::DataValueStore as _;
        let copied = tally_store_sqlite::SqliteStore::open(&b).unwrap();
        assert_eq!(copied.file_resource("Fr1leRes0ur").unwrap(), Some(resource));
    }
    assert_eq!(
        std::fs::read(dir.path().join("tally.files").join(&key)).unwrap(),
        content
    );
    assert_eq!(
        std::fs::read(dir.path().join("b.db.files").join(&key)).unwrap(),
        content
    );

    // The copy is a working database: the server's admin can import into it.
    ok(&tally(&["import", first.to_str().unwrap()], pg));
}
