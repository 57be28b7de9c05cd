//! Group commit seen from HTTP: concurrent `POST /api/dataValues` requests share
//! transactions, yet each one is all or nothing on its own (a stale base version fails
//! only its own request) and every 201 is stored.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::future::join_all;

use crate::harness::{TestApp, basic};

const MEASLES: &str = "f7n9E0hX8qk";
const CHOLERA: &str = "eY5ehpbEsB7";
const NGELEHUN: &str = "DiszpKrYNg8";

fn post(uri: &str, if_match: Option<&str>) -> Request<Body> {
    let mut req = Request::post(uri).header("Authorization", basic("admin"));
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_are_isolated_and_all_stored() {
    let t = TestApp::demo();
    let months: Vec<String> = (1..=12).map(|m| format!("2023{m:02}")).collect();
    // One stored value per month, and its version.
    let mut etags = Vec::new();
    for pe in &months {
        let r = t
            .request(post(
                &format!("/api/dataValues?de={MEASLES}&pe={pe}&ou={NGELEHUN}&value=1"),
                None,
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        etags.push(r.header("etag").unwrap().to_owned());
    }
    // The order of concurrent requests is not fixed: keep them out of the transcript.
    t.pause_transcript(true);
    let mut requests = Vec::new();
    for (i, pe) in months.iter().enumerate() {
        // Based on the current version: succeeds.
        requests.push((
            201,
            post(
                &format!(
                    "/api/dataValues?de={MEASLES}&pe={pe}&ou={NGELEHUN}&value={}",
                    100 + i
                ),
                Some(&etags[i]),
            ),
        ));
        // Based on a version that never was current: refused, whatever the order.
        requests.push((
            409,
            post(
                &format!("/api/dataValues?de={MEASLES}&pe={pe}&ou={NGELEHUN}&value=999"),
                Some("\"999999\""),
            ),
        ));
        // Without a base version, on another element: succeeds.
        requests.push((
            201,
            post(
                &format!(
                    "/api/dataValues?de={CHOLERA}&pe={pe}&ou={NGELEHUN}&value={}",
                    200 + i
                ),
                None,
            ),
        ));
    }
    let (expected, requests): (Vec<u16>, Vec<_>) = requests.into_iter().unzip();
    let responses = join_all(requests.into_iter().map(|r| t.request(r))).await;
    for (want, r) in expected.iter().zip(&responses) {
        assert_eq!(r.status.as_u16(), *want, "{}", r.text());
        if *want == 409 {
            assert_eq!(r.json()["errorCode"], "VERSION_CONFLICT");
        }
    }
    let (requests, batches) = t.app.group_commit_stats();
    eprintln!("{requests} single-value writes in {batches} transactions");
    assert!(requests >= 48 && batches <= requests);
    t.pause_transcript(false);
    for (i, pe) in months.iter().enumerate() {
        let r = t
            .get(&format!(
                "/api/dataValues?de={MEASLES}&pe={pe}&ou={NGELEHUN}"
            ))
            .await;
        assert_eq!(r.json(), serde_json::json!([(100 + i).to_string()]));
        let r = t
            .get(&format!(
                "/api/dataValues?de={CHOLERA}&pe={pe}&ou={NGELEHUN}"
            ))
            .await;
        assert_eq!(r.json(), serde_json::json!([(200 + i).to_string()]));
    }
    // Exactly one UPDATE audit per month: the refused writes left nothing. (Their
    // order follows the order the writes happened in: not recorded either.)
    t.pause_transcript(true);
    let r = t
        .get(&format!(
            "/api/audits/dataValue?de={MEASLES}&ou={NGELEHUN}&auditType=UPDATE&paging=false"
        ))
        .await;
    assert_eq!(r.json()["dataValueAudits"].as_array().unwrap().len(), 12);
    t.pause_transcript(false);
}
