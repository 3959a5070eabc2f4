//! kill -9 the real binary (three times) while clients send mutations; restart it on the
//! same database: every acknowledged mutation is in the event log exactly
//! once, and nothing is half-applied (snapshot = replay of the log, every
//! logged mutation has its idempotency record).

mod common;

use common::process::{http, start};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn mutation(id: &str, sku: &str) -> Value {
    json!({"id": id, "base_version": null, "command": {"type": "add_item", "sku": sku, "quantity": 1}})
}

type Sent = Arc<Mutex<BTreeMap<String, String>>>;
type Acked = Arc<Mutex<BTreeSet<String>>>;

/// One round: start the server, let four clients send single-mutation
/// batches (each id assigned before sending, as the SDK's outbox does), and
/// SIGKILL the server once `more` further mutations were acknowledged.
fn round(db: &std::path::Path, token: &str, skus: &[String], more: usize, sent: &Sent, acked: &Acked) {
    let (server, addr) = start(db);
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (sent, acked, acked_count, stop) = (sent.clone(), acked.clone(), acked_count.clone(), stop.clone());
            let (token, skus) = (token.to_string(), skus.to_vec());
            std::thread::spawn(move || {
                for k in 0..400 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let sku = skus[(c * 6 + k % 6) % skus.len()].clone();
                    sent.lock().unwrap().insert(id.clone(), sku.clone());
                    let body = json!({"mutations": [mutation(&id, &sku)]});
                    match http(addr, "POST", &format!("/api/v1/carts/{token}/mutations"), Some(&body)) {
                        Ok((200, r)) if r["results"][0]["status"] == "applied" => {
                            acked.lock().unwrap().insert(id);
                            acked_count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok((status, r)) => panic!("unexpected answer {status}: {r}"),
                        Err(_) => break, // the server is gone: this one is unacknowledged
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_count.load(Ordering::Relaxed) < more && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(server); // SIGKILL, mid-stream
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(
        acked_count.load(Ordering::Relaxed) >= more,
        "too few acknowledged before the kill"
    );
}

#[test]
fn kill_dash_nine_mid_stream_loses_no_acknowledged_mutation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (server, addr) = start(&db);
    let (_, created) = http(addr, "POST", "/api/v1/carts", None).unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let (_, catalog) = http(addr, "GET", "/api/v1/catalog", None).unwrap();
    let skus: Vec<String> = catalog["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_string())
        .collect();
    drop(server);

    // Three kill -9 rounds on the same database, each mid-stream.
    let sent: Sent = Arc::default();
    let acked: Acked = Arc::default();
    for _ in 0..3 {
        round(&db, &token, &skus, 80, &sent, &acked);
    }
    let sent = sent.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();

    let (_server, addr) = start(&db);
    // The recovery pass at start replays every cart's log: no snapshot may
    // have diverged.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, metrics) = http(addr, "GET", "/metrics", None).unwrap();
        let text = metrics.as_str().unwrap_or_default().to_string();
        if text.contains("cartsync_recovery_total{action=\"verified\"} 1") {
            assert!(
                text.contains("cartsync_recovery_total{action=\"repaired\"} 0"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no recovery pass: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, events) = http(addr, "GET", &format!("/api/v1/carts/{token}/events"), None).unwrap();
    assert_eq!(status, 200);
    let events = events["events"].as_array().unwrap().clone();
    let mut seen = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["version"], i as u64 + 1, "versions are gapless");
        let id = e["mutation_id"].as_str().unwrap().to_string();
        assert!(sent.contains_key(&id), "an event nobody sent: {id}");
        *seen.entry(id).or_insert(0) += 1;
    }
    for id in &acked {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "acknowledged mutation {id} not present exactly once"
        );
    }
    assert!(seen.values().all(|n| *n == 1), "a mutation applied twice");
    // The snapshot is exactly the replay of the log: nothing half-applied.
    let (_, cart) = http(addr, "GET", &format!("/api/v1/carts/{token}"), None).unwrap();
    assert_eq!(cart["version"], events.len() as u64);
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for id in seen.keys() {
        *expected.entry(sent[id].clone()).or_default() += 1;
    }
    let actual: BTreeMap<String, u64> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["sku"].as_str().unwrap().to_string(), l["quantity"].as_u64().unwrap()))
        .collect();
    assert_eq!(actual, expected);
    // Clients resend everything they sent (their outbox): what was logged is
    // a duplicate (its idempotency record committed with it), the rest
    // applies now, once.
    let all: Vec<Value> = sent.iter().map(|(id, sku)| mutation(id, sku)).collect();
    let mut applied_now = 0;
    for chunk in all.chunks(100) {
        let (status, r) = http(
            addr,
            "POST",
            &format!("/api/v1/carts/{token}/mutations"),
            Some(&json!({"mutations": chunk})),
        )
        .unwrap();
        assert_eq!(status, 200, "{r}");
        for res in r["results"].as_array().unwrap() {
            let id = res["id"].as_str().unwrap();
            match res["status"].as_str().unwrap() {
                "duplicate" => assert!(seen.contains_key(id), "{id} duplicate but never logged"),
                "applied" => {
                    assert!(!seen.contains_key(id), "{id} applied twice");
                    applied_now += 1;
                }
                other => panic!("unexpected {other} for {id}"),
            }
        }
    }
    let (_, cart) = http(addr, "GET", &format!("/api/v1/carts/{token}"), None).unwrap();
    assert_eq!(cart["version"], sent.len() as u64);
    assert_eq!(seen.len() + applied_now, sent.len());
    eprintln!(
        "crash test: {} sent, {} acknowledged, {} logged across three kills, {} applied on resend",
        sent.len(),
        acked.len(),
        seen.len(),
        applied_now
    );
}
