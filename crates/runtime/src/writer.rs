//! Where a node's writes go: [`Writer::run`] takes one write statement and returns only once it
//! is committed.
//!
//! - **PostgreSQL**: the statement runs on a pooled connection in autocommit. Concurrent commits
//!   already share their WAL flushes in the server.
//! - **SQLite**: one task owns the only writing connection and practises *group commit*: it takes
//!   every write queued at that moment (up to [`MAX_BATCH`]), runs them in one transaction, commits
//!   once (one `fsync` under `synchronous=FULL`), and only then answers each caller. Durability
//!   per caller is unchanged — nobody hears "done" before the commit that holds their write is on
//!   disk — but N writers waiting together cost one commit instead of N. Under light load a batch
//!   is one statement, as before. See docs/benchmarks.md (presence load) for what it bought.
//!
//! A job is **one statement**. A statement that fails in SQLite changes nothing (statement
//! atomicity) and the batch is committed up to it; the jobs after it go into the next batch, so
//! an error can never leave a later job running outside the transaction.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

/// Most writes in one SQLite transaction.
pub const MAX_BATCH: usize = 256;
/// Writes that may wait for the SQLite writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

pub type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

#[derive(Clone)]
pub struct Writer {
    pool: AnyPool,
    /// Present on SQLite: the group-commit task's queue.
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
}

impl Writer {
    /// Autocommit on `pool` (PostgreSQL).
    pub fn direct(pool: AnyPool) -> Writer {
        Writer { pool, queue: None }
    }

    /// Group commit on `pool`, which should hold a single connection (SQLite). Spawns the task
    /// that owns it; the task ends when every `Writer` clone is gone or the pool is closed.
    pub fn group_commit(pool: AnyPool) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(commit_loop(pool.clone(), rx));
        Writer {
            pool,
            queue: Some(tx),
        }
    }

    /// Run one write statement and wait until it is committed.
    pub async fn run<T, F>(&self, statement: F) -> Result<T, sqlx::Error>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        let Some(queue) = &self.queue else {
            let mut conn = self.pool.acquire().await?;
            return statement(&mut conn).await;
        };
        let (done, answer) = oneshot::channel();
        queue
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
}

struct Queued<F, T> {
    statement: F,
    done: oneshot::Sender<Result<T, sqlx::Error>>,
}

struct Outcome<T> {
    result: Result<T, sqlx::Error>,
    done: oneshot::Sender<Result<T, sqlx::Error>>,
}

impl<F, T> Job for Queued<F, T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
        + Send
        + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut AnyConnection) -> BoxFuture<'c, Box<dyn Ran>> {
        let Queued { statement, done } = *self;
        Box::pin(async move {
            let result = statement(conn).await;
            Box::new(Outcome { result, done }) as Box<dyn Ran>
        })
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.done.send(Err(sqlx::Error::Protocol(why)));
    }
}

impl<T: Send + 'static> Ran for Outcome<T> {
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
}

async fn commit_loop(pool: AnyPool, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut waiting: VecDeque<Box<dyn Job>> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while waiting.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => break,
            }
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
        while let Some(job) = waiting.pop_front() {
            let outcome = job.run(&mut tx).await;
            let failed = outcome.failed();
            ran.push(outcome);
            if failed {
                break; // commit what ran; the rest goes into the next batch
            }
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
