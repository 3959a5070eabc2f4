//! The accept loop, with the limits a server on the open internet needs
//! (`axum::serve` has none of them):
//!
//! - a request's header must arrive within `header_timeout` (hyper's
//!   `header_read_timeout`, which only runs with a timer: without one a
//!   connection that sends half a header is held forever, and 1,100 of them
//!   starve a process of its 1,024 descriptors);
//! - at most `max_connections` connections are served at once; past that
//!   the loop stops accepting (new connections wait in the kernel's backlog
//!   instead of taking descriptors), so a flood of slow clients delays
//!   others by at most one header timeout instead of shutting them out;
//! - a request body must arrive within the body timeout (`http::json`,
//!   `408 request_timeout`).
//!
//! Shutdown stops accepting, lets in-flight requests finish and closes idle
//! connections (hyper's graceful shutdown), for at most `drain`.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Longest time a client may take to send a request's header (also an
    /// idle keep-alive connection's wait for its next request).
    pub header_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Longest wait for in-flight requests at shutdown.
    pub drain: Duration,
}

/// The process's soft limit on open files (`RLIMIT_NOFILE`), if it can be read.
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The default connection limit: three quarters of the open-file limit,
/// leaving the rest for database and cache connections, the SQLite files,
/// static files and the listener; 768 when the limit is unknown.
pub fn default_max_connections() -> usize {
    open_file_limit().map_or(768, |n| usize::try_from(n / 4 * 3).unwrap_or(usize::MAX).max(16))
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A free slot first: while none is free, connections wait in the
        // backlog and hold none of our descriptors.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            drain_secs = limits.drain.as_secs(),
            "connections still open after the drain period; closing them"
        );
    }
    Ok(())
}

/// A failed `accept`. Errors of one connection (reset before it was
/// accepted) are skipped; running out of descriptors or memory waits a
/// moment, since retrying at once would spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
