//! The whole harness on 2,000 values: every measurement present, counted and positive,
//! the memory probe's child run through the real binary.

use std::path::PathBuf;

use tally_bench::payload::PayloadFormat;
use tally_bench::{Config, run};

#[test]
fn whole_harness_on_two_thousand_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        values: 2_000,
        runs: 2,
        formats: PayloadFormat::ALL.to_vec(),
        phases: true,
        memory_values: Some(1_500),
        dir: Some(dir.path().to_path_buf()),
        keep: false,
        exe: Some(PathBuf::from(env!("CARGO_BIN_EXE_tally-bench"))),
        command_line: "tally-bench --values 2000 --runs 2 --phases --memory-values 1500".into(),
        postgres: None,
    };
    let report = run(&config).unwrap();

    let ids: Vec<&str> = report.measurements.iter().map(|m| m.id.as_str()).collect();
    for id in [
        "R_ins",
        "R_ups",
        "R_sel",
        "import:json",
        "reimport:json",
        "export:json",
        "import:csv",
        "reimport:csv",
        "import:xml",
        "reimport:xml",
        "parse:json",
        "dryrun:json",
        "store-insert",
        "store-update",
        "raw-upsert-audit",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    for m in &report.measurements {
        assert_eq!(m.values, 2_000, "{}", m.id);
        assert_eq!(m.seconds.len(), 2, "{}", m.id);
        assert!(m.rates().iter().all(|r| *r > 0.0), "{}", m.id);
        if m.baseline.is_some() {
            assert_eq!(m.ratios.len(), 2, "{}", m.id);
            assert!(
                m.ratios.iter().all(|r| r.is_finite() && *r > 0.0),
                "{}: {:?}",
                m.id,
                m.ratios
            );
        }
    }
    let probe = report.memory.as_ref().unwrap();
    assert_eq!(probe.values, 1_500);
    assert_eq!(probe.child.imported, 1_500);
    assert!(probe.child.peak_kib > 0 && probe.payload_bytes > 0);

    let md = report.markdown();
    assert!(md.contains("| JSON import, empty store |"), "{md}");
    assert!(md.contains("R_ins"));
    assert!(md.contains("Memory probe"));
    // Temporary files are gone.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_failing_import_fails_the_check() {
    use tally_bench::ours::{Expect, check};
    use tally_core::import::Summary;
    use tally_domain::import::{ImportCount, ImportStatus};
    let summary = Summary {
        response_type: "ImportSummary",
        status: ImportStatus::Success,
        import_options: tally_core::import::ImportOptions::default(),
        description: "Import process completed successfully".into(),
        import_count: ImportCount {
            imported: 1_999,
            updated: 0,
            ignored: 1,
            deleted: 0,
        },
        conflicts: Vec::new(),
        rejected_indexes: Vec::new(),
        data_set_complete: None,
    };
    let err = check(&summary, "test import", Expect::Imported(2_000)).unwrap_err();
    assert!(err.to_string().contains("ignored=1"), "{err}");
    let ok = Summary {
        import_count: ImportCount {
            imported: 2_000,
            ignored: 0,
            ..summary.import_count
        },
        ..summary
    };
    check(&ok, "test import", Expect::Imported(2_000)).unwrap();
    assert!(check(&ok, "test re-import", Expect::Updated(2_000)).is_err());
}

#[test]
fn single_values_over_http_with_concurrent_clients() {
    let dir = tempfile::tempdir().unwrap();
    let config = tally_bench::single::SingleConfig {
        requests: 300,
        clients: 8,
        runs: 2,
    };
    // Fails by itself on any response other than 201 or a value not stored.
    let report = tally_bench::single::run(dir.path(), &config).unwrap();
    for runs in [&report.raw, &report.noop, &report.tally] {
        assert_eq!(runs.rates.len(), 2);
        assert!(runs.rates.iter().all(|r| *r > 0.0));
        assert!(runs.p50.iter().zip(&runs.p99).all(|(a, b)| a <= b));
    }
    assert_eq!(report.ratios.len(), 2);
    assert!(report.per_commit.iter().all(|n| *n >= 1.0));
    let md = report.markdown();
    assert!(md.contains("ratio tally / min(R_one, H_noop)"), "{md}");
}

/// The PostgreSQL mode on 2,000 values (server from `TALLY_TEST_DATABASE_URL`): every
/// baseline and both imports measured, ratios against the right baselines, and the
/// bench schema dropped after.
#[test]
fn postgres_mode_on_two_thousand_values() {
    let url = tally_store_postgres::testkit::base_url();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        values: 2_000,
        runs: 2,
        formats: vec![PayloadFormat::Json],
        phases: false,
        memory_values: None,
        dir: Some(dir.path().to_path_buf()),
        keep: false,
        exe: None,
        command_line: "tally-bench --postgres URL --values 2000 --runs 2".into(),
        postgres: Some(url.clone()),
    };
    let report = run(&config).unwrap();
    let ids: Vec<&str> = report.measurements.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "R_copy",
            "R_unnest_ups",
            "R_dhis243_new",
            "R_dhis243_changed",
            "R_dhis243_bare_new",
            "R_dhis243_bare_changed",
            "pg:import:json",
            "pg:reimport:json",
            "pg:import:json:dhis2",
            "pg:reimport:json:dhis2",
            "pg:import:json:dhis2bare",
            "pg:reimport:json:dhis2bare"
        ]
    );
    for m in &report.measurements {
        assert_eq!(m.values, 2_000, "{}", m.id);
        assert_eq!(m.seconds.len(), 2, "{}", m.id);
        if m.baseline.is_some() {
            assert_eq!(m.ratios.len(), 2, "{}", m.id);
            assert!(m.ratios.iter().all(|r| r.is_finite() && *r > 0.0));
        }
    }
    let md = report.markdown();
    assert!(md.contains("R_dhis243"), "{md}");
    assert!(
        md.contains("PostgreSQL: 1"),
        "server version in the report: {md}"
    );
    // The bench schema is gone.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let left: i64 = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query_one(
                "select count(*) from pg_namespace where nspname = $1",
                &[&format!("tally_bench_{}", std::process::id())],
            )
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(left, 0);
}
