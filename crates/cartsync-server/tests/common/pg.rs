//! PostgreSQL and Redis for tests: the servers named by
//! `CARTSYNC_TEST_POSTGRES` / `CARTSYNC_TEST_REDIS` (defaults: the local
//! ones), a fresh database per test (dropped afterwards, even when the test
//! fails) and a fresh Redis key prefix per test, so test binaries running
//! in parallel never see each other's data.

use std::sync::atomic::{AtomicU32, Ordering};
use tokio_postgres::NoTls;

/// The PostgreSQL server tests use (a database on it they may create
/// databases from).
pub fn admin_url() -> String {
    std::env::var("CARTSYNC_TEST_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// The Redis tests use.
pub fn redis_url() -> String {
    std::env::var("CARTSYNC_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A key prefix no other test uses.
pub fn redis_prefix() -> String {
    format!("cartsync-test:{}:", uuid::Uuid::new_v4().simple())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} (CARTSYNC_TEST_POSTGRES): {e}", admin_url()));
    tokio::spawn(conn);
    client
}

/// A database of its own for one test; dropped with the value.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "cartsync_t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let url = with_database(&admin_url(), &name);
        TestDb { name, url }
    }

    /// A client on this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside and outside runtimes alike: a thread of its own
        // with a runtime of its own. FORCE ends the test's connections.
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = done.join();
    }
}

/// A fresh PostgreSQL store (migrated) on its own database.
pub async fn store() -> (cartsync_server::store::PostgresStore, TestDb) {
    let db = TestDb::new().await;
    let store = cartsync_server::store::PostgresStore::connect(
        &db.url,
        &cartsync_server::store::postgres::PgOptions {
            pool_size: 8,
            timeout: std::time::Duration::from_secs(5),
            application_name: "cartsync test".into(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("connecting to {}: {e}", db.url));
    (store, db)
}
