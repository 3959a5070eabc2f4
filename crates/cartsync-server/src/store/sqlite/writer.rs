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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

/// The most jobs committed together.
pub const MAX_GROUP: usize = 64;

type Result<T> = std::result::Result<T, StoreError>;

/// Called once the group's fate is known: `None` when it committed.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// Runs a job on its savepoint; says whether to keep its writes.
type Run = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

struct Job {
    run: Run,
    /// Tells the caller the job could not run at all.
    fail: Box<dyn FnOnce(&str) + Send>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct WriterError(String);

fn writer_error(message: &str) -> StoreError {
    backend(WriterError(message.to_string()))
}

/// The handle the store keeps; dropping it stops the thread.
pub struct Writer {
    jobs: Mutex<Sender<Job>>,
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

    /// Runs `f` in the next group and waits for the group's COMMIT.
    pub fn write<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let (job, reply) = make_job(f);
        let sent = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job);
        sent.map_err(|_| writer_error("the writer thread has stopped"))?;
        reply
            .recv()
            .map_err(|_| writer_error("the writer thread has stopped"))?
    }
}

/// Wraps `f` as a job and the channel its result arrives on.
fn make_job<T: Send + 'static>(
    f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
) -> (Job, mpsc::Receiver<Result<T>>) {
    let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<T>>(1);
    let fail_tx = reply_tx.clone();
    let job = Job {
        run: Box::new(move |conn| {
            let out = catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(writer_error("a write job panicked")));
            let keep = out.is_ok();
            let reply: Reply = Box::new(move |commit_error| {
                let result = match commit_error {
                    None => out,
                    Some(e) => Err(writer_error(e)),
                };
                let _ = reply_tx.send(result);
            });
            (keep, reply)
        }),
        fail: Box::new(move |e| {
            let _ = fail_tx.send(Err(writer_error(e)));
        }),
    };
    (job, reply_rx)
}

fn run(mut conn: Connection, jobs: Receiver<Job>) {
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

fn commit_group(conn: &mut Connection, group: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let message = e.to_string();
            group.into_iter().for_each(|job| (job.fail)(&message));
            return;
        }
    };
    let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
    let mut broken: Option<String> = None;
    for job in group {
        if let Some(message) = &broken {
            (job.fail)(message);
            continue;
        }
        // The savepoint statements are cached: rusqlite's `Savepoint` parses
        // them anew for every job.
        let step = |sql: &str| tx.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop);
        if let Err(e) = step("SAVEPOINT job") {
            let message = e.to_string();
            (job.fail)(&message);
            broken = Some(message);
            continue;
        }
        let (keep, reply) = (job.run)(&tx);
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
}
