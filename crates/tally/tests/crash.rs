//! Crash safety: an acknowledged import survives `kill -9` of the server, and an import
//! interrupted by `kill -9` leaves all or nothing of itself.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tally_store::DataValueStore as _;

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(db: &std::path::Path) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["serve", "--demo", "--listen", &addr, "--database"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tally");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> u16 {
        post(&self.addr, path, content_type, body)
    }

    fn kill9(&mut self) {
        let status = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }
}

/// Sends a request and returns the status code (0 if the connection broke).
fn post(addr: &str, path: &str, content_type: &str, body: &[u8]) -> u16 {
    {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return 0;
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic YWRtaW46ZGlzdHJpY3Q=\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            addr,
            body.len()
        );
        if s.write_all(head.as_bytes())
            .and_then(|()| s.write_all(body))
            .is_err()
        {
            return 0;
        }
        let mut line = String::new();
        if BufReader::new(&mut s).read_line(&mut line).is_err() {
            return 0;
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }
}

/// `n` values of "Measles" for distinct monthly periods at Ngelehun CHC.
fn payload(n: usize, first_year: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"dataValues":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let year = first_year + i / 12;
        let month = i % 12 + 1;
        s.push_str(&format!(
            r#"{{"dataElement":"f7n9E0hX8qk","period":"{year}{month:02}","orgUnit":"DiszpKrYNg8","value":"{}"}}"#,
            i + 1
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

fn stored(db: &std::path::Path) -> u64 {
    tally_store_sqlite::SqliteStore::open(db)
        .unwrap()
        .count_values()
        .unwrap()
}

#[test]
fn acknowledged_imports_survive_kill_9_and_interrupted_ones_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.db");
    let mut server = Server::start(&db);
    // Three acknowledged imports, 24 values each.
    for k in 0..3 {
        let status = server.post(
            "/api/dataValueSets",
            "application/json",
            &payload(24, 1900 + 2 * k),
        );
        assert_eq!(status, 200, "import {k} acknowledged");
    }
    // A large import, killed while it runs.
    let big = payload(96_000, 3000);
    let addr = server.addr.clone();
    let sender =
        std::thread::spawn(move || post(&addr, "/api/dataValueSets", "application/json", &big));
    std::thread::sleep(Duration::from_millis(300));
    server.kill9();
    let status = sender.join().unwrap();
    let n = stored(&db);
    assert!(n >= 72, "acknowledged values lost: {n} stored");
    if status == 200 {
        assert_eq!(n, 72 + 96_000, "acknowledged big import must be complete");
    } else {
        assert!(
            n == 72 || n == 72 + 96_000,
            "an interrupted import must leave all or nothing, found {n}"
        );
    }
    // The database opens cleanly and the server starts again on it.
    let mut again = Server::start(&db);
    let status = again.post("/api/dataValueSets", "application/json", &payload(1, 1800));
    assert_eq!(status, 200);
    again.kill9();
}

/// Sends a request and returns the status code and the whole response (HTTP/1.0, so
/// the body is never chunked).
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let head = format!(
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Basic YWRtaW46ZGlzdHJpY3Q=\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// Group commit: many clients write single values at once (so requests share
/// transactions); the server is killed mid-stream. Every value that was answered 201
/// must be stored after the restart.
#[test]
fn acknowledged_single_values_survive_kill_9_under_group_commit() {
    const CLIENTS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.db");
    let mut server = Server::start(&db);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let addr = server.addr.clone();
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                // 7 years of months per client, from the org unit's opening in 1970.
                for i in 0..84 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let year = 1970 + t * 7 + i / 12;
                    let month = i % 12 + 1;
                    let value = t * 10_000 + i + 1;
                    let path = format!(
                        "/api/dataValues?de=f7n9E0hX8qk&pe={year}{month:02}&ou=DiszpKrYNg8&value={value}"
                    );
                    match post(&addr, &path, "application/x-www-form-urlencoded", b"") {
                        201 => acknowledged.push(value),
                        0 => break,
                        other => panic!("unexpected status {other} for {path}"),
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let the clients get going, then kill the server while they write.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored_rows(&server.addr) < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<usize> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() >= 200,
        "the clients wrote too little before the kill: {}",
        acknowledged.len()
    );
    eprintln!(
        "{} of {} values acknowledged before the kill",
        acknowledged.len(),
        CLIENTS * 84
    );
    let again = Server::start(&db);
    let (status, export) = get(
        &again.addr,
        "/api/dataValueSets.json?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&startDate=1000-01-01&endDate=2100-12-31",
    );
    assert_eq!(status, 200);
    let missing: Vec<usize> = acknowledged
        .iter()
        .copied()
        .filter(|v| !export.contains(&format!("\"value\":\"{v}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged values lost, e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
    let mut again = again;
    again.kill9();
}

/// Rows stored so far, counted through a second read-only connection (0 if unreadable).
fn stored_rows(addr: &str) -> usize {
    let (_, export) = get(
        addr,
        "/api/dataValueSets.json?dataSet=pBOMPrpg1QX&orgUnit=DiszpKrYNg8&startDate=1000-01-01&endDate=2100-12-31",
    );
    export.matches("\"value\":").count()
}
