//! Faults answered, nothing lost: PostgreSQL unreachable (503
//! `store_unavailable` with `Retry-After`, nothing acknowledged), a
//! connection dropped in the middle of a transaction (nothing half
//! applied), Redis unreachable (correct answers, just slower).

mod common;

use axum::http::StatusCode;
use common::pg::TestDb;
use common::proxy::Proxy;
use common::*;
use std::net::SocketAddr;
use std::time::Duration;

/// The host:port of a URL (`postgres://user@host:port/db`).
fn host_port(url: &str) -> (usize, usize) {
    let start = url.find('@').map_or_else(|| url.find("://").unwrap() + 3, |i| i + 1);
    let end = start + url[start..].find('/').unwrap();
    (start, end)
}

/// A server on `db` reached through a proxy the test can cut.
async fn behind_proxy(db: &TestDb, redis: Option<&str>) -> (Server, Proxy) {
    let (start, end) = host_port(&db.url);
    let upstream: SocketAddr = tokio::net::lookup_host(&db.url[start..end])
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = Proxy::start(upstream).await;
    let url = format!("{}{}{}", &db.url[..start], proxy.addr, &db.url[end..]);
    let mut cfg = config_for(url, true);
    cfg.store_timeout_ms = 500;
    if let Some(r) = redis {
        cfg.cache = r.to_string();
        cfg.cache_prefix = common::pg::redis_prefix();
    }
    (Server::with_config(cfg).await, proxy)
}

async fn events(s: &Server, t: &str) -> Vec<serde_json::Value> {
    let r = s.get(&format!("/api/v1/carts/{t}/events")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_is_503_store_unavailable_and_nothing_is_acknowledged() {
    let db = TestDb::new().await;
    let (s, mut proxy) = behind_proxy(&db, None).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    proxy.cut();
    let port = proxy.addr.port().to_string();
    let m = add("mug-enamel", 1);
    for r in [
        s.mutate(&t, vec![m.clone()]).await,
        s.get("/healthz").await,
        s.send(axum::http::Method::POST, "/api/v1/carts", None, &[]).await,
        s.checkout(&t, "k", 2500, None).await,
    ] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
        assert_eq!(r.code(), "store_unavailable", "{:?}", r.body);
        assert_eq!(r.headers["retry-after"], "1");
        let text = r.body.to_string();
        assert!(
            !text.contains(&port) && !text.contains("refused") && !text.contains("error connecting"),
            "no backend detail: {text}"
        );
    }
    proxy.restore().await;
    // The client retries the same mutation id: applied once.
    let mut answer = None;
    for _ in 0..50 {
        let r = s.mutate(&t, vec![m.clone()]).await;
        if r.status == StatusCode::OK {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = answer.expect("served again once the database is back");
    assert_eq!(answer.body["results"][0]["status"], "applied");
    assert_eq!(answer.body["cart"]["version"], 2);
    assert_eq!(events(&s, &t).await.len(), 2);
    assert_eq!(s.get("/healthz").await.status, StatusCode::OK);
}

/// A batch waits on a row lock, its connection is dropped, then the lock
/// goes: the answer was not a success, and whatever the database did, it
/// did all of the batch or none of it; the resend is applied at most once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_connection_drops_is_all_or_nothing() {
    let db = TestDb::new().await;
    let (s, mut proxy) = behind_proxy(&db, None).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    let mut locker = db.client().await;
    let tx = locker.transaction().await.unwrap();
    tx.query("SELECT * FROM carts FOR UPDATE", &[]).await.unwrap();
    let m = add("mug-enamel", 2);
    let pending = {
        let (s, t, m) = (s.handle(), t.clone(), m.clone());
        tokio::spawn(async move { s.mutate(&t, vec![m]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    let r = pending.await.unwrap();
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    tx.rollback().await.unwrap();
    proxy.restore().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logged = events(&s, &t).await;
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT version, (SELECT count(*) FROM idempotency), (SELECT count(*) FROM events) FROM carts",
            &[],
        )
        .await
        .unwrap();
    let (version, records, rows): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (version, records, rows),
        (logged.len() as i64, rows, rows),
        "all or nothing"
    );
    let resent = s.mutate(&t, vec![m]).await;
    assert_eq!(resent.status, StatusCode::OK, "{:?}", resent.body);
    let status = resent.body["results"][0]["status"].as_str().unwrap().to_string();
    assert_eq!(
        (status.as_str(), logged.len()),
        if logged.len() == 2 {
            ("duplicate", 2)
        } else {
            ("applied", 1)
        }
    );
    assert_eq!(quantity_of(&resent.body["cart"], "mug-enamel"), 2);
    assert_eq!(events(&s, &t).await.len(), 2);
}

/// A checkout's transaction (close the cart, hold the stock, store the
/// order) loses its connection between its statements: the cart stays
/// open, no order, no unit held, and the retried checkout orders once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_connection_drops_mid_transaction_is_not_half_written() {
    let db = TestDb::new().await;
    let (s, mut proxy) = behind_proxy(&db, None).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    s.ship(&t).await;
    let mut locker = db.client().await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE orders IN EXCLUSIVE MODE").await.unwrap();
    let pending = {
        let (s, t) = (s.handle(), t.clone());
        tokio::spawn(async move { s.checkout(&t, "key-1", 2500, None).await })
    };
    // The cart row is updated, the order insert waits on the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    let r = pending.await.unwrap();
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    tx.rollback().await.unwrap();
    proxy.restore().await;
    let client = db.client().await;
    let mut state = String::new();
    for _ in 0..100 {
        // The orphaned transaction ends once its backend sees the closed
        // connection.
        let row = client
            .query_one("SELECT state, (SELECT count(*) FROM orders) FROM carts", &[])
            .await
            .unwrap();
        let orders: i64 = row.get(1);
        state = row.get(0);
        assert_eq!(orders, 0, "no order without its commit");
        let busy: i64 = client
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()", &[])
            .await
            .unwrap()
            .get(0);
        if busy == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "open", "the cart was not closed without its order");
    assert_eq!(s.stock("tee-black").await, 40, "no unit held without its order");
    let again = s.checkout(&t, "key-1", 2500, None).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let replay = s.checkout(&t, "key-1", 2500, None).await;
    assert_eq!(replay.body["order"]["id"], again.body["order"]["id"]);
    assert_eq!(replay.body["order"]["payment"], again.body["order"]["payment"]);
    assert_eq!(s.stock("tee-black").await, 39, "held once");
    let orders: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(orders, 1);
}

/// Redis down from the start: every answer is right (from PostgreSQL),
/// `/healthz` says degraded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_costs_speed_not_answers() {
    let db = TestDb::new().await;
    let mut cfg = config_for(db.url.clone(), true);
    cfg.cache = "redis://127.0.0.1:1/0".into();
    cfg.cache_timeout_ms = 100;
    let s = Server::with_config(cfg).await;
    let t = s.new_cart().await;
    let m = add("tee-black", 2);
    assert_eq!(
        s.mutate(&t, vec![m.clone()]).await.body["results"][0]["status"],
        "applied"
    );
    s.add(&t, "mug-enamel", 1).await;
    let again = s.mutate(&t, vec![m]).await;
    assert_eq!(again.body["results"][0]["status"], "duplicate");
    let cart = s.cart(&t).await;
    assert_eq!(
        (cart["version"].as_u64(), quantity_of(&cart, "tee-black")),
        (Some(2), 2)
    );
    let health = s.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "degraded");
    assert_eq!(health.body["cache"]["ok"], false);
    let cart = s.ship(&t).await;
    let total = cart["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    assert_eq!(s.checkout(&t, "k", total, None).await.status, StatusCode::CREATED);
}
