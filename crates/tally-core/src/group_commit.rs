//! Group commit of single-value writes (`POST`/`DELETE /api/dataValues`, follow-ups).
//!
//! ```text
//! request threads ──(validated changes)──► queue ──► writer thread
//!                                                    takes everything queued (≤ MAX_BATCH),
//!                                                    DataValueStore::apply_change_groups:
//!                                                    ONE durable transaction, a savepoint
//!                                                    per request
//! request threads ◄──(each its own results, after the commit is on disk)──┘
//! ```
//!
//! Every request stays all or nothing on its own (a stale or missing outcome rolls back
//! only that request's savepoint), and is answered only after the transaction holding
//! it is committed, so an acknowledged write is never lost. While one batch is being
//! made durable (one fsync), the next requests queue up and share the next fsync: a lone
//! request waits for nothing, concurrent ones share the cost of durability.
//!
//! A backend error fails a whole batch; the writer then applies that batch's requests
//! one by one (`apply_changes`), so each request gets its own answer and one bad request
//! cannot fail the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use tally_domain::import::{Change, ElementRule};
use tally_store::{
    ChangeGroup, ChangeResult, DataValueStore, PeriodRow, StoreError, ValueChange, ValueKey,
};

/// Requests applied in one transaction at most (bounds the transaction and the latency
/// of the batch's first request).
pub const MAX_BATCH: usize = 256;

/// [`Change`], owned, so that it can travel to the writer thread.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OwnedChange {
    Save {
        value: Option<Option<String>>,
        comment: Option<Option<String>>,
        follow_up: Option<bool>,
    },
    Delete,
    FollowUp(bool),
}

/// [`ValueChange`], owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedValueChange {
    key: ValueKey,
    change: OwnedChange,
    rule: ElementRule,
    base_version: Option<i64>,
    user: String,
}

impl OwnedValueChange {
    fn of(c: &ValueChange<'_>) -> Self {
        let text = |t: Option<Option<&str>>| t.map(|t| t.map(str::to_owned));
        Self {
            key: c.key,
            change: match c.change {
                Change::Save {
                    value,
                    comment,
                    follow_up,
                } => OwnedChange::Save {
                    value: text(value),
                    comment: text(comment),
                    follow_up,
                },
                Change::Delete => OwnedChange::Delete,
                Change::FollowUp(flag) => OwnedChange::FollowUp(flag),
            },
            rule: c.rule,
            base_version: c.base_version,
            user: c.user.to_owned(),
        }
    }

    fn borrow(&self) -> ValueChange<'_> {
        fn text(t: &Option<Option<String>>) -> Option<Option<&str>> {
            t.as_ref().map(|t| t.as_deref())
        }
        ValueChange {
            key: self.key,
            change: match &self.change {
                OwnedChange::Save {
                    value,
                    comment,
                    follow_up,
                } => Change::Save {
                    value: text(value),
                    comment: text(comment),
                    follow_up: *follow_up,
                },
                OwnedChange::Delete => Change::Delete,
                OwnedChange::FollowUp(flag) => Change::FollowUp(*flag),
            },
            rule: self.rule,
            base_version: self.base_version,
            user: &self.user,
        }
    }
}

type Answer = Result<Vec<ChangeResult>, StoreError>;

/// One request waiting for the writer.
struct Job {
    periods: Vec<PeriodRow>,
    changes: Vec<OwnedValueChange>,
    now_ms: i64,
    reply: Sender<Answer>,
}

/// Counters of the writer (for tests and benchmarks).
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    batches: AtomicU64,
}

/// The group-commit writer: one thread owning all single-value writes of a store.
pub struct GroupCommit {
    store: Arc<dyn DataValueStore>,
    queue: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl GroupCommit {
    /// Starts the writer thread of `store`.
    #[must_use]
    pub fn start(store: Arc<dyn DataValueStore>) -> Self {
        let (queue, jobs) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let writer = {
            let store = Arc::clone(&store);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("tally-group-commit".into())
                .spawn(move || write_loop(store.as_ref(), &jobs, &counters))
                .ok()
        };
        // Without a writer thread (the OS refused one) every request writes on its own.
        let queue = writer.as_ref().map(|_| queue);
        Self {
            store,
            queue,
            writer,
            counters,
        }
    }

    /// Applies one request's changes exactly as [`DataValueStore::apply_changes`]
    /// does, in the writer's next batch; returns once that batch is durable.
    ///
    /// # Errors
    /// Backend failures; nothing of this request is written then.
    pub fn apply(
        &self,
        periods: &[PeriodRow],
        changes: &[ValueChange<'_>],
        now_ms: i64,
    ) -> Result<Vec<ChangeResult>, StoreError> {
        let Some(queue) = &self.queue else {
            return self.store.apply_changes(periods, changes, now_ms);
        };
        let (reply, answer) = mpsc::channel();
        let job = Job {
            periods: periods.to_vec(),
            changes: changes.iter().map(OwnedValueChange::of).collect(),
            now_ms,
            reply,
        };
        if queue.send(job).is_err() {
            // The writer is gone (it can only end by a panic): write directly.
            return self.store.apply_changes(periods, changes, now_ms);
        }
        answer.recv().unwrap_or_else(|_| {
            Err(StoreError::Other(
                "the group-commit writer stopped before answering".into(),
            ))
        })
    }

    /// Requests written so far and the batches (transactions) they took.
    #[must_use]
    pub fn stats(&self) -> (u64, u64) {
        (
            self.counters.requests.load(Ordering::Relaxed),
            self.counters.batches.load(Ordering::Relaxed),
        )
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the queue ends the writer after the requests already queued.
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn write_loop(store: &dyn DataValueStore, jobs: &Receiver<Job>, counters: &Counters) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        run_batch(store, batch);
    }
}

/// Applies `batch` in one transaction and answers every request of it.
fn run_batch(store: &dyn DataValueStore, batch: Vec<Job>) {
    let borrowed: Vec<Vec<ValueChange<'_>>> = batch
        .iter()
        .map(|j| j.changes.iter().map(OwnedValueChange::borrow).collect())
        .collect();
    let groups: Vec<ChangeGroup<'_>> = batch
        .iter()
        .zip(&borrowed)
        .map(|(j, changes)| ChangeGroup {
            periods: &j.periods,
            changes,
            now_ms: j.now_ms,
        })
        .collect();
    match store.apply_change_groups(&groups) {
        Ok(results) if results.len() == batch.len() => {
            for (job, result) in batch.iter().zip(results) {
                // A request whose thread gave up waiting is not an error of the others.
                let _ = job.reply.send(Ok(result));
            }
        }
        Ok(results) => {
            // Committed, but not answerable per request: a store bug, never re-applied.
            for job in &batch {
                let _ = job.reply.send(Err(StoreError::Other(format!(
                    "the store answered {} of {} requests",
                    results.len(),
                    batch.len()
                ))));
            }
        }
        Err(e) => {
            if let [job] = batch.as_slice() {
                let _ = job.reply.send(Err(e));
                return;
            }
            // Nothing was written: each request on its own, so that only the one at
            // fault fails.
            for (job, changes) in batch.iter().zip(&borrowed) {
                let _ = job
                    .reply
                    .send(store.apply_changes(&job.periods, changes, job.now_ms));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tally_domain::import::ChangeOutcome;
    use tally_domain::value_type::ValueType;
    use tally_store_sqlite::SqliteStore;

    const RULE: ElementRule = ElementRule {
        value_type: ValueType::Number,
        zero_is_significant: false,
        average: false,
    };

    fn period() -> PeriodRow {
        PeriodRow {
            key: 800_000_000 + 20_240_101,
            period_type: "Monthly",
            start: jiff::civil::date(2024, 1, 1),
            end: jiff::civil::date(2024, 1, 31),
            iso: "202401".into(),
        }
    }

    fn key(org_unit: u32) -> ValueKey {
        ValueKey {
            period: period().key,
            org_unit,
            data_element: 1,
            category_option_combo: 1,
            attribute_option_combo: 1,
        }
    }

    fn save<'a>(k: ValueKey, value: &'a str, base: Option<i64>) -> ValueChange<'a> {
        ValueChange {
            key: k,
            change: Change::Save {
                value: Some(Some(value)),
                comment: None,
                follow_up: None,
            },
            rule: RULE,
            base_version: base,
            user: "admin",
        }
    }

    fn job(changes: &[ValueChange<'_>]) -> (Job, Receiver<Answer>) {
        let (reply, answer) = mpsc::channel();
        let job = Job {
            periods: vec![period()],
            changes: changes.iter().map(OwnedValueChange::of).collect(),
            now_ms: 1_700_000_000_000,
            reply,
        };
        (job, answer)
    }

    fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap());
        (dir, store)
    }

    #[test]
    fn owned_changes_round_trip() {
        let follow = ValueChange {
            change: Change::FollowUp(true),
            ..save(key(1), "x", Some(3))
        };
        let clear = ValueChange {
            change: Change::Save {
                value: Some(None),
                comment: None,
                follow_up: Some(false),
            },
            ..save(key(2), "x", None)
        };
        for c in [save(key(1), "5", Some(0)), follow, clear] {
            assert_eq!(OwnedValueChange::of(&c).borrow(), c);
        }
    }

    /// One batch, one transaction: the stale request is rolled back alone, and every
    /// request gets its own answer.
    #[test]
    fn a_batch_isolates_each_request() {
        let (_dir, store) = store();
        let first = store
            .apply_changes(&[period()], &[save(key(1), "5", None)], 1)
            .unwrap();
        let v1 = first[0].row.as_ref().unwrap().version;
        let (a, a_answer) = job(&[save(key(2), "1", Some(0))]);
        // Writes ou 3, then fails on the stale base version of ou 1: all undone.
        let (b, b_answer) = job(&[save(key(3), "2", None), save(key(1), "7", Some(v1 - 1))]);
        let (c, c_answer) = job(&[save(key(1), "8", Some(v1))]);
        run_batch(store.as_ref(), vec![a, b, c]);
        let outcomes = |r: Receiver<Answer>| -> Vec<ChangeOutcome> {
            r.recv()
                .unwrap()
                .unwrap()
                .iter()
                .map(|r| r.outcome)
                .collect()
        };
        assert_eq!(outcomes(a_answer), vec![ChangeOutcome::Created]);
        assert_eq!(
            outcomes(b_answer),
            vec![ChangeOutcome::Created, ChangeOutcome::Stale]
        );
        assert_eq!(outcomes(c_answer), vec![ChangeOutcome::Updated]);
        assert_eq!(store.get_value(&key(3)).unwrap(), None);
        assert_eq!(
            store.get_value(&key(1)).unwrap().unwrap().value.as_deref(),
            Some("8")
        );
        assert!(store.get_value(&key(2)).unwrap().is_some());
    }

    /// Many threads at once: every request is answered with its own result, and the
    /// values are all stored, in fewer transactions than requests when they overlapped.
    #[test]
    fn concurrent_requests_are_all_written() {
        let (_dir, store) = store();
        let commits = Arc::new(GroupCommit::start(store.clone()));
        let threads: Vec<_> = (0..16u32)
            .map(|t| {
                let commits = Arc::clone(&commits);
                std::thread::spawn(move || {
                    for i in 0..20u32 {
                        let k = key(100 + t * 100 + i);
                        let v = format!("{}", t * 1000 + i + 1);
                        let r = commits
                            .apply(&[period()], &[save(k, &v, Some(0))], 1)
                            .unwrap();
                        assert_eq!(r[0].outcome, ChangeOutcome::Created);
                        assert_eq!(r[0].row.as_ref().unwrap().value.as_deref(), Some(&*v));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.count_values().unwrap(), 320);
        let (requests, batches) = commits.stats();
        assert_eq!(requests, 320);
        assert!(batches >= 1 && batches <= requests);
    }
}
