//! Two `tally serve` processes on one PostgreSQL database (a schema of its own in
//! `TALLY_TEST_DATABASE_URL`'s cluster): an async import posted to one completes and is
//! reported and exported by the other; metadata imported through one is used by an
//! import through the other within a second; a login session and a personal access
//! token made on one work on the other; a job left by a process that died is run by a
//! survivor, from the body the database keeps when the file is not on its host.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tally_store::JobStore as _;
use tally_store_postgres::testkit::TestSchema;

struct Server {
    child: Child,
    addr: String,
    _cwd: tempfile::TempDir,
}

impl Server {
    /// A server on `url`, in a working directory of its own (its `tally.jobs`).
    fn start(url: &str, demo: bool) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr = format!("127.0.0.1:{port}");
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
        cmd.args(["serve", "--listen", &addr, "--database", url]);
        if demo {
            cmd.arg("--demo");
        }
        let mut child = cmd
            .current_dir(cwd.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tally");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("tally serve exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            addr,
            _cwd: cwd,
        }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Resp { status, head, body }
    }

    fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[("Authorization", ADMIN)], b"")
    }

    fn post_json(&self, path: &str, body: &str) -> Resp {
        self.send(
            "POST",
            path,
            &[
                ("Authorization", ADMIN),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `admin:district`.
const ADMIN: &str = "Basic YWRtaW46ZGlzdHJpY3Q=";

struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..eol])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

fn counts(summary: &serde_json::Value) -> (u64, u64, u64, u64) {
    let c = &summary["importCount"];
    (
        c["imported"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["ignored"].as_u64().unwrap(),
        c["deleted"].as_u64().unwrap(),
    )
}

/// The summary of a synchronous import (unwrapped from its WebMessage).
fn summary(r: &Resp) -> serde_json::Value {
    let j = r.json();
    j.get("response").cloned().unwrap_or(j)
}

/// `n` values of "Measles" for distinct monthly periods at Ngelehun CHC.
fn measles(n: usize, first_year: usize) -> String {
    let values: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"dataElement":"f7n9E0hX8qk","period":"{}{:02}","orgUnit":"DiszpKrYNg8","value":"{}"}}"#,
                first_year + i / 12,
                i % 12 + 1,
                i + 1
            )
        })
        .collect();
    format!(r#"{{"dataValues":[{}]}}"#, values.join(","))
}

fn wait_for_summary(server: &Server, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = server.get(&format!("/api/system/taskSummaries/DATAVALUE_IMPORT/{id}"));
        assert_eq!(r.status, 200);
        if !r.body.is_empty() {
            return r.json();
        }
        assert!(Instant::now() < deadline, "job {id} did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_processes_share_one_postgres_database() {
    let schema = TestSchema::new();
    let url = schema.url();
    let a = Server::start(&url, true);
    let b = Server::start(&url, false);

    // An async import posted to A runs once and is reported, complete, by B.
    let r = a.post_json("/api/dataValueSets?async=true", &measles(240, 1990));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["response"]["id"].as_str().unwrap().to_owned();
    let done = wait_for_summary(&b, &id);
    assert_eq!(counts(&done), (240, 0, 0, 0), "{done}");
    let notes = b
        .get(&format!("/api/system/tasks/DATAVALUE_IMPORT/{id}"))
        .json();
    assert_eq!(notes[0]["completed"], true, "{notes}");
    assert_eq!(
        notes[0]["message"],
        "Import complete with status SUCCESS, 240 created, 0 updated, 0 deleted, 0 ignored"
    );
    let export = b
        .get("/api/dataValueSets.json?dataElement=f7n9E0hX8qk&orgUnit=DiszpKrYNg8&startDate=1990-01-01&endDate=2009-12-31")
        .json();
    assert_eq!(export["dataValues"].as_array().unwrap().len(), 240);

    // Metadata imported through A is used by an import through B within a second.
    let values = r#"{"dataValues":[{"dataElement":"NewElemA001","period":"201401","orgUnit":"DiszpKrYNg8","value":"5"}]}"#;
    let before = summary(&b.post_json("/api/dataValueSets", values));
    assert_eq!(
        counts(&before),
        (0, 0, 1, 0),
        "unknown to B so far: {before}"
    );
    let metadata = r#"{"dataElements":[{"id":"NewElemA001","name":"New element","shortName":"New element","valueType":"NUMBER","aggregationType":"SUM","domainType":"AGGREGATE","categoryCombo":{"id":"bjDvmb4bfuf"}}]}"#;
    let r = a.post_json("/api/metadata", metadata);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let imported = Instant::now();
    loop {
        let s = summary(&b.post_json("/api/dataValueSets", values));
        if counts(&s) == (1, 0, 0, 0) {
            break;
        }
        assert!(
            imported.elapsed() < Duration::from_secs(1),
            "B did not see A's data element within a second: {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // A session made by logging in on A works on B, and logging out on B ends it on A.
    let r = a.send(
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/json")],
        br#"{"username":"admin","password":"district"}"#,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("session cookie");
    assert!(cookie.starts_with("JSESSIONID="), "{cookie}");
    let me = b.send("GET", "/api/me", &[("Cookie", &cookie)], b"");
    assert_eq!(me.status, 200, "{}", String::from_utf8_lossy(&me.body));
    assert_eq!(me.json()["username"], "admin");
    let out = b.send(
        "POST",
        "/api/auth/logout",
        &[("Cookie", &cookie), ("X-Requested-With", "XMLHttpRequest")],
        b"",
    );
    assert!(out.status < 400, "logout: {}", out.status);
    let me = a.send("GET", "/api/me", &[("Cookie", &cookie)], b"");
    assert_eq!(me.status, 401, "the session ended everywhere");

    // A personal access token made on A works on B (within a second).
    let r = a.post_json("/api/apiToken", "{}");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let key = r.json()["response"]["key"].as_str().unwrap().to_owned();
    let auth = format!("ApiToken {key}");
    let made = Instant::now();
    loop {
        let me = b.send("GET", "/api/me", &[("Authorization", &auth)], b"");
        if me.status == 200 {
            assert_eq!(me.json()["username"], "admin");
            break;
        }
        assert!(
            made.elapsed() < Duration::from_secs(1),
            "B did not accept A's token within a second: {}",
            me.status
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // A job left unfinished by a process that died is run by a survivor.
    drop(a);
    let body = b._cwd.path().join("orphan.body");
    std::fs::write(&body, measles(12, 2010)).unwrap();
    let store = schema.open();
    store
        .save_job(&tally_store::JobRecord {
            id: "orphanJob01".into(),
            job_type: "DATAVALUE_IMPORT".into(),
            status: "RUNNING".into(),
            created_ms: 0,
            updated_ms: 0,
            username: "admin".into(),
            params: r#"{"format":"json","query":[]}"#.into(),
            body_path: Some(body.to_string_lossy().into_owned()),
            notifications: "[]".into(),
            summary: None,
        })
        .unwrap();
    let done = wait_for_summary(&b, "orphanJob01");
    assert_eq!(counts(&done), (12, 0, 0, 0), "{done}");

    // Its body only in the database (the file was on the dead process's host).
    store
        .save_job_body("orphanJob02", &mut measles(12, 2011).as_bytes())
        .unwrap();
    store
        .save_job(&tally_store::JobRecord {
            id: "orphanJob02".into(),
            job_type: "DATAVALUE_IMPORT".into(),
            status: "NOT_STARTED".into(),
            created_ms: 0,
            updated_ms: 0,
            username: "admin".into(),
            params: r#"{"format":"json","query":[]}"#.into(),
            body_path: Some("/nonexistent/other-host/orphanJob02.body".into()),
            notifications: "[]".into(),
            summary: None,
        })
        .unwrap();
    let done = wait_for_summary(&b, "orphanJob02");
    assert_eq!(counts(&done), (12, 0, 0, 0), "{done}");
    assert!(
        !store.job_body("orphanJob02", &mut Vec::new()).unwrap(),
        "the kept body is deleted once the job ends"
    );
    drop(store);
    drop(b);
}
