//! Several server instances on one PostgreSQL database and one Redis, with
//! no coordination beyond them: writes race across instances and nothing
//! is lost or applied twice; a resend to another instance gets the stored
//! result; a copy shared through Redis is the next instance's hot copy;
//! stock is reserved atomically across instances; one recovery pass runs
//! at a time; concurrent misses share one store read.

mod common;

use axum::http::StatusCode;
use common::pg::{redis_prefix, redis_url, TestDb};
use common::*;
use std::collections::BTreeMap;

/// An instance on `db` with the Redis cache under `prefix`.
async fn instance(db: &TestDb, prefix: &str, name: &str) -> Server {
    let mut cfg = config_for(db.url.clone(), true);
    cfg.cache = redis_url();
    cfg.cache_prefix = prefix.to_string();
    cfg.instance = Some(name.into());
    Server::with_config(cfg).await
}

async fn three() -> (TestDb, Vec<Server>) {
    let db = TestDb::new().await;
    let prefix = redis_prefix();
    let mut servers = Vec::new();
    for name in ["a", "b", "c"] {
        servers.push(instance(&db, &prefix, name).await);
    }
    (db, servers)
}

fn metric(s: &str, name: &str) -> f64 {
    s.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writes_through_three_instances_land_exactly_once() {
    let (_db, s) = three().await;
    let token = s[0].new_cart().await;
    let mut writers = Vec::new();
    for w in 0..6usize {
        let server = s[w % 3].handle();
        let token = token.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..15 {
                let m = add("mug-enamel", 1);
                // `503 busy` (the cart kept changing under the request) is
                // resent with the same id, as the SDK does.
                let r = loop {
                    let r = server.mutate(&token, vec![m.clone()]).await;
                    if r.status != StatusCode::SERVICE_UNAVAILABLE {
                        break r;
                    }
                    assert_eq!(r.code(), "busy", "{:?}", r.body);
                };
                assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
                let status = r.body["results"][0]["status"].as_str().unwrap();
                assert!(status == "applied" || status == "duplicate", "{status}");
                ids.push(m["id"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut sent = Vec::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    let events = s[2].get(&format!("/api/v1/carts/{token}/events")).await.body;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 90);
    let mut seen = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["version"], i as u64 + 1, "versions are gapless");
        *seen.entry(e["mutation_id"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    assert!(sent.iter().all(|id| seen.get(id) == Some(&1)), "each once");
    for server in &s {
        let cart = server.cart(&token).await;
        assert_eq!(
            (cart["version"].as_u64(), quantity_of(&cart, "mug-enamel")),
            (Some(90), 90)
        );
    }
}

#[tokio::test]
async fn a_resend_to_another_instance_gets_the_stored_result() {
    let (_db, s) = three().await;
    let token = s[0].new_cart().await;
    let m = add("tee-black", 2);
    let first = s[0].mutate(&token, vec![m.clone()]).await;
    assert_eq!(first.body["results"][0]["status"], "applied");
    for server in &s[1..] {
        let again = server.mutate(&token, vec![m.clone()]).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["results"][0]["status"], "duplicate");
        assert_eq!(again.body["results"][0]["version"], first.body["results"][0]["version"]);
        assert_eq!(quantity_of(&again.body["cart"], "tee-black"), 2);
    }
}

/// Instance B commits on the projection instance A wrote to Redis: no
/// store read and no lost commit.
#[tokio::test]
async fn the_shared_cache_is_the_next_instances_hot_copy() {
    let (_db, s) = three().await;
    let token = s[0].new_cart().await;
    s[0].add(&token, "tee-black", 1).await;
    let loads = |srv: &Server| {
        metric(
            &srv.app.metrics.render(None),
            "cartsync_store_duration_seconds_count{op=\"load_by_token\",outcome=\"ok\"}",
        )
    };
    let before = (loads(&s[1]), s[1].app.metrics.store_retries.get());
    let cart = s[1].add(&token, "mug-enamel", 1).await;
    assert_eq!(cart["version"], 2);
    assert_eq!(
        (loads(&s[1]), s[1].app.metrics.store_retries.get()),
        before,
        "decided on the shared copy, committed first time"
    );
    // A's own copy in Redis is B's now; A's next commit is on it too.
    assert_eq!(s[0].add(&token, "cap-canvas", 1).await["version"], 3);
    assert_eq!(s[0].app.metrics.store_retries.get(), 0);
}

#[tokio::test]
async fn the_last_unit_is_sold_once_across_instances() {
    let (_db, s) = three().await;
    let a = s[0].new_cart().await;
    let b = s[1].new_cart().await;
    s[0].add(&a, "last-one-vase", 1).await;
    s[1].add(&b, "last-one-vase", 1).await;
    s[0].ship(&a).await;
    s[1].ship(&b).await;
    let (ra, rb) = tokio::join!(s[0].checkout(&a, "ka", 4500, None), s[1].checkout(&b, "kb", 4500, None));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(s[2].stock("last-one-vase").await, 0);
    // The winner's key replays the same order on any instance.
    let (winner, key) = if ra.status == StatusCode::CREATED {
        (&a, "ka")
    } else {
        (&b, "kb")
    };
    let again = s[2].checkout(winner, key, 4500, None).await;
    assert_eq!(again.status, StatusCode::CREATED);
    let first = if ra.status == StatusCode::CREATED { &ra } else { &rb };
    assert_eq!(again.body["order"]["id"], first.body["order"]["id"]);
}

#[tokio::test]
async fn one_recovery_pass_at_a_time() {
    let (_db, s) = three().await;
    let t = s[0].new_cart().await;
    s[0].add(&t, "tee-black", 1).await;
    let held = s[1].app.store.recovery_lock().await.unwrap().expect("free");
    let skipped = cartsync_server::recovery::run_once(&s[0].app).await.unwrap();
    assert!(!skipped.ran, "another instance holds the lock");
    drop(held);
    let mut ran = None;
    for _ in 0..100 {
        let r = cartsync_server::recovery::run_once(&s[0].app).await.unwrap();
        if r.ran {
            ran = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ran = ran.expect("the lock is free again");
    assert_eq!((ran.verified, ran.repaired), (1, 0));
}

/// Sixteen cold reads of one cart at once cost one store read: the table
/// they need is locked while they arrive, so they all wait together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_share_one_store_read() {
    let (db, s) = three().await;
    let t = s[0].new_cart().await;
    s[0].add(&t, "tee-black", 1).await;
    s[0].app.cache.flush().await.unwrap();
    let count = || {
        metric(
            &s[0].app.metrics.render(None),
            "cartsync_store_duration_seconds_count{op=\"load_by_token\",outcome=\"ok\"}",
        )
    };
    let before = count();
    let mut locker = db.client().await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE cart_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let reads: Vec<_> = (0..16)
        .map(|_| {
            let server = s[0].handle();
            let t = t.clone();
            tokio::spawn(async move { server.cart(&t).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.commit().await.unwrap();
    for r in reads {
        assert_eq!(quantity_of(&r.await.unwrap(), "tee-black"), 1);
    }
    assert_eq!(count() - before, 1.0, "one store read for sixteen misses");
}
