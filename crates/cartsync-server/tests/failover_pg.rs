//! Replicated failover that loses nothing. A primary and a synchronous
//! standby (temporary clusters); two server processes on the pair's
//! multi-host URL (`target_session_attrs=read-write`) and one Redis; clients
//! speaking the SDK's protocol through both instances, resending the same
//! mutation id until they get an answer (some give up after a lost answer,
//! as a closed tab would). The primary is killed (`immediate`) mid-stream
//! and the standby promoted. Then, on the promoted node: every
//! acknowledged mutation is there exactly once, each cart's versions have
//! no gaps, and every mutation whose answer was lost is there at most once.
//!
//! First, the trap: a commit whose wait for the standby is cancelled
//! returns success with a WARNING ("committed locally, but might not have
//! been replicated"). The server must not acknowledge it.

mod common;

use common::cluster::Pair;
use common::process::{http, start_with, Killed};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn instance(pair: &Pair, prefix: &str, name: &str) -> (Killed, SocketAddr) {
    start_with(&[
        "--database".into(),
        pair.url(),
        "--cache".into(),
        common::pg::redis_url(),
        "--cache-prefix".into(),
        prefix.into(),
        "--instance".into(),
        name.into(),
        "--store-timeout-ms".into(),
        "1000".into(),
        "--pg-pool-size".into(),
        "8".into(),
    ])
}

fn mutation(id: &str, sku: &str) -> serde_json::Value {
    json!({"mutations": [{"id": id, "base_version": null, "command": {"type": "add_item", "sku": sku, "quantity": 1}}]})
}

/// What the clients saw, per cart token.
#[derive(Default)]
struct Ledger {
    /// Acknowledged (200 with a result), with the version answered.
    acked: BTreeMap<String, (String, u64)>,
    /// Ids whose answer was lost at least once (retried or given up).
    lost: BTreeSet<String>,
    /// Ids given up after a lost answer (never acknowledged).
    abandoned: BTreeSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_a_synchronous_standby_loses_no_acknowledged_mutation() {
    let pair = Pair::start().await;
    let prefix = common::pg::redis_prefix();
    let (_a, addr_a) = instance(&pair, &prefix, "a");
    let (_b, addr_b) = instance(&pair, &prefix, "b");
    let addrs = [addr_a, addr_b];

    // The trap first: the standby goes away, a commit waits for it, an
    // operator cancels the wait. PostgreSQL commits locally and says
    // "success" with a WARNING; the server must answer something else.
    let (_, created) = http(addr_a, "POST", "/api/v1/carts", None).unwrap();
    let trap_token = created["token"].as_str().unwrap().to_string();
    pair.standby.stop();
    let trap_id = uuid::Uuid::new_v4().to_string();
    let waiting = {
        let (path, body) = (
            format!("/api/v1/carts/{trap_token}/mutations"),
            mutation(&trap_id, "tee-black"),
        );
        std::thread::spawn(move || http(addr_a, "POST", &path, Some(&body)))
    };
    let admin = pair.primary.client("postgres").await;
    // Other sessions (the second instance's background work) may be waiting
    // for the standby too: keep cancelling every waiter until the shopper's
    // request has been answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut cancelled_any = false;
    while !waiting.is_finished() {
        let cancelled = admin
            .query(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
                &[],
            )
            .await
            .unwrap();
        cancelled_any |= !cancelled.is_empty();
        assert!(Instant::now() < deadline, "the waiting commit was never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cancelled_any, "no commit waited for the standby");
    let answer = waiting.join().unwrap();
    assert!(
        !matches!(answer, Ok((200, _))),
        "a commit not confirmed by the standby was acknowledged: {answer:?}"
    );
    // It did commit locally (that is the danger): the event is on the
    // primary.
    let local: i64 = pair
        .primary
        .client("cartsync")
        .await
        .query_one(
            "SELECT count(*) FROM events WHERE mutation_id = $1::TEXT::UUID",
            &[&trap_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(local, 1);
    pair.standby.start();
    pair.wait_sync().await;
    // The client resends: the stored result, not a second application.
    let (status, resent) = http(
        addr_b,
        "POST",
        &format!("/api/v1/carts/{trap_token}/mutations"),
        Some(&mutation(&trap_id, "tee-black")),
    )
    .unwrap();
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["results"][0]["status"], "duplicate");
    assert_eq!(resent["cart"]["version"], 1);

    // Clients through both instances while the primary dies.
    let ledgers: Vec<Arc<Mutex<Ledger>>> = (0..4).map(|_| Arc::default()).collect();
    let tokens: Vec<String> = (0..4)
        .map(|i| {
            let (_, c) = http(addrs[i % 2], "POST", "/api/v1/carts", None).unwrap();
            c["token"].as_str().unwrap().to_string()
        })
        .collect();
    let acked_total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (ledger, token, acked_total, stop) =
                (ledgers[c].clone(), tokens[c].clone(), acked_total.clone(), stop.clone());
            std::thread::spawn(move || {
                let path = format!("/api/v1/carts/{token}/mutations");
                let skus = ["tee-black", "mug-enamel", "cap-canvas"];
                let deadline = Instant::now() + Duration::from_secs(90);
                for k in 0.. {
                    if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                        break;
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let body = mutation(&id, skus[k % skus.len()]);
                    let mut attempt = 0;
                    loop {
                        let addr = addrs[(k + attempt) % 2];
                        match http(addr, "POST", &path, Some(&body)) {
                            Ok((200, r)) => {
                                let status = r["results"][0]["status"].as_str().unwrap_or("").to_string();
                                assert!(status == "applied" || status == "duplicate", "{r}");
                                let v = r["results"][0]["version"].as_u64().unwrap();
                                ledger.lock().unwrap().acked.insert(id.clone(), (status, v));
                                acked_total.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Ok((503, r)) => assert_eq!(r["code"], "store_unavailable", "{r}"),
                            Ok((status, r)) => panic!("unexpected {status}: {r}"),
                            Err(_) => {} // the connection broke: no answer
                        }
                        ledger.lock().unwrap().lost.insert(id.clone());
                        if c == 3 && attempt == 0 {
                            // This client's tab closes after a lost answer.
                            ledger.lock().unwrap().abandoned.insert(id.clone());
                            break;
                        }
                        attempt += 1;
                        assert!(Instant::now() < deadline, "never answered after the failover");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked_total.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "too few acknowledged");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(80);
    pair.primary.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    pair.standby.promote();
    let at_promotion = acked_total.load(Ordering::Relaxed);
    wait_for(at_promotion + 80);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }

    // The promoted node holds everything acknowledged, once.
    let db = pair.standby.client("cartsync").await;
    let mut lost_answers = 0;
    for (token, ledger) in tokens.iter().zip(&ledgers) {
        let hash = cartsync_server::tokens::hash(token).unwrap();
        let rows = db
            .query(
                "SELECT e.version, e.mutation_id::TEXT FROM events e JOIN cart_tokens t ON t.cart_id = e.cart_id
                 WHERE t.hash = $1 ORDER BY e.version",
                &[&&hash[..]],
            )
            .await
            .unwrap();
        let ledger = ledger.lock().unwrap();
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            let (v, id): (i64, String) = (row.get(0), row.get(1));
            assert_eq!(v, i as i64 + 1, "versions without gaps");
            *seen.entry(id).or_default() += 1;
        }
        assert!(seen.values().all(|n| *n == 1), "a mutation applied twice");
        for (id, (_, version)) in &ledger.acked {
            assert!(
                seen.contains_key(id),
                "acknowledged {id} (v{version}) lost in the failover"
            );
        }
        for id in &ledger.abandoned {
            assert!(seen.get(id).copied().unwrap_or(0) <= 1);
        }
        for id in seen.keys() {
            assert!(
                ledger.acked.contains_key(id) || ledger.abandoned.contains(id),
                "an event nobody sent: {id}"
            );
        }
        lost_answers += ledger.lost.len();
    }
    assert!(lost_answers > 0, "the failover was felt by the clients");
    let (status, health) = http(addr_b, "GET", "/healthz", None).unwrap();
    assert_eq!(status, 200, "{health}");
    eprintln!(
        "failover: {} acknowledged ({at_promotion} before the promotion), {lost_answers} lost answers retried or abandoned",
        acked_total.load(Ordering::Relaxed)
    );
}
