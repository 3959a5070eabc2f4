//! kill -9 the real binary while clients send mutations; restart it on the
//! same database: every acknowledged mutation is in the event log exactly
//! once, and nothing is half-applied (snapshot = replay of the log, every
//! logged mutation has its idempotency record).

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A tiny blocking HTTP/1.1 client: one request per connection.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("truncated response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let json = serde_json::from_str(rest).map_err(|_| std::io::Error::other("truncated body"))?;
    Ok((status, json))
}

fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(db: &Path) -> (Killed, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_cartsync-server"))
        .args(["--listen", &addr.to_string()])
        .args(["--database", &format!("sqlite://{}", db.display())])
        .args(["--secret", "crash-test"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(addr, "GET", "/healthz", None) {
            return (child, addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not come up on {addr}");
}

fn mutation(id: &str, sku: &str) -> Value {
    json!({"id": id, "base_version": null, "command": {"type": "add_item", "sku": sku, "quantity": 1}})
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

    // Client threads send one mutation per request (the id is assigned
    // before sending, as the SDK's outbox does) until the server dies.
    let sent: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (sent, acked, acked_count, stop, token) = (
                sent.clone(),
                acked.clone(),
                acked_count.clone(),
                stop.clone(),
                token.clone(),
            );
            let skus = skus.clone();
            std::thread::spawn(move || {
                for k in 0.. {
                    if stop.load(Ordering::Relaxed) || k >= 400 {
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
    while acked_count.load(Ordering::Relaxed) < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(server); // SIGKILL, mid-stream
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let sent = sent.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 150, "only {} acknowledged before the kill", acked.len());

    let (_server, addr) = start(&db);
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
        "crash test: {} sent, {} acknowledged, {} logged before the kill, {} applied on resend",
        sent.len(),
        acked.len(),
        seen.len(),
        applied_now
    );
}

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
