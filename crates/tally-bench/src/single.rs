//! Single-value write throughput (issue 4): `POST /api/dataValues` from many concurrent
//! clients on loopback against tally's real HTTP stack (`tally_http::serve`, the code
//! `tally serve` runs, on a SQLite store), each value durable before its 201, measured
//! against two baselines in the same run:
//!
//! * `R_one`: raw SQLite single-row upserts, one durable transaction each
//!   (`synchronous=full`, WAL, the store's schema), one after the other;
//! * `H_noop`: the same HTTP server machinery (`axum::serve`, URL normalisation,
//!   authentication, a blocking-pool hop) answering 201 without touching storage, driven
//!   by the same clients.
//!
//! tally's rate is reported as a ratio to the lower of the two. Every tally response must
//! be 201 and every value must be stored afterwards, or the run fails.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use rusqlite::{Connection, TransactionBehavior, params};
use tally_core::users::UserRecord;
use tally_domain::uid::Uid;
use tally_http::AppState;
use tally_http::auth::CurrentUser;
use tally_http::error::ApiError;
use tally_store::DataValueStore as _;
use tower::ServiceExt as _;

use crate::baseline::{Keys, STORE_PRAGMAS, UPSERT};
use crate::ours;
use crate::shape::{STORED_BY, Shape, Uids};

/// The benchmark user's password (Basic authentication).
const PASSWORD: &str = "bench-Secret1";

/// What to measure.
#[derive(Debug, Clone)]
pub struct SingleConfig {
    /// Requests (distinct new values) per measurement.
    pub requests: usize,
    /// Concurrent clients, each on its own keep-alive connection.
    pub clients: usize,
    /// Runs of every measurement.
    pub runs: usize,
}

/// One measurement's runs.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// Requests (or upserts) per second, one per run.
    pub rates: Vec<f64>,
    /// Median latency per run.
    pub p50: Vec<Duration>,
    /// 99th percentile latency per run.
    pub p99: Vec<Duration>,
}

impl Runs {
    fn push(&mut self, n: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
        self.rates.push(n as f64 / elapsed.as_secs_f64().max(1e-9));
        latencies.sort_unstable();
        let at = |q: usize| {
            latencies
                .get((latencies.len() * q / 100).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        self.p50.push(at(50));
        self.p99.push(at(99));
    }
}

/// The results of [`run`].
#[derive(Debug, Clone)]
pub struct SingleReport {
    pub config: SingleConfig,
    /// Raw SQLite: one durable upsert transaction after another.
    pub raw: Runs,
    /// The HTTP stack without storage.
    pub noop: Runs,
    /// tally's `POST /api/dataValues`.
    pub tally: Runs,
    /// tally's ratio to the lower baseline, per run.
    pub ratios: Vec<f64>,
    /// Average requests per group-commit transaction, per run.
    pub per_commit: Vec<f64>,
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn median_ms(xs: &[Duration]) -> f64 {
    median(
        &xs.iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect::<Vec<_>>(),
    )
}

impl SingleReport {
    /// The Markdown section.
    #[must_use]
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let c = &self.config;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## Single values: `POST /api/dataValues`, {} clients, {} requests, {} run(s)\n",
            c.clients, c.requests, c.runs
        );
        let _ = writeln!(
            s,
            "| Measurement | per s (median) | p50 ms | p99 ms | min / **median** / max |\n|---|---|---|---|---|"
        );
        let range = |xs: &[f64], digits: usize| {
            let mut v = xs.to_vec();
            v.sort_by(f64::total_cmp);
            format!(
                "{:.digits$} / **{:.digits$}** / {:.digits$}",
                v.first().copied().unwrap_or(0.0),
                median(xs),
                v.last().copied().unwrap_or(0.0)
            )
        };
        for (name, r) in [
            (
                "R_one: raw SQLite upsert, one durable transaction each, sequential",
                &self.raw,
            ),
            (
                "H_noop: the HTTP stack answering 201 without storage",
                &self.noop,
            ),
            (
                "tally `POST /api/dataValues`, durable before 201",
                &self.tally,
            ),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {:.0} | {:.2} | {:.2} | {} |",
                median(&r.rates),
                median_ms(&r.p50),
                median_ms(&r.p99),
                range(&r.rates, 0)
            );
        }
        let _ = writeln!(
            s,
            "| **ratio tally / min(R_one, H_noop)** | | | | {} (goal ≥ 0.5: {}) |",
            range(&self.ratios, 2),
            if median(&self.ratios) >= 0.5 {
                "met"
            } else {
                "missed"
            }
        );
        let _ = writeln!(
            s,
            "\nRequests per group-commit transaction (median of runs): {:.1}.",
            median(&self.per_commit)
        );
        s
    }
}

/// Runs the three measurements `config.runs` times in `dir`.
///
/// # Errors
/// Setup failures, a tally response other than 201, or a value not stored afterwards.
pub fn run(dir: &Path, config: &SingleConfig) -> anyhow::Result<SingleReport> {
    ensure!(
        config.requests > 0 && config.clients > 0,
        "nothing to measure"
    );
    let shape = Shape::new(config.requests)?;
    let uids = Uids::new(&shape)?;
    let template = dir.join("single-template.db");
    ours::remove_store(&template);
    ours::create_template(&template, &shape, &uids)?;
    let keys = {
        let app = ours::open(&template)?;
        set_password(&app, &uids)?;
        Keys::resolve(&app.snapshot(), &shape, &uids)?
    };
    let paths: Vec<String> = (0..config.requests)
        .map(|i| {
            let row = shape.row(i);
            format!(
                "/api/dataValues?de={}&pe={}&ou={}&co={}&value={}",
                uids.data_elements[row.data_element],
                shape.periods[row.period],
                uids.org_units[row.org_unit],
                uids.cocs[row.coc],
                i + 1
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Start the blocking pool's threads before any clock runs (they stay for 10 s idle),
    // so that the first measured server does not pay for them.
    runtime.block_on(async {
        let hops: Vec<_> = (0..config.clients * 2)
            .map(|_| tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5))))
            .collect();
        for hop in hops {
            let _ = hop.await;
        }
    });
    let mut report = SingleReport {
        config: config.clone(),
        raw: Runs::default(),
        noop: Runs::default(),
        tally: Runs::default(),
        ratios: Vec::new(),
        per_commit: Vec::new(),
    };
    let db = dir.join("single.db");
    for _ in 0..config.runs {
        // R_one.
        let raw_db = dir.join("single-raw.db");
        ours::remove_store(&raw_db);
        let (elapsed, latencies) = raw_upserts(&raw_db, &keys, config.requests)?;
        report.raw.push(config.requests, elapsed, latencies);
        ours::remove_store(&raw_db);

        // H_noop and tally, on a fresh copy of the template.
        crate::copy_store(&template, &db)?;
        let app = ours::open(&db)?;
        let state = AppState {
            app: Arc::clone(&app),
        };
        let (elapsed, latencies) = serve_and_drive(
            &runtime,
            noop_router(state.clone()),
            &paths,
            config.clients,
            201,
        )
        .context("H_noop")?;
        report.noop.push(config.requests, elapsed, latencies);
        let (elapsed, latencies) = serve_and_drive(
            &runtime,
            tally_http::router(state).map_request(tally_http::path::normalise),
            &paths,
            config.clients,
            201,
        )
        .context("tally POST /api/dataValues")?;
        report.tally.push(config.requests, elapsed, latencies);
        let (requests, batches) = app.group_commit_stats();
        report
            .per_commit
            .push(requests as f64 / batches.max(1) as f64);
        drop(app);
        let stored = tally_store_sqlite::SqliteStore::open(&db)?.count_values()?;
        ensure!(
            stored == config.requests as u64,
            "tally stored {stored} values after {} acknowledged writes",
            config.requests
        );
        let lower = report
            .raw
            .rates
            .last()
            .copied()
            .unwrap_or(0.0)
            .min(report.noop.rates.last().copied().unwrap_or(0.0));
        let ours = report.tally.rates.last().copied().unwrap_or(0.0);
        report.ratios.push(ours / lower.max(1e-9));
        ours::remove_store(&db);
    }
    ours::remove_store(&template);
    Ok(report)
}

/// Gives the benchmark user a real password, so that HTTP clients can log in.
fn set_password(app: &tally_core::App, uids: &Uids) -> anyhow::Result<()> {
    let root = Uid::parse(&uids.root)?;
    let hash = tally_core::users::hash_password(PASSWORD).map_err(anyhow::Error::msg)?;
    let mut user = UserRecord::new(Uid::parse(&uids.user)?, STORED_BY, hash);
    user.first_name = "Bench".into();
    user.surname = "Mark".into();
    user.authorities = vec!["ALL".into()];
    user.organisation_units = vec![root];
    user.data_view_organisation_units = vec![root];
    app.save_users(&[user])?;
    Ok(())
}

/// `R_one`: `n` single-row upserts, each its own `BEGIN IMMEDIATE … COMMIT`.
fn raw_upserts(path: &Path, keys: &Keys, n: usize) -> anyhow::Result<(Duration, Vec<Duration>)> {
    drop(tally_store_sqlite::SqliteStore::open(path).context("creating the raw database")?);
    let mut conn = Connection::open(path)?;
    conn.execute_batch(STORE_PRAGMAS)?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for (i, k) in keys.rows.iter().take(n).enumerate() {
        let t = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(UPSERT)?.execute(params![
            k[0],
            k[1],
            k[2],
            k[3],
            k[4],
            (i + 1).to_string(),
            STORED_BY,
            now_ms,
            now_ms,
            false,
            false,
            i as i64 + 1
        ])?;
        tx.commit()?;
        latencies.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    let stored: i64 = conn.query_row("select count(*) from datavalue", [], |r| r.get(0))?;
    ensure!(
        stored == n as i64,
        "the raw table holds {stored} rows, expected {n}"
    );
    Ok((elapsed, latencies))
}

/// The `H_noop` handler: authenticates as tally does, hops onto the blocking pool as
/// tally's handlers do, and answers 201 without touching storage.
async fn noop(CurrentUser(user): CurrentUser, req: Request) -> Result<Response, ApiError> {
    let query = req.uri().query().map(str::to_owned);
    tokio::task::spawn_blocking(move || (user.username.len(), query.map(|q| q.len())))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::CREATED.into_response())
}

fn noop_router(state: AppState) -> tower::util::MapRequest<axum::Router, fn(Request) -> Request> {
    axum::Router::new()
        .route("/api/dataValues", axum::routing::post(noop))
        .route("/api/me", axum::routing::get(noop))
        .with_state(state)
        .map_request(tally_http::path::normalise as fn(Request) -> Request)
}

/// Serves `service` on a loopback port and drives it with the clients.
fn serve_and_drive<S>(
    runtime: &tokio::runtime::Runtime,
    service: S,
    paths: &[String],
    clients: usize,
    expect: u16,
) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(service),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    let driven = drive(addr, paths, clients, expect);
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    driven
}

/// `clients` threads, each on one keep-alive connection, send the requests (client `c`
/// takes every `clients`-th one); the clock runs from the common start to the last
/// answer. Any status other than `expect` fails the run.
fn drive(
    addr: SocketAddr,
    paths: &[String],
    clients: usize,
    expect: u16,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    // Warm up: the first Basic login pays bcrypt once, before the clock starts.
    let mut warm = Client::connect(addr)?;
    let (status, body) = warm.request("GET", "/api/me")?;
    ensure!(status < 300, "login failed: {status} {body}");
    let barrier = Arc::new(Barrier::new(clients + 1));
    let paths = Arc::new(paths.to_vec());
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let barrier = Arc::clone(&barrier);
            let paths = Arc::clone(&paths);
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let client = Client::connect(addr);
                barrier.wait();
                let mut client = client?;
                let mut latencies = Vec::new();
                for path in paths.iter().skip(c).step_by(clients) {
                    let t = Instant::now();
                    let (status, body) = client.request("POST", path)?;
                    latencies.push(t.elapsed());
                    if status != expect {
                        bail!("{path}: status {status}, expected {expect}: {body}");
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(paths.len());
    let mut failure = None;
    for t in threads {
        match t.join() {
            Ok(Ok(l)) => latencies.extend(l),
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some(anyhow::anyhow!("a client thread panicked")),
        }
    }
    let elapsed = start.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok((elapsed, latencies))
}

/// A minimal HTTP/1.1 keep-alive client (Basic authentication, empty bodies).
struct Client {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self {
            addr,
            reader: BufReader::new(stream),
        })
    }

    /// Sends one request and reads the whole response: status and body.
    fn request(&mut self, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{STORED_BY}:{PASSWORD}")
            )
        );
        self.reader.get_mut().write_all(head.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not expected here");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
