//! The store conformance suite against PostgreSQL (`CARTSYNC_TEST_POSTGRES`,
//! default the local server): every check its own test, each on a database
//! of its own that is dropped afterwards.

mod common;

use cartsync_server::store::{CartStore, PostgresStore};
use common::pg::{self, TestDb};

/// A fresh store on its own database (dropped after the test).
struct Fresh(PostgresStore, #[allow(dead_code)] TestDb);

impl Fresh {
    fn as_ref(&self) -> &dyn CartStore {
        &self.0
    }
}

async fn fresh() -> Fresh {
    let (store, db) = pg::store().await;
    Fresh(store, db)
}

cartsync_server::store_conformance_tests!(fresh().await);

/// Migrations run once however many instances start at the same moment,
/// and a restart finds the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_migrate_once_and_data_survives_reconnect() {
    let db = TestDb::new().await;
    let options = cartsync_server::store::postgres::PgOptions::default();
    let (a, b, c) = tokio::join!(
        PostgresStore::connect(&db.url, &options),
        PostgresStore::connect(&db.url, &options),
        PostgresStore::connect(&db.url, &options),
    );
    let (a, _b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let id = a.create_cart(&[7; 32], 1).await.unwrap().id;
    drop(a);
    let again = PostgresStore::connect(&db.url, &options).await.unwrap();
    assert_eq!(again.load_by_token(&[7; 32]).await.unwrap().id, id);
    let applied: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(applied as usize, migrations, "each migration applied once");
}

/// Multi-host URLs parse and connect to the host that takes writes.
#[tokio::test]
async fn multi_host_urls_with_read_write_target_connect() {
    let db = TestDb::new().await;
    // The first host refuses connections (nothing listens on port 1); the
    // second is the real server.
    let at = db
        .url
        .find('@')
        .map_or_else(|| db.url.find("://").unwrap() + 3, |i| i + 1);
    let url = format!("{}127.0.0.1:1,{}", &db.url[..at], &db.url[at..]);
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}target_session_attrs=read-write");
    let store = PostgresStore::connect(&url, &Default::default()).await.unwrap();
    store.ping().await.unwrap();
}
