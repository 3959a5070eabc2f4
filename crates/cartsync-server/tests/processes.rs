//! The real binary as separate processes: SIGTERM, two processes on one
//! database (failover with a cold cache, and both writing at once), and a
//! throughput measurement.

mod common;

use common::process::{http, start};
use serde_json::json;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// SIGTERM drains and exits cleanly.
#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = start(&dir.path().join("term.db"));
    let (status, _) = http(addr, "POST", "/api/v1/carts", None).unwrap();
    assert_eq!(status, 201);
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Failover across processes: process A serves a cart and dies; process B,
/// started on the same database file with a cold cache, serves and
/// continues it. Then two live processes write the same cart at once and
/// nothing is lost or applied twice.
#[test]
fn a_second_process_on_the_same_database_takes_over_and_shares_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("failover.db");
    let (a, addr_a) = start(&db);
    let (_, created) = http(addr_a, "POST", "/api/v1/carts", None).unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let add = |sku: &str| json!({"mutations": [{"id": uuid::Uuid::new_v4().to_string(), "command": {"type": "add_item", "sku": sku, "quantity": 1}}]});
    let path = format!("/api/v1/carts/{token}/mutations");
    let (status, _) = http(addr_a, "POST", &path, Some(&add("tee-black"))).unwrap();
    assert_eq!(status, 200);
    let (_, seen) = http(addr_a, "GET", &format!("/api/v1/carts/{token}"), None).unwrap();
    drop(a); // region A is gone
    let (b, addr_b) = start(&db);
    let (status, served) = http(addr_b, "GET", &format!("/api/v1/carts/{token}"), None).unwrap();
    assert_eq!(status, 200);
    assert_eq!(served, seen);
    let (status, _) = http(addr_b, "POST", &path, Some(&add("tee-black"))).unwrap();
    assert_eq!(status, 200);

    // Both alive, both writing.
    let (_a2, addr_a) = start(&db);
    let writers: Vec<_> = [addr_a, addr_b, addr_a, addr_b]
        .into_iter()
        .map(|addr| {
            let path = path.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let body = json!({"mutations": [{"id": uuid::Uuid::new_v4().to_string(), "command": {"type": "add_item", "sku": "mug-enamel", "quantity": 1}}]});
                    let (status, r) = http(addr, "POST", &path, Some(&body)).unwrap();
                    assert_eq!(status, 200, "{r}");
                    assert_eq!(r["results"][0]["status"], "applied");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let (_, events) = http(addr_b, "GET", &format!("/api/v1/carts/{token}/events"), None).unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 102);
    // Each process may hold a projection from before the other's last
    // write; the version check makes both serve the current cart.
    for addr in [addr_a, addr_b] {
        let (_, cart) = http(addr, "GET", &format!("/api/v1/carts/{token}"), None).unwrap();
        assert_eq!(cart["version"], 102);
    }
    drop(b);
}

/// A throughput figure, not a check: `cargo test -p cartsync-server --test
/// crash -- --ignored --nocapture`. Clients each own a cart and send
/// single-mutation batches over fresh connections for three seconds.
#[test]
#[ignore]
fn measure_mutations_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(&dir.path().join("bench.db"));
    for clients in [1usize, 8, 32] {
        let done = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let (done, stop) = (done.clone(), stop.clone());
                std::thread::spawn(move || {
                    let (_, created) = http(addr, "POST", "/api/v1/carts", None).unwrap();
                    let token = created["token"].as_str().unwrap().to_string();
                    let skus = ["tee-black", "mug-enamel", "cap-canvas", "sticker-pack", "tote-natural"];
                    let mut k = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let id = uuid::Uuid::new_v4().to_string();
                        let sku = skus[(c + k) % skus.len()].to_string();
                        let m = json!({"id": id, "base_version": null, "command": {"type": "add_item", "sku": sku, "quantity": 1, "options": {"n": (k / 500).to_string()}}});
                        let (status, _) = http(addr, "POST", &format!("/api/v1/carts/{token}/mutations"), Some(&json!({"mutations": [m]}))).unwrap();
                        assert_eq!(status, 200);
                        done.fetch_add(1, Ordering::Relaxed);
                        k += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let n = done.load(Ordering::Relaxed);
        eprintln!("{clients} clients: {n} mutations in 3 s = {:.0}/s", n as f64 / 3.0);
    }
}
