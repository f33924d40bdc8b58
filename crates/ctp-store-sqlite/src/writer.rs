//! The single writer of the embedded store, with group commit.
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync. Writes are
//! therefore sent to one thread, which takes every write that is waiting, runs each in its
//! own savepoint (a failing write is rolled back alone), commits them together with one
//! fsync, and only then answers each caller. Under load, many pushes share one fsync;
//! alone, a write is committed at once.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use ctp_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::cache::{Caches, Changed};

/// The most writes committed together.
const MAX_BATCH: usize = 256;

/// Runs a write on the writer's connection; returns whether it succeeded (so the savepoint
/// is kept or rolled back) and what to do with the outcome of the commit.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Box<dyn FnOnce(StoreResult<()>) + Send>) + Send>;

/// A handle to the writer thread. Dropping it lets the thread finish the writes already
/// queued, close its connection (which checkpoints the WAL) and exit; the drop waits for that.
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread on `conn`; after each commit it empties the `caches` of
    /// the tables the commit changed, before answering the writes.
    pub fn start(conn: Connection, caches: Arc<Caches>) -> StoreResult<Writer> {
        let changed = Arc::new(Mutex::new(Changed::default()));
        let noted = Arc::clone(&changed);
        conn.update_hook(Some(move |_, _: &str, table: &str, _| noted.lock().expect("change lock").note(table)))
            .map_err(|e| StoreError::backend("watching the writer's changes", e))?;
        let invalidate = move || caches.invalidate(std::mem::take(&mut *changed.lock().expect("change lock")));
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = thread::Builder::new()
            .name("ctpd-sqlite-writer".into())
            .spawn(move || run(conn, queue, invalidate))
            .map_err(|e| StoreError::backend("starting the writer thread", e))?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Runs `operation` in the next transaction and returns its value once that transaction
    /// is durably committed.
    pub async fn write<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = operation(conn);
            let ok = outcome.is_ok();
            let complete = Box::new(move |committed: StoreResult<()>| {
                let _ = reply.send(committed.and(outcome));
            });
            (ok, complete)
        });
        let jobs = self.jobs.as_ref().ok_or_else(|| StoreError::broken("the store is closing"))?;
        jobs.send(job).map_err(|_| StoreError::broken("the writer thread has stopped"))?;
        answer.await.map_err(|_| StoreError::broken("the writer thread dropped a write"))?
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>, invalidate: impl Fn()) {
    // Ends when every handle is dropped and the queue is empty; `conn` closes with it.
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, batch, &invalidate);
    }
}

/// Runs a batch of writes in one transaction; after it ends (committed or not) and before
/// any caller hears of it, `invalidate` empties the caches of what changed.
fn commit_batch(conn: &Connection, batch: Vec<Job>, invalidate: &impl Fn()) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let failure = Arc::new(e);
        for job in batch {
            // The job must still run to hand back its reply channel; its writes are discarded.
            let (_, complete) = job(conn);
            complete(Err(StoreError::backend("beginning a transaction", Arc::clone(&failure))));
        }
        invalidate();
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        let savepoint = conn.execute_batch("SAVEPOINT write");
        let (ok, complete) = job(conn);
        let closed = match (savepoint, ok) {
            (Ok(()), true) => conn.execute_batch("RELEASE write"),
            (Ok(()), false) => conn.execute_batch("ROLLBACK TO write; RELEASE write"),
            (Err(e), _) => Err(e),
        };
        completions.push((complete, closed));
    }
    let committed = conn.execute_batch("COMMIT").map_err(Arc::new);
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    invalidate();
    for (complete, closed) in completions {
        let outcome = match (&committed, closed) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), _) => Err(StoreError::backend("committing", Arc::clone(e))),
            (_, Err(e)) => Err(StoreError::backend("closing a write's savepoint", e)),
        };
        complete(outcome);
    }
}
