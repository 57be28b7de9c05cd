//! `tally user …` on a real database file: add, list, passwd, disable, enable; the
//! password comes from the environment or stdin and must be long enough.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn tally(
    db: &std::path::Path,
    args: &[&str],
    password: Option<&str>,
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.args(args)
        .arg("--database")
        .arg(db)
        .env_remove("TALLY_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("TALLY_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("run tally");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn open(db: &std::path::Path) -> tally_core::App {
    let store = tally_store_sqlite::SqliteStore::open(db).unwrap();
    tally_core::App::open(std::sync::Arc::new(store), tally_core::Clock::system()).unwrap()
}

#[test]
fn user_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.db");
    ok(&tally(
        &db,
        &["user", "add", "clerk", "--authority", "F_DATAVALUE_ADD"],
        Some("first-password"),
        None,
    ));
    let list = ok(&tally(&db, &["user", "list"], None, None));
    assert!(
        list.contains("clerk") && list.contains("active") && list.contains("F_DATAVALUE_ADD"),
        "{list}"
    );
    let app = open(&db);
    assert!(
        app.authenticate_password("clerk", "first-password", None)
            .is_ok()
    );
    drop(app);

    // Duplicate names, short passwords and unknown org units are refused.
    assert!(
        !tally(
            &db,
            &["user", "add", "clerk"],
            Some("another-password"),
            None
        )
        .status
        .success()
    );
    assert!(
        !tally(&db, &["user", "add", "shorty"], Some("short"), None)
            .status
            .success()
    );
    assert!(
        !tally(
            &db,
            &["user", "add", "far", "--org-unit", "ImspTQPwCqd"],
            Some("long-enough"),
            None
        )
        .status
        .success()
    );

    // passwd reads stdin when TALLY_PASSWORD is unset.
    ok(&tally(
        &db,
        &["user", "passwd", "clerk"],
        None,
        Some("second-password\n"),
    ));
    let app = open(&db);
    assert!(
        app.authenticate_password("clerk", "first-password", None)
            .is_err()
    );
    assert!(
        app.authenticate_password("clerk", "second-password", None)
            .is_ok()
    );
    drop(app);

    ok(&tally(&db, &["user", "disable", "clerk"], None, None));
    assert!(
        open(&db)
            .authenticate_password("clerk", "second-password", None)
            .is_err()
    );
    assert!(ok(&tally(&db, &["user", "list"], None, None)).contains("disabled"));
    ok(&tally(&db, &["user", "enable", "clerk"], None, None));
    assert!(
        open(&db)
            .authenticate_password("clerk", "second-password", None)
            .is_ok()
    );
    assert!(
        !tally(&db, &["user", "disable", "nobody"], None, None)
            .status
            .success()
    );
}
