//! Where a node's writes go: [`Writer::run`] takes one write statement and returns only once it
//! is committed.
//!
//! Writes are *group committed*: a few worker tasks each own one connection, take every write
//! queued at that moment (up to [`MAX_BATCH`]), run them in one transaction, commit once (one WAL
//! flush and `fsync`), and only then answer each caller. Durability per caller is unchanged —
//! nobody hears "done" before the commit that holds their write is on disk — but N writers waiting
//! together cost one commit instead of N. Under light load a batch is one statement. SQLite gets
//! one worker (it has one writer at a time anyway, and queueing beats its busy handler's sleeps);
//! PostgreSQL several. See docs/benchmarks.md (presence load) for what it bought.
//!
//! A job is **one statement** and may run more than once: when a statement fails, its batch is
//! rolled back (PostgreSQL cannot go on in a failed transaction), the failed job gets its error,
//! and the jobs that ran before it in the batch are queued again at the front. That is why
//! statements are `Clone` closures with no effect but their SQL.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most writes in one transaction.
pub const MAX_BATCH: usize = 256;
/// Writes that may wait for a worker before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

pub type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

#[derive(Clone)]
pub struct Writer {
    pool: AnyPool,
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Group commit on `pool` by `workers` tasks, one connection each (the pool should hold at
    /// least that many). The tasks end when every `Writer` clone is gone or the pool is closed.
    /// SQLite must have **one** worker: two writing transactions on one file can deadlock (each
    /// waiting for the other's lock).
    pub fn group_commit(pool: AnyPool, workers: usize) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(commit_loop(pool.clone(), rx.clone()));
        }
        Writer { pool, queue: tx }
    }

    /// Run one write statement and wait until it is committed.
    pub async fn run<T, F>(&self, statement: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Clone
            + Send
            + 'static,
    {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Box::new(Queued { statement, done }))
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A queued write, its type erased so one queue carries statements of every result type.
trait Job: Send {
    fn run<'c>(self: Box<Self>, conn: &'c mut AnyConnection) -> BoxFuture<'c, Box<dyn Ran>>;
    fn abort(self: Box<Self>, why: String);
}

/// A write that has run, waiting for its batch's commit.
trait Ran: Send {
    fn failed(&self) -> bool;
    fn finish(self: Box<Self>, commit: Result<(), String>);
    /// The same write again, for the next batch (its batch was rolled back).
    fn again(self: Box<Self>) -> Box<dyn Job>;
}

struct Queued<F, T> {
    statement: F,
    done: oneshot::Sender<Result<T, sqlx::Error>>,
}

struct Outcome<F, T> {
    result: Result<T, sqlx::Error>,
    statement: F,
    done: oneshot::Sender<Result<T, sqlx::Error>>,
}

impl<F, T> Job for Queued<F, T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
        + Clone
        + Send
        + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut AnyConnection) -> BoxFuture<'c, Box<dyn Ran>> {
        let Queued { statement, done } = *self;
        Box::pin(async move {
            let result = statement.clone()(conn).await;
            Box::new(Outcome {
                result,
                statement,
                done,
            }) as Box<dyn Ran>
        })
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.done.send(Err(sqlx::Error::Protocol(why)));
    }
}

impl<F, T> Ran for Outcome<F, T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
        + Clone
        + Send
        + 'static,
{
    fn failed(&self) -> bool {
        self.result.is_err()
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.result, commit) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(why)) => Err(sqlx::Error::Protocol(why)),
            (Ok(value), Ok(())) => Ok(value),
        };
        let _ = self.done.send(answer);
    }

    fn again(self: Box<Self>) -> Box<dyn Job> {
        Box::new(Queued {
            statement: self.statement,
            done: self.done,
        })
    }
}

/// Add what is queued now to `waiting`, up to a batch.
fn take_queued(queue: &mut mpsc::Receiver<Box<dyn Job>>, waiting: &mut VecDeque<Box<dyn Job>>) {
    while waiting.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => waiting.push_back(job),
            Err(_) => break,
        }
    }
}

async fn commit_loop(pool: AnyPool, queue: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>) {
    let mut waiting: VecDeque<Box<dyn Job>> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            // Wait for work. The worker waiting here holds the queue; the others are busy.
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
            take_queued(&mut queue, &mut waiting);
        } else if let Ok(mut queue) = queue.try_lock() {
            // Writes to run again are waiting: never block behind a worker that waits for work.
            take_queued(&mut queue, &mut waiting);
        }
        let mut tx = match pool.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let why = format!("store: cannot begin a transaction: {e}");
                tracing::error!("{why}");
                waiting.drain(..).for_each(|job| job.abort(why.clone()));
                if pool.is_closed() {
                    return;
                }
                continue;
            }
        };
        let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(waiting.len());
        let mut failed = None;
        while let Some(job) = waiting.pop_front() {
            let outcome = job.run(&mut tx).await;
            if outcome.failed() {
                failed = Some(outcome);
                break;
            }
            ran.push(outcome);
        }
        if let Some(failed) = failed {
            // Roll back; the failed write gets its error, the ones before it run again first.
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "store: rollback failed");
            }
            failed.finish(Ok(()));
            for outcome in ran.into_iter().rev() {
                waiting.push_front(outcome.again());
            }
            continue;
        }
        let commit = tx
            .commit()
            .await
            .map_err(|e| format!("store: commit failed: {e}"));
        if let Err(why) = &commit {
            tracing::error!(writes = ran.len(), "{why}");
        }
        metrics::histogram!("corelab_store_group_commit_writes").record(ran.len() as f64);
        for outcome in ran {
            outcome.finish(commit.clone());
        }
    }
}
