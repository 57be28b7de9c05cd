//! Several processes on one database: job claims (`FOR UPDATE SKIP LOCKED`), the
//! metadata version other processes poll, and sessions kept in the database. Two
//! stores opened on one schema stand for two processes (each has its own connections).

mod common;

use tally_domain::uid::Uid;
use tally_store::{JobRecord, JobStore, MetadataStore, SessionRecord, SessionStore};

fn job(id: &str, status: &str) -> JobRecord {
    JobRecord {
        id: id.into(),
        job_type: "DATAVALUE_IMPORT".into(),
        status: status.into(),
        created_ms: 1,
        updated_ms: 1,
        username: "admin".into(),
        params: "{}".into(),
        body_path: None,
        notifications: "[]".into(),
        summary: None,
    }
}

#[test]
fn a_job_is_claimed_by_one_process_at_a_time() {
    let schema = common::TestSchema::new();
    let (a, b) = (schema.open(), schema.open());
    assert!(a.shared() && b.shared());
    a.save_job(&job("jobAAAAAAA1", "NOT_STARTED")).unwrap();
    assert!(
        a.claim_job("nosuchjob01").unwrap().is_none(),
        "an unknown job"
    );

    let claim = a.claim_job("jobAAAAAAA1").unwrap().expect("first claim");
    assert!(b.claim_job("jobAAAAAAA1").unwrap().is_none(), "held by a");
    assert!(
        a.claim_job("jobAAAAAAA1").unwrap().is_none(),
        "held, also for the same process"
    );
    // The holder's status updates are not blocked by its claim, and others see them.
    let mut running = job("jobAAAAAAA1", "RUNNING");
    running.notifications = r#"[{"message":"Importing data..."}]"#.into();
    b.save_job(&running).unwrap();
    assert_eq!(b.job("jobAAAAAAA1").unwrap().unwrap().status, "RUNNING");
    drop(claim);

    // Released (as when the holder dies): another process may take it over.
    let claim = b
        .claim_job("jobAAAAAAA1")
        .unwrap()
        .expect("claimed after release");
    a.save_job(&job("jobAAAAAAA1", "COMPLETED")).unwrap();
    drop(claim);
    assert!(
        a.claim_job("jobAAAAAAA1").unwrap().is_none(),
        "a finished job is not claimed"
    );
    assert!(b.claim_job("jobAAAAAAA1").unwrap().is_none());
}

#[test]
fn claims_end_when_the_claiming_process_dies() {
    let schema = common::TestSchema::new();
    let a = schema.open();
    a.save_job(&job("jobBBBBBBB1", "RUNNING")).unwrap();
    {
        let dying = schema.open();
        let claim = dying.claim_job("jobBBBBBBB1").unwrap().expect("claim");
        assert!(a.claim_job("jobBBBBBBB1").unwrap().is_none());
        // Leak the claim's transaction and close the store: its connection ends.
        std::mem::forget(claim);
        drop(dying);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if a.claim_job("jobBBBBBBB1").unwrap().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "claim never released");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn every_metadata_save_moves_the_version_seen_by_others() {
    let schema = common::TestSchema::new();
    let (a, b) = (schema.open(), schema.open());
    let v0 = b.metadata_version().unwrap();
    let uid = Uid::parse("fbfJHSPpUQD").unwrap();
    a.save_metadata(&[("dataElements".into(), uid, "{}".into())])
        .unwrap();
    let v1 = b.metadata_version().unwrap();
    assert_ne!(v0, v1);
    a.save_metadata(&[("dataElements".into(), uid, r#"{"a":1}"#.into())])
        .unwrap();
    assert_ne!(b.metadata_version().unwrap(), v1, "updates count too");
}

#[test]
fn sessions_are_shared_and_end_everywhere() {
    let schema = common::TestSchema::new();
    let (a, b) = (schema.open(), schema.open());
    assert!(a.stores_sessions());
    let s = |digest: &str, user: &str, at: i64| SessionRecord {
        digest: digest.into(),
        user: user.into(),
        last_seen_ms: at,
    };
    a.save_session(&s("d1", "userAAAAAA1", 100)).unwrap();
    a.save_session(&s("d2", "userAAAAAA1", 100)).unwrap();
    a.save_session(&s("d3", "userBBBBBB1", 5)).unwrap();
    assert_eq!(b.session("d1").unwrap(), Some(s("d1", "userAAAAAA1", 100)));
    b.save_session(&s("d1", "userAAAAAA1", 200)).unwrap();
    assert_eq!(a.session("d1").unwrap().unwrap().last_seen_ms, 200);
    b.delete_session("d2").unwrap();
    assert_eq!(a.session("d2").unwrap(), None);
    // Idle ones go, and every session of a user.
    a.delete_sessions(None, 50).unwrap();
    assert_eq!(b.session("d3").unwrap(), None);
    assert!(b.session("d1").unwrap().is_some());
    a.delete_sessions(Some("userAAAAAA1"), i64::MIN).unwrap();
    assert_eq!(b.session("d1").unwrap(), None);
}

#[test]
fn job_bodies_are_kept_in_chunks_and_read_back_whole() {
    let schema = common::TestSchema::new();
    let (a, b) = (schema.open(), schema.open());
    // 2.5 chunks of bytes that differ per position.
    let body: Vec<u8> = (0..(5 << 19)).map(|i: u32| (i % 251) as u8).collect();
    a.save_job_body("jobCCCCCCC1", &mut body.as_slice())
        .unwrap();
    a.save_job_body("jobCCCCCCC2", &mut std::io::empty())
        .unwrap();
    let mut out = Vec::new();
    assert!(b.job_body("jobCCCCCCC1", &mut out).unwrap());
    assert_eq!(out, body);
    let mut out = Vec::new();
    assert!(
        b.job_body("jobCCCCCCC2", &mut out).unwrap(),
        "an empty body"
    );
    assert!(out.is_empty());
    assert!(!b.job_body("nosuchjob01", &mut Vec::new()).unwrap());
    b.delete_job_body("jobCCCCCCC1").unwrap();
    assert!(!a.job_body("jobCCCCCCC1", &mut Vec::new()).unwrap());
}
