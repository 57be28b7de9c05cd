//! The store's own tokio runtime, on a background thread, which drives every connection.
//!
//! The store traits are synchronous and are called both from plain threads and from
//! inside tokio runtimes (axum handlers, async tasks). `Handle::block_on` and the sync
//! `postgres` crate panic inside a runtime, so store methods never enter a runtime at
//! all: they spawn the async work onto this one (which works from any thread) and wait
//! for the result on a std channel, which blocks the calling thread without needing or
//! minding a tokio context. The runtime lives on its own thread, so it keeps running
//! while the caller blocks, whatever runtime the caller is on.

use std::future::Future;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tally_store::{Result, StoreError};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long shutdown waits for connections to say goodbye to the server.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Driver {
    handle: Handle,
    /// Connection tasks, awaited at shutdown so that they close cleanly.
    connections: Mutex<Vec<JoinHandle<()>>>,
    stop: Mutex<Option<oneshot::Sender<Vec<JoinHandle<()>>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the PostgreSQL store's runtime has stopped".into())
}

/// Async work spawned onto the driver, to be waited for later.
pub(crate) struct Pending<T> {
    rx: mpsc::Receiver<Result<T>>,
}

impl<T> Pending<T> {
    /// Blocks the calling thread (whatever it is) until the work is done.
    pub(crate) fn wait(self) -> Result<T> {
        self.rx.recv().unwrap_or_else(|_| Err(stopped()))
    }
}

impl Driver {
    pub(crate) fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("tally-pg")
            .build()
            .map_err(|e| StoreError::Other(format!("starting the PostgreSQL runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<Vec<JoinHandle<()>>>();
        let thread = std::thread::Builder::new()
            .name("tally-pg".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Ok(connections) = stopped.await {
                        let _ = tokio::time::timeout(CLOSE_GRACE, async move {
                            for c in connections {
                                let _ = c.await;
                            }
                        })
                        .await;
                    }
                });
                // The runtime is dropped here, on its own thread, outside any other
                // runtime: dropping it in a caller's async context would panic.
            })
            .map_err(|e| StoreError::Other(format!("starting the PostgreSQL thread: {e}")))?;
        Ok(Self {
            handle,
            connections: Mutex::new(Vec::new()),
            stop: Mutex::new(Some(stop)),
            thread: Some(thread),
        })
    }

    /// Starts `fut` on the driver; the result is collected with [`Pending::wait`].
    pub(crate) fn spawn<T, F>(&self, fut: F) -> Pending<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        // `Handle::spawn` works from any thread, inside a runtime or not. If the runtime
        // is gone the future is dropped, `tx` with it, and `wait` reports it.
        drop(self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        }));
        Pending { rx }
    }

    /// Runs `fut` on the driver and waits for it.
    pub(crate) fn run<T, F>(&self, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.spawn(fut).wait()
    }

    /// Remembers a connection task so that shutdown lets it finish.
    pub(crate) fn track(&self, task: JoinHandle<()>) {
        let mut tasks = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let tasks = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(tasks);
        }
        if let Some(thread) = self.thread.take() {
            // Joining a plain thread is allowed anywhere, also inside a runtime.
            let _ = thread.join();
        }
    }
}
