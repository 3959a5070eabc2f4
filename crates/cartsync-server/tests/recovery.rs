//! The recovery worker: snapshot verification by replay (and repair),
//! expiry of anonymous carts and idempotency records.

mod common;

use axum::http::{Method, StatusCode};
use cartsync_server::recovery::run_once;
use common::*;
use serde_json::json;

#[tokio::test]
async fn diverged_snapshots_are_repaired_from_the_event_log() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 2).await;
    s.add(&t, "mug-enamel", 1).await;
    let good = s.cart(&t).await;
    // Corrupt the snapshot behind the server's back (a bad deploy, a
    // hand-edit): lines gone, version unchanged.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let snapshot: String = conn.query_row("SELECT snapshot FROM carts", [], |r| r.get(0)).unwrap();
    let mut cart: serde_json::Value = serde_json::from_str(&snapshot).unwrap();
    cart["lines"] = json!([]);
    conn.execute("UPDATE carts SET snapshot = ?1", [cart.to_string()])
        .unwrap();
    drop(conn);
    let app = s.app.clone();
    let report = run_once(&app).await.unwrap();
    assert_eq!(report.verified, 1);
    assert_eq!(report.repaired, 1);
    s.app.cache.flush().await.unwrap();
    assert_eq!(s.cart(&t).await, good);
    let app = s.app.clone();
    let again = run_once(&app).await.unwrap();
    assert_eq!(again.repaired, 0, "a repaired snapshot verifies");
    let m = s.get("/metrics").await;
    assert!(m
        .body
        .as_str()
        .unwrap()
        .contains("cartsync_recovery_total{action=\"repaired\"} 1"));
}

#[tokio::test]
async fn merged_account_carts_verify_from_their_merge_base() {
    let s = Server::new(true).await;
    let ada = s.login("ada").await;
    let anon = s.new_cart().await;
    s.add(&anon, "tee-black", 2).await;
    let auth = format!("Bearer {ada}");
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{anon}/attach"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    let account = r.body["token"].as_str().unwrap().to_string();
    s.mutate_as(&account, &ada, vec![add("mug-enamel", 1)]).await;
    let app = s.app.clone();
    let report = run_once(&app).await.unwrap();
    assert_eq!(report.verified, 2);
    assert_eq!(report.repaired, 0);
    assert_eq!(report.unreplayable, 0);
}

#[tokio::test]
async fn expiry_removes_stale_anonymous_carts_and_old_idempotency_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let mut cfg = config(&db, true);
    cfg.anonymous_cart_retention_days = 0;
    cfg.idempotency_retention_days = 0;
    let s = Server::with_config(cfg).await;
    let ada = s.login("ada").await;
    let stale = s.new_cart().await;
    let m = add("tee-black", 1);
    s.mutate(&stale, vec![m.clone()]).await;
    let to_attach = s.new_cart().await;
    let auth = format!("Bearer {ada}");
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{to_attach}/attach"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    let account = r.body["token"].as_str().unwrap().to_string();
    let kept = add("mug-enamel", 1);
    s.mutate_as(&account, &ada, vec![kept.clone()]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let app = s.app.clone();
    let report = run_once(&app).await.unwrap();
    assert_eq!(report.expired_carts, 2, "the stale cart and the merged one");
    // The stale cart's records went with it; the account cart's record
    // expired on its own.
    assert_eq!(report.expired_records, 1);
    s.app.cache.flush().await.unwrap();
    let r = s.get(&format!("/api/v1/carts/{stale}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{account}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "account carts are not expired");
    assert_eq!(quantity_of(&r.body, "mug-enamel"), 1);
}
