//! `TestApp`: a tally with the dhis2-core test metadata, an `admin` superuser and the
//! non-superuser `importer` of DHIS2's integration tests (org units A and B).

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use tally_core::users::UserRecord;
use tally_core::{App, Clock};
use tally_domain::uid::Uid;
use tally_store_postgres::testkit::TestSchema;
use tally_store_sqlite::SqliteStore;
use tower::ServiceExt as _;

pub struct TestApp {
    _dir: tempfile::TempDir,
    pub app: Arc<App>,
    /// Every request and response of the test, compared with its committed transcript
    /// when the app is dropped (see [`crate::transcript`]).
    transcript: crate::transcript::Transcript,
    /// The PostgreSQL schema of this test (`TALLY_TEST_BACKEND=postgres`), dropped
    /// after the app.
    schema: Option<TestSchema>,
}

/// The store of the database in `dir`: a SQLite file there, or with
/// `TALLY_TEST_BACKEND=postgres` a schema of its own in `TALLY_TEST_DATABASE_URL`'s
/// cluster, whose name is kept in `dir` so that a reopen finds the same database. The
/// schema is dropped with the returned guard.
pub fn open_store(dir: &std::path::Path) -> (Arc<dyn tally_core::Store>, Option<TestSchema>) {
    match std::env::var("TALLY_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let file = dir.join("pg-schema");
            let schema = match std::fs::read_to_string(&file) {
                Ok(name) => TestSchema::adopt(name.trim()),
                Err(_) => {
                    let s = TestSchema::new();
                    std::fs::write(&file, &s.name).unwrap();
                    s
                }
            };
            (Arc::new(schema.open()), Some(schema))
        }
        Ok("sqlite") | Err(_) => (
            Arc::new(SqliteStore::open(dir.join("tally.db")).unwrap()),
            None,
        ),
        Ok(other) => panic!("TALLY_TEST_BACKEND={other}: use sqlite or postgres"),
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The shared folder with DHIS2's fixtures.
pub fn conformance(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    let path = root.join(name);
    assert!(path.exists(), "fixture missing: {}", path.display());
    path
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(conformance(&format!("dhis2-core/{name}"))).expect("read fixture")
}

fn user(id: &str, name: &str, authorities: &[&str], units: &[&str]) -> UserRecord {
    let mut r = UserRecord::new(
        Uid::parse(id).unwrap(),
        name,
        bcrypt::hash("district", 4).unwrap(),
    );
    r.first_name = name.into();
    r.surname = "Test".into();
    r.authorities = authorities.iter().map(|a| (*a).to_owned()).collect();
    r.organisation_units = units.iter().map(|u| Uid::parse(u).unwrap()).collect();
    r
}

impl TestApp {
    pub fn new() -> Self {
        Self::in_dir(tempfile::tempdir().unwrap())
    }

    /// A fresh app on the database in `dir` (a restart, when the database exists).
    pub fn reopen(dir: tempfile::TempDir) -> Self {
        let (app, schema) = Self::open_app(dir.path());
        Self {
            _dir: dir,
            app: Arc::new(app),
            transcript: crate::transcript::Transcript::default(),
            schema,
        }
    }

    /// Ends this app (its transcript is checked as it drops) and keeps its database for
    /// a restart.
    pub fn into_dir(mut self) -> tempfile::TempDir {
        if let Some(schema) = self.schema.take() {
            schema.keep();
        }
        self._dir
    }

    /// The directory of this test's database (see [`open_store`]).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stops or restarts recording requests in the transcript (for polling loops).
    pub fn pause_transcript(&self, paused: bool) {
        self.transcript.pause(paused);
    }

    /// Adds a redaction for this test's transcript (e.g. random job ids).
    pub fn redact(&self, pattern: &str, replacement: &str) {
        self.transcript.redact(pattern, replacement);
    }

    fn open_app(dir: &std::path::Path) -> (App, Option<TestSchema>) {
        let (store, schema) = open_store(dir);
        let app = App::open(store, Clock::system())
            .unwrap()
            .with_jobs_dir(dir.join("jobs"));
        (app, schema)
    }

    /// A tally with the demo metadata instead of DHIS2's test metadata.
    pub fn demo() -> Self {
        Self::with_metadata(tempfile::tempdir().unwrap(), "demo.json")
    }

    /// The demo with `extra`, a metadata document that must import without errors.
    pub fn demo_with(extra: &str) -> Self {
        let t = Self::demo();
        let report = t.app.import_metadata(extra).unwrap();
        assert!(
            report.errors().next().is_none(),
            "{}",
            serde_json::to_string(&report).unwrap()
        );
        t
    }

    fn in_dir(dir: tempfile::TempDir) -> Self {
        Self::with_metadata(dir, "dhis2-core-test.json")
    }

    fn with_metadata(dir: tempfile::TempDir, file: &str) -> Self {
        let (app, schema) = Self::open_app(dir.path());
        let metadata = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/metadata")
                .join(file),
        )
        .unwrap();
        let report = app.import_metadata(&metadata).unwrap();
        assert!(
            report.errors().next().is_none(),
            "{}",
            serde_json::to_string(&report).unwrap()
        );
        app.save_users(&[
            user(
                "M5zQapPyTZI",
                "admin",
                &["ALL"],
                &[
                    "DiszpKrYNg8",
                    "BdfsJfj87js",
                    "j7Hg26FpoIa",
                    "P1233333333",
                    "ImspTQPwCqd",
                ],
            ),
            user(
                "imprtUsr001",
                "importer",
                &["F_DATAVALUE_ADD", "F_SKIP_DATA_IMPORT_AUDIT"],
                &["DiszpKrYNg8", "BdfsJfj87js"],
            ),
            user("readOnly001", "reader", &[], &["DiszpKrYNg8"]),
        ])
        .unwrap();
        Self {
            _dir: dir,
            app: Arc::new(app),
            transcript: crate::transcript::Transcript::default(),
            schema,
        }
    }

    pub async fn request(&self, req: Request<Body>) -> Resp {
        let line = format!("{} {}", req.method(), req.uri());
        let svc = tally_http::service(tally_http::AppState {
            app: Arc::clone(&self.app),
        });
        let resp = svc.oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let resp = Resp {
            status,
            headers,
            body,
        };
        self.transcript.record(&line, &resp);
        resp
    }

    /// Any request as `user`, with extra headers.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        user: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", basic(user));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.request(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn post_as(&self, user: &str, uri: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let req = Request::post(uri)
            .header("Authorization", basic(user))
            .header("Content-Type", content_type)
            .body(Body::from(body))
            .unwrap();
        self.request(req).await
    }

    pub async fn post(&self, uri: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.post_as("admin", uri, content_type, body).await
    }

    pub async fn get_as(&self, user: &str, uri: &str) -> Resp {
        let req = Request::get(uri)
            .header("Authorization", basic(user))
            .body(Body::empty())
            .unwrap();
        self.request(req).await
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.get_as("admin", uri).await
    }

    /// Imports a fixture and returns the ImportSummary (unwrapped from the WebMessage).
    pub async fn import(&self, fixture_name: &str, query: &str) -> serde_json::Value {
        let ct = content_type(fixture_name);
        let r = self
            .post(
                &format!("/api/dataValueSets?{query}"),
                ct,
                fixture(fixture_name),
            )
            .await;
        let json = r.json();
        json.get("response").cloned().unwrap_or(json)
    }

    pub fn count(&self) -> u64 {
        self.app.store().count_values().unwrap()
    }

    /// Live values exported for data set A, org units A–C, Jan–Jun 2012.
    pub async fn live_values(&self) -> Vec<serde_json::Value> {
        let r = self
            .get("/api/dataValueSets.json?dataSet=pBOMPrpg1QX&dataElement=jH26dja2f28&dataElement=jH26dja2f30&dataElement=jH26dja2f31&orgUnit=DiszpKrYNg8&orgUnit=BdfsJfj87js&orgUnit=j7Hg26FpoIa&startDate=2012-01-01&endDate=2012-12-31")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["dataValues"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Live values of one data element in org units A–C during 2012.
    pub async fn live_values_of(&self, de: &str) -> Vec<serde_json::Value> {
        let r = self
            .get(&format!("/api/dataValueSets.json?dataElement={de}&orgUnit=DiszpKrYNg8&orgUnit=BdfsJfj87js&orgUnit=j7Hg26FpoIa&startDate=2012-01-01&endDate=2012-12-31"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["dataValues"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/json"
    } else if name.ends_with(".csv") {
        "application/csv"
    } else {
        "application/xml"
    }
}

pub fn basic(user: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:district"))
    )
}

/// `(imported, updated, ignored, deleted)` of a summary.
pub fn counts(summary: &serde_json::Value) -> (u64, u64, u64, u64) {
    let c = &summary["importCount"];
    (
        c["imported"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["ignored"].as_u64().unwrap(),
        c["deleted"].as_u64().unwrap(),
    )
}
