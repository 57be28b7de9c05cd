//! The shared store conformance suite on PostgreSQL, plus the backend's own checks:
//! every statement prepares, migrations are applied once even by concurrent openers.

mod common;

use tally_store_postgres::{PgStore, sql};
use tokio_postgres::NoTls;

tally_store::conformance_tests!(common::fresh());

/// Prepares every statement of the backend on a session of a migrated schema.
#[test]
fn every_statement_prepares_against_the_migrated_schema() {
    use jiff::civil::date;
    use tally_store::{ExportOrder, ExportQuery, PeriodFilter};

    let (schema, store) = common::fresh();
    drop(store);
    let config = schema.config();
    let queries = {
        let base = ExportQuery {
            data_elements: vec![1],
            periods: PeriodFilter::Any,
            org_units: vec![2],
            attribute_option_combos: None,
            include_deleted: true,
            last_updated_since_ms: None,
            limit: None,
            order: ExportOrder::Storage,
        };
        let widest = ExportQuery {
            periods: PeriodFilter::Keys(vec![3]),
            attribute_option_combos: Some(vec![4]),
            include_deleted: false,
            last_updated_since_ms: Some(5),
            limit: Some(6),
            order: ExportOrder::OrgUnitPeriod,
            ..base.clone()
        };
        let within = ExportQuery {
            periods: PeriodFilter::Within {
                start: date(2024, 1, 1),
                end: date(2024, 12, 31),
            },
            ..widest.clone()
        };
        [base, widest, within]
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (client, connection) = config.connect(NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        client.batch_execute(sql::SESSION_SETUP).await.unwrap();
        for statement in sql::ALL {
            client
                .prepare(statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        client.batch_execute(sql::BEGIN_EXPORT).await.unwrap();
        for q in &queries {
            let (text, _) = sql::export(q);
            client
                .prepare(&text)
                .await
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            let declare = format!("declare {} no scroll cursor for {text}", sql::EXPORT_CURSOR);
            client
                .prepare(&declare)
                .await
                .unwrap_or_else(|e| panic!("{declare}: {e}"));
        }
        let audit_queries = [
            tally_store::AuditQuery::default(),
            tally_store::AuditQuery {
                data_elements: vec![1],
                periods: vec![2],
                org_units: vec![3],
                category_option_combo: Some(4),
                attribute_option_combo: Some(5),
                audit_types: vec![tally_domain::import::AuditType::Update],
                offset: 6,
                limit: Some(7),
            },
        ];
        for q in &audit_queries {
            let (count, select, _) = sql::audits(q);
            for text in [count, select] {
                client
                    .prepare(&text)
                    .await
                    .unwrap_or_else(|e| panic!("{text}: {e}"));
            }
        }
        client
            .batch_execute(&format!(
                "declare {} no scroll cursor for select 1",
                sql::EXPORT_CURSOR
            ))
            .await
            .unwrap();
        client.prepare(sql::FETCH_EXPORT).await.unwrap();
        client.batch_execute("rollback").await.unwrap();
        drop(client);
        let _ = task.await;
    });
}

#[test]
fn the_fetch_size_is_the_chunk_size() {
    assert_eq!(
        sql::FETCH_EXPORT,
        format!(
            "fetch forward {} from {}",
            sql::EXPORT_CHUNK,
            sql::EXPORT_CURSOR
        )
    );
}

#[test]
fn reopening_keeps_data_and_does_not_reapply_migrations() {
    use tally_domain::uid::Uid;
    use tally_store::MetadataStore;

    let (schema, store) = common::fresh();
    assert_eq!(store.schema_version().unwrap(), latest_migration());
    let uid = Uid::parse("f7n9E0hX8qk").unwrap();
    let ids = store
        .save_metadata(&[("dataElements".into(), uid, "{}".into())])
        .unwrap();
    drop(store);
    let again = schema.open();
    assert_eq!(again.schema_version().unwrap(), latest_migration());
    assert_eq!(again.load_metadata().unwrap()[0].id, ids[0]);
}

/// Several processes starting at once on an empty database: the advisory lock makes
/// one migrate and the others wait, then find the schema ready.
#[test]
fn concurrent_opens_migrate_once() {
    let schema = common::TestSchema::new();
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    PgStore::open_config(schema.config(), 2).map(|st| st.schema_version())
                })
            })
            .collect();
        for h in handles {
            let version = h.join().unwrap().expect("open").expect("version");
            assert_eq!(version, latest_migration());
        }
    });
}

#[test]
fn an_unreachable_server_is_an_error_not_a_panic() {
    let e = PgStore::open("postgres://nobody@127.0.0.1:1/none?connect_timeout=2").unwrap_err();
    assert!(
        matches!(e, tally_store::StoreError::Unavailable(_)),
        "{e:?}"
    );
    let e = PgStore::open("postgres://[bad").unwrap_err();
    assert!(matches!(e, tally_store::StoreError::Other(_)), "{e:?}");
}

/// One schema version per file in this backend's `migrations/`.
fn latest_migration() -> i64 {
    tally_store::conformance::migration_count(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations"
    )))
}
