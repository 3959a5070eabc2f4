//! The single writer: one thread owns the write connection and takes jobs
//! from a channel. Whatever is queued when it wakes up is committed as one
//! group: one `BEGIN IMMEDIATE … COMMIT` (so one fsync with
//! `synchronous=FULL`) for up to [`MAX_GROUP`] jobs, each inside its own
//! savepoint so a job that fails (a version conflict) is rolled back alone.
//!
//! Invariant: a job's caller hears back only after the group's COMMIT
//! returned. A job that reported success is durable; if the COMMIT fails,
//! every job of the group gets the error and nothing of it was written.

use super::rows::backend;
use crate::store::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

/// The most jobs committed together.
pub const MAX_GROUP: usize = 64;

type Result<T> = std::result::Result<T, StoreError>;

/// Called once the group's fate is known: `None` when it committed.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// A queued write: either run on its savepoint (saying whether to keep its
/// writes, and how to answer once the group's fate is known) or failed
/// without running. Exactly one of the two is called.
trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply);
    fn fail(self: Box<Self>, message: &str);
}

/// A job's closure and where its result goes (a channel a thread waits
/// on, or a future's oneshot).
struct Typed<F, R> {
    f: F,
    answer: R,
}

impl<T, F, R> Job for Typed<F, R>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send,
    R: FnOnce(Result<T>) + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply) {
        let Typed { f, answer } = *self;
        let out =
            catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| Err(writer_error("a write job panicked")));
        let keep = out.is_ok();
        let reply: Reply = Box::new(move |commit_error| {
            answer(match commit_error {
                None => out,
                Some(e) => Err(writer_error(e)),
            })
        });
        (keep, reply)
    }

    fn fail(self: Box<Self>, message: &str) {
        (self.answer)(Err(writer_error(message)))
    }
}

fn job<T: Send + 'static>(
    f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    answer: impl FnOnce(Result<T>) + Send + 'static,
) -> Box<dyn Job> {
    Box::new(Typed { f, answer })
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct WriterError(String);

fn writer_error(message: &str) -> StoreError {
    backend(WriterError(message.to_string()))
}

fn stopped() -> StoreError {
    writer_error("the writer thread has stopped")
}

/// The handle the store keeps; dropping it stops the thread.
pub struct Writer {
    jobs: Mutex<Sender<Box<dyn Job>>>,
}

impl Writer {
    /// Moves `conn` to a new writer thread.
    pub fn start(conn: Connection) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("cartsync-sqlite-writer".into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer { jobs: Mutex::new(tx) })
    }

    fn queue(&self, job: Box<dyn Job>) -> Result<()> {
        let sent = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job);
        sent.map_err(|_| stopped())
    }

    /// Runs `f` in the next group and waits for the group's COMMIT,
    /// blocking the thread.
    #[cfg(test)]
    pub fn write<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.queue(job(f, move |r| drop(tx.send(r))))?;
        rx.recv().map_err(|_| stopped())?
    }

    /// [`Writer::write`] for async callers: no thread blocks while the
    /// group commits, and the writer wakes the waiting task directly.
    pub fn write_async<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.queue(job(f, move |r| drop(tx.send(r))));
        async move {
            queued?;
            rx.await.map_err(|_| stopped())?
        }
    }
}

fn run(mut conn: Connection, jobs: Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        commit_group(&mut conn, group);
    }
}

fn commit_group(conn: &mut Connection, group: Vec<Box<dyn Job>>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let message = e.to_string();
            group.into_iter().for_each(|job| job.fail(&message));
            return;
        }
    };
    let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
    let mut broken: Option<String> = None;
    for job in group {
        if let Some(message) = &broken {
            job.fail(message);
            continue;
        }
        // The savepoint statements are cached: rusqlite's `Savepoint` parses
        // them anew for every job.
        let step = |sql: &str| tx.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop);
        if let Err(e) = step("SAVEPOINT job") {
            let message = e.to_string();
            job.fail(&message);
            broken = Some(message);
            continue;
        }
        let (keep, reply) = job.run(&tx);
        let closed = if keep {
            step("RELEASE job")
        } else {
            step("ROLLBACK TO job").and_then(|()| step("RELEASE job"))
        };
        replies.push(reply);
        if let Err(e) = closed {
            // The transaction's state is unknown: fail everything.
            broken = Some(e.to_string());
        }
    }
    let outcome = match broken {
        Some(message) => {
            drop(tx); // rolls back
            Err(message)
        }
        None => tx.commit().map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(()) => replies.into_iter().for_each(|r| r(None)),
        Err(message) => replies.into_iter().for_each(|r| r(Some(&message))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(x: i64, fail: bool) -> impl FnOnce(&Connection) -> Result<i64> + Send + 'static {
        move |c| {
            c.execute("INSERT INTO t (x) VALUES (?1)", [x]).map_err(backend)?;
            if fail {
                return Err(StoreError::VersionConflict { expected: 0, found: 1 });
            }
            Ok(x)
        }
    }

    fn make_job<T: Send + 'static>(
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> (Box<dyn Job>, mpsc::Receiver<Result<T>>) {
        let (tx, rx) = mpsc::sync_channel(1);
        (job(f, move |r| drop(tx.send(r))), rx)
    }

    #[test]
    fn a_failing_job_is_rolled_back_alone_and_the_group_commits_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let (a, ra) = make_job(insert(1, false));
        let (b, rb) = make_job(insert(2, true));
        let (c, rc) = make_job(insert(3, false));
        let (d, rd) = make_job(|_: &Connection| -> Result<i64> { panic!("boom") });
        commit_group(&mut conn, vec![a, b, c, d]);
        assert_eq!(ra.recv().unwrap().unwrap(), 1);
        assert!(matches!(rb.recv().unwrap(), Err(StoreError::VersionConflict { .. })));
        assert_eq!(rc.recv().unwrap().unwrap(), 3);
        assert!(matches!(rd.recv().unwrap(), Err(StoreError::Backend { .. })));
        let xs: Vec<i64> = conn
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(xs, vec![1, 3]);
    }

    #[test]
    fn the_writer_thread_serves_many_callers() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let w = Writer::start(conn).unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let w = &w;
                s.spawn(move || {
                    for j in 0..20 {
                        assert_eq!(w.write(insert(i * 100 + j, false)).unwrap(), i * 100 + j);
                    }
                });
            }
        });
        let n = w
            .write(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(backend)
            })
            .unwrap();
        assert_eq!(n, 160);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_writers_are_answered_with_their_own_results() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let w = std::sync::Arc::new(Writer::start(conn).unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move { w.write_async(insert(i, i % 4 == 0)).await })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(x) => assert_eq!(x, i as i64),
                Err(StoreError::VersionConflict { .. }) => assert_eq!(i % 4, 0),
                Err(e) => panic!("{e}"),
            }
        }
        let count = |c: &Connection| {
            c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0))
                .map_err(backend)
        };
        assert_eq!(w.write_async(count).await.unwrap(), 12);
    }
}
