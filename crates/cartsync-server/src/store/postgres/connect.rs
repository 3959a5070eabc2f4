//! The connection pool (deadpool-postgres over tokio-postgres), the watched
//! connection that refuses to report an unreplicated commit as done, and
//! how driver errors map onto [`StoreError`].

use crate::store::StoreError;
use deadpool_postgres::{Connect, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

/// How the pool connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this process holds.
    pub pool_size: usize,
    /// Longest wait for a connection (from the pool or a new one): past it
    /// the request answers `503 store_unavailable`.
    pub timeout: Duration,
    /// `application_name` of every connection (names the instance in
    /// `pg_stat_activity`).
    pub application_name: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            timeout: Duration::from_secs(5),
            application_name: "cartsync".into(),
        }
    }
}

/// `true` for `postgres://…` and `postgresql://…` URLs.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The pool for a URL. Nothing connects yet; `Config` takes multi-host
/// URLs (`postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write`)
/// and tries the hosts in turn on every new connection, which is how the
/// pool follows a failover: connections to the dead primary fail their
/// recycling check and are replaced by ones to the promoted standby.
pub fn pool(url: &str, options: &PgOptions) -> Result<Pool, StoreError> {
    let mut config = Config::from_str(url).map_err(StoreError::backend)?;
    if config.get_application_name().is_none() {
        config.application_name(&options.application_name);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.timeout);
    }
    // A primary that vanished without closing its sockets is noticed.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(10));
    let manager = Manager::from_connect(
        config,
        Watched,
        ManagerConfig {
            // A closed connection is never handed out; one that broke
            // since (failover) fails its first statement and the caller
            // retries.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(options.pool_size.max(1))
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.timeout))
        .recycle_timeout(Some(options.timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(StoreError::backend)
}

/// Connects like deadpool-postgres does, but drives the connection itself
/// to read its notices.
///
/// A COMMIT whose wait for the synchronous standby is cancelled (an admin's
/// `pg_cancel_backend`, a statement timeout) returns *success* with a
/// WARNING: "canceling wait for synchronous replication … The transaction
/// has already committed locally, but might not have been replicated to the
/// standby." Acknowledging it could lose an acknowledged mutation in a
/// failover. The notice reaches the connection before the COMMIT's
/// completion does, so on seeing it the driver drops the connection: the
/// COMMIT then fails for its caller (`Unavailable`, outcome unknown), the
/// client retries with the same mutation ids, and the idempotency records
/// decide whether it had been applied.
struct Watched;

impl Connect for Watched {
    fn connect(
        &self,
        pg_config: &Config,
    ) -> Pin<Box<dyn Future<Output = Result<(Client, JoinHandle<()>), tokio_postgres::Error>> + Send + '_>> {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let (client, mut connection) = pg_config.connect(NoTls).await?;
            let task = tokio::spawn(async move {
                loop {
                    match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                        None => return,
                        Some(Ok(AsyncMessage::Notice(notice))) if is_unreplicated_commit(&notice) => {
                            tracing::error!(
                                message = notice.message(),
                                "a commit's wait for the synchronous standby was cancelled: \
                                 dropping the connection so it is not acknowledged"
                            );
                            return;
                        }
                        Some(Ok(AsyncMessage::Notice(notice))) => {
                            tracing::debug!(
                                severity = notice.severity(),
                                message = notice.message(),
                                "postgres notice"
                            );
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "postgres connection closed");
                            return;
                        }
                    }
                }
            });
            Ok((client, task))
        })
    }
}

/// The WARNING of a cancelled synchronous-replication wait (`syncrep.c`).
pub fn is_unreplicated_commit(notice: &tokio_postgres::error::DbError) -> bool {
    notice.message().contains("synchronous replication")
        || notice
            .detail()
            .is_some_and(|d| d.contains("might not have been replicated"))
}

/// A driver error as the store reports it: the server unreachable, the
/// connection lost (outcome unknown), the server shutting down, or a
/// standby that cannot take writes → `Unavailable`; anything the server
/// refused for its own reasons → `Backend`.
pub fn classify(e: tokio_postgres::Error) -> StoreError {
    let unavailable = match e.code() {
        Some(code) => {
            let c = code.code();
            // 08: connection exception; 57P0x: shutdown, crash, cannot
            // connect now; 53: insufficient resources; 25006: read-only
            // transaction (a standby, or a primary being demoted).
            c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") || c == "25006"
        }
        None => {
            e.is_closed()
                || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
                || e.to_string().contains("timed out")
                || e.to_string().contains("error connecting")
        }
    };
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::backend(e)
    }
}

/// A pool error as the store reports it.
pub fn classify_pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => classify(e),
        PoolError::Timeout(_) | PoolError::Closed => StoreError::unavailable(e),
        other => StoreError::backend(other),
    }
}

/// The SQLSTATE of a driver error, if the server sent one.
pub fn sqlstate(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}
