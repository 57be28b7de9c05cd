//! A small blocking pool of tokio-postgres connections with per-connection statement
//! caches. Callers are synchronous (see [`crate::driver`]); a checked-out connection is
//! exclusively theirs until the guard drops.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::SinkExt as _;
use tally_store::{Result, StoreError};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use crate::driver::{Driver, Pending};
use crate::{err, sql};

/// An owned statement parameter (it travels to the driver thread).
pub(crate) type Param = Box<dyn ToSql + Send + Sync>;

/// How long a caller waits for a free connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Conn {
    client: Arc<Client>,
    statements: HashMap<&'static str, Statement>,
}

struct State {
    idle: Vec<Conn>,
    /// Open connections, idle or checked out.
    total: usize,
}

pub(crate) struct Pool {
    config: Config,
    max: usize,
    state: Mutex<State>,
    available: Condvar,
    // Declared last: dropped after the idle connections, so that they close cleanly.
    pub(crate) driver: Driver,
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect()
}

impl Pool {
    pub(crate) fn new(config: Config, max: usize) -> Result<Self> {
        Ok(Self {
            config,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                total: 0,
            }),
            available: Condvar::new(),
            driver: Driver::start()?,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection: an idle one, a new one while fewer than `max` are open, or the
    /// next one returned.
    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let deadline = Instant::now() + ACQUIRE_TIMEOUT;
        let mut state = self.lock();
        loop {
            while let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.total -= 1;
                    continue;
                }
                return Ok(Pooled::new(self, conn));
            }
            if state.total < self.max {
                state.total += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled::new(self, conn)),
                    Err(e) => {
                        self.lock().total -= 1;
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "all {} PostgreSQL connections stayed busy for {}s",
                    self.max,
                    ACQUIRE_TIMEOUT.as_secs()
                )));
            }
            state = self
                .available
                .wait_timeout(state, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A connection if one is idle or may be opened now, without waiting for one to be
    /// returned (`None` then).
    pub(crate) fn try_get(&self) -> Result<Option<Pooled<'_>>> {
        let mut state = self.lock();
        while let Some(conn) = state.idle.pop() {
            if conn.client.is_closed() {
                state.total -= 1;
                continue;
            }
            return Ok(Some(Pooled::new(self, conn)));
        }
        if state.total >= self.max {
            return Ok(None);
        }
        state.total += 1;
        drop(state);
        match self.connect() {
            Ok(conn) => Ok(Some(Pooled::new(self, conn))),
            Err(e) => {
                self.lock().total -= 1;
                self.available.notify_one();
                Err(e)
            }
        }
    }

    fn connect(&self) -> Result<Conn> {
        let config = self.config.clone();
        let (client, task) = self.driver.run(async move {
            let (client, connection) = config.connect(NoTls).await.map_err(err)?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "PostgreSQL connection ended with an error");
                }
            });
            client
                .batch_execute(sql::SESSION_SETUP)
                .await
                .map_err(err)?;
            Ok((client, task))
        })?;
        self.driver.track(task);
        Ok(Conn {
            client: Arc::new(client),
            statements: HashMap::new(),
        })
    }
}

/// A checked-out connection. Returned to the pool on drop unless it broke or was left
/// inside a transaction (then it is closed, and the server rolls back).
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    broken: bool,
    pub(crate) in_transaction: bool,
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let discard = self.broken || self.in_transaction || conn.client.is_closed();
        {
            let mut state = self.pool.lock();
            if discard {
                state.total -= 1;
            } else {
                state.idle.push(conn);
                // Pushed; nothing to drop outside the lock.
                drop(state);
                self.pool.available.notify_one();
                return;
            }
        }
        self.pool.available.notify_one();
        // Dropping the client asks its connection task to close the session.
        drop(conn);
    }
}

impl<'a> Pooled<'a> {
    fn new(pool: &'a Pool, conn: Conn) -> Self {
        Self {
            pool,
            conn: Some(conn),
            broken: false,
            in_transaction: false,
        }
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Other("connection already returned".into()))
    }

    fn client(&mut self) -> Result<Arc<Client>> {
        Ok(Arc::clone(&self.conn()?.client))
    }

    /// Marks the connection broken when an error closed it.
    fn check<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() && self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.broken = true;
        }
        r
    }

    /// The prepared statement for `sql`, prepared once per connection.
    pub(crate) fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.conn()?.statements.get(sql) {
            return Ok(s.clone());
        }
        let client = self.client()?;
        let prepared = self
            .pool
            .driver
            .run(async move { client.prepare(sql).await.map_err(err) });
        let statement = self.check(prepared)?;
        self.conn()?.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Prepares `sql` without caching it (for statements whose shape depends on
    /// session state, like `FETCH`).
    pub(crate) fn prepare_uncached(&mut self, sql: &'static str) -> Result<Statement> {
        let client = self.client()?;
        let prepared = self
            .pool
            .driver
            .run(async move { client.prepare(sql).await.map_err(err) });
        self.check(prepared)
    }

    /// Runs a fixed statement and returns its rows.
    pub(crate) fn query(&mut self, sql: &'static str, params: Vec<Param>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let client = self.client()?;
        let r = self
            .pool
            .driver
            .run(async move { client.query(&statement, &refs(&params)).await.map_err(err) });
        self.check(r)
    }

    /// Runs a fixed statement and returns the number of rows it changed.
    pub(crate) fn execute(&mut self, sql: &'static str, params: Vec<Param>) -> Result<u64> {
        let statement = self.statement(sql)?;
        let client = self.client()?;
        let r = self.pool.driver.run(async move {
            client
                .execute(&statement, &refs(&params))
                .await
                .map_err(err)
        });
        self.check(r)
    }

    /// Runs a statement built at run time (not cached).
    pub(crate) fn execute_dynamic(&mut self, sql: String, params: Vec<Param>) -> Result<u64> {
        let client = self.client()?;
        let r = self.pool.driver.run(async move {
            client
                .execute(sql.as_str(), &refs(&params))
                .await
                .map_err(err)
        });
        self.check(r)
    }

    /// Runs a query built at run time (not cached) and returns its rows.
    pub(crate) fn query_dynamic(&mut self, sql: String, params: Vec<Param>) -> Result<Vec<Row>> {
        let client = self.client()?;
        let r = self.pool.driver.run(async move {
            client
                .query(sql.as_str(), &refs(&params))
                .await
                .map_err(err)
        });
        self.check(r)
    }

    /// Runs statements without parameters through the simple protocol.
    pub(crate) fn batch(&mut self, sql: &'static str) -> Result<()> {
        let client = self.client()?;
        let r = self
            .pool
            .driver
            .run(async move { client.batch_execute(sql).await.map_err(err) });
        self.check(r)
    }

    /// Starts a fixed statement without waiting for it (requests on one connection are
    /// pipelined and answered in order).
    pub(crate) fn spawn_query(
        &mut self,
        statement: Statement,
        params: Vec<Param>,
    ) -> Result<Pending<Vec<Row>>> {
        let client = self.client()?;
        Ok(self
            .pool
            .driver
            .spawn(async move { client.query(&statement, &refs(&params)).await.map_err(err) }))
    }

    /// Waits for work started with [`Pooled::spawn_query`].
    pub(crate) fn wait<T>(&mut self, pending: Pending<T>) -> Result<T> {
        let r = pending.wait();
        self.check(r)
    }

    /// Starts one driver-side job with this connection's client without waiting for it
    /// (see [`Pooled::wait`]); requests on the connection still run in the order sent.
    pub(crate) fn spawn_with_client<T, F, Fut>(&mut self, f: F) -> Result<Pending<T>>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let client = self.client()?;
        Ok(self.pool.driver.spawn(f(client)))
    }
}

/// Sends `data` (a complete binary COPY stream) through `statement` (a `COPY … FROM
/// STDIN`); returns the number of rows copied.
pub(crate) async fn copy_in(client: &Client, statement: &Statement, data: Bytes) -> Result<u64> {
    let sink = client.copy_in::<_, Bytes>(statement).await.map_err(err)?;
    futures_util::pin_mut!(sink);
    sink.send(data).await.map_err(err)?;
    sink.as_mut().finish().await.map_err(err)
}
