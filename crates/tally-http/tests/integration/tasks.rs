//! Async imports: the "Initiated" answer, task notifications and summaries, and jobs
//! surviving a restart (spec §8).

use std::time::Duration;

use axum::http::StatusCode;

use crate::harness::{TestApp, counts, fixture};

/// Polls until the job has a summary (unrecorded: the number of polls depends on
/// timing), then fetches it once more for the transcript. The job id is redacted.
async fn wait_for_summary(t: &TestApp, id: &str) -> serde_json::Value {
    t.redact(id, "[job id]");
    let uri = format!("/api/system/taskSummaries/DATAVALUE_IMPORT/{id}");
    t.pause_transcript(true);
    for _ in 0..200 {
        let r = t.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK);
        if !r.body.is_empty() {
            t.pause_transcript(false);
            return t.get(&uri).await.json();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn async_import_reports_initiated_then_completes_with_notifications() {
    let t = TestApp::new();
    let r = t
        .post(
            "/api/dataValueSets?async=true",
            "application/xml",
            fixture("dataValueSetB.xml"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .starts_with("Initiated DATAVALUE_IMPORT ("),
        "{j}"
    );
    assert_eq!(j["response"]["jobType"], "DATAVALUE_IMPORT");
    assert!(
        r.header("location")
            .unwrap()
            .ends_with("/api/system/tasks/DATAVALUE_IMPORT")
    );
    let id = j["response"]["id"].as_str().unwrap().to_owned();
    let summary = wait_for_summary(&t, &id).await;
    assert_eq!(summary["status"], "SUCCESS");
    assert_eq!(counts(&summary), (12, 0, 0, 0));
    let notes = t
        .get(&format!("/api/system/tasks/DATAVALUE_IMPORT/{id}"))
        .await
        .json();
    let messages: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages[0],
        "Import complete with status SUCCESS, 12 created, 0 updated, 0 deleted, 0 ignored"
    );
    assert!(messages.contains(&"Importing data..."));
    assert!(messages.contains(&"Data value set import"));
    assert_eq!(notes[0]["completed"], true);
    let unknown = t
        .get("/api/system/tasks/DATAVALUE_IMPORT/unknownJob1")
        .await
        .json();
    assert_eq!(unknown, serde_json::json!([]));
}

#[tokio::test]
async fn async_empty_json_ends_with_an_error_summary() {
    let t = TestApp::new();
    let r = t
        .post(
            "/api/dataValueSets?async=true",
            "application/json",
            Vec::new(),
        )
        .await;
    let id = r.json()["response"]["id"].as_str().unwrap().to_owned();
    let summary = wait_for_summary(&t, &id).await;
    assert_eq!(summary["status"], "ERROR");
    assert!(
        summary["description"]
            .as_str()
            .unwrap()
            .contains("No content to map due to end-of-input")
    );
    let notes = t
        .get(&format!("/api/system/tasks/DATAVALUE_IMPORT/{id}"))
        .await
        .json();
    assert_eq!(
        notes[0]["message"],
        "Import complete with status ERROR, 0 created, 0 updated, 0 deleted, 0 ignored"
    );
}

#[tokio::test]
async fn unfinished_jobs_resume_after_a_restart() {
    let t = TestApp::new();
    // A job stored as if the process died before running it.
    let dir = t.app.jobs_dir().clone();
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("pending.body");
    std::fs::write(&body, fixture("dataValueSetB.xml")).unwrap();
    let lost = tally_store::JobRecord {
        id: "pendingJob1".into(),
        job_type: "DATAVALUE_IMPORT".into(),
        status: "RUNNING".into(),
        created_ms: 0,
        updated_ms: 0,
        username: "admin".into(),
        params: r#"{"format":"xml","query":[]}"#.into(),
        body_path: Some(body.to_string_lossy().into_owned()),
        notifications: "[]".into(),
        summary: None,
    };
    let gone = tally_store::JobRecord {
        id: "lostBody001".into(),
        body_path: Some(dir.join("missing.body").to_string_lossy().into_owned()),
        ..lost.clone()
    };
    t.app.store().save_job(&lost).unwrap();
    t.app.store().save_job(&gone).unwrap();
    let dir = t.into_dir();
    let t = TestApp::reopen(dir);
    assert_eq!(t.app.resume_jobs().unwrap(), 2);
    let summary = wait_for_summary(&t, "pendingJob1").await;
    assert_eq!(counts(&summary), (12, 0, 0, 0));
    assert_eq!(t.count(), 12);
    let failed = wait_for_summary(&t, "lostBody001").await;
    assert_eq!(failed["status"], "ERROR");
    assert!(!body.exists(), "the body is removed once the job ends");
}
