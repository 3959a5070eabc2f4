//! The store conformance suite against SQLite (a fresh temp file per check).

use cartsync_server::store::conformance::CHECKS;
use cartsync_server::store::{CartStore, SqliteStore};

#[test]
fn sqlite_passes_every_conformance_check() {
    for (name, check) in CHECKS {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("c.db")).unwrap();
        eprintln!("conformance: {name}");
        check(&store as &dyn CartStore);
    }
}

#[test]
fn sqlite_migrations_are_idempotent_and_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let id = {
        let s = SqliteStore::open(&path).unwrap();
        s.create_cart(&[7; 32], 1).unwrap().id
    };
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.load_by_token(&[7; 32]).unwrap().id, id);
}

#[test]
fn sqlite_url_forms() {
    for (url, path) in [("sqlite://a/b.db", "a/b.db"), ("sqlite:c.db", "c.db"), ("d.db", "d.db")] {
        assert_eq!(SqliteStore::path_from_url(url), std::path::PathBuf::from(path));
    }
}
