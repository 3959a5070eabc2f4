//! The store conformance suite against SQLite: every check its own test,
//! each on a fresh temp file.

use cartsync_server::store::{CartStore, SqliteStore};
use std::sync::Arc;

/// A fresh store and the temp dir that holds its file.
struct Fresh(Arc<dyn CartStore>, #[allow(dead_code)] tempfile::TempDir);

impl Fresh {
    fn as_ref(&self) -> &dyn CartStore {
        self.0.as_ref()
    }
}

fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("c.db")).unwrap();
    Fresh(Arc::new(store), dir)
}

cartsync_server::store_conformance_tests!(fresh());

#[tokio::test]
async fn sqlite_migrations_are_idempotent_and_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let id = {
        let s = SqliteStore::open(&path).unwrap();
        s.create_cart(&[7; 32], 1).await.unwrap().id
    };
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.load_by_token(&[7; 32]).await.unwrap().id, id);
}

#[test]
fn sqlite_url_forms() {
    for (url, path) in [("sqlite://a/b.db", "a/b.db"), ("sqlite:c.db", "c.db"), ("d.db", "d.db")] {
        assert_eq!(SqliteStore::path_from_url(url), std::path::PathBuf::from(path));
    }
}
