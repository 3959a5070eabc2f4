//! Load against the real server over loopback: durable mutations at several
//! concurrencies (each client its own cart, or all on a few hot carts), and
//! cart reads from the session cache and cold from the store.

use crate::http::{Answer, Conn};
use crate::stats::Summary;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Upper bound on requests per client per phase (the phases are timed; this
/// only bounds the loop).
const MAX_OPS: usize = 1_000_000;
/// Upper bound on resends of one mutation after 409s.
const MAX_RESENDS: usize = 64;

/// A v4-shaped UUID unique per (run, client, sequence).
pub fn mutation_id(run: u32, client: u32, seq: u64) -> String {
    format!(
        "{run:08x}-{:04x}-4{:03x}-8000-{:012x}",
        client & 0xffff,
        (client >> 16) & 0xfff,
        seq & 0xffff_ffff_ffff
    )
}

fn add_item(id: &str, sku: &str, line: &str) -> String {
    format!(
        r#"{{"mutations":[{{"id":"{id}","base_version":null,"command":{{"type":"add_item","sku":"{sku}","quantity":1,"options":{{"line":"{line}"}}}}}}]}}"#
    )
}

fn set_quantity(id: &str, base: u64, sku: &str, line: &str, quantity: u32) -> String {
    format!(
        r#"{{"mutations":[{{"id":"{id}","base_version":{base},"command":{{"type":"set_quantity","sku":"{sku}","options":{{"line":"{line}"}},"quantity":{quantity}}}}}]}}"#
    )
}

/// `POST /carts`: a new cart's token.
pub fn create_cart(conn: &mut Conn) -> Result<String, String> {
    let a = conn.call("POST", "/api/v1/carts", None).map_err(|e| e.to_string())?;
    if a.status != 201 {
        return Err(format!("POST /carts answered {}", a.status));
    }
    a.json()
        .and_then(|v| v["token"].as_str().map(str::to_string))
        .ok_or_else(|| "no token in the answer".to_string())
}

/// Creates `n` carts over `threads` connections, each filled with `lines`
/// lines by one batch of `add_item`s.
pub fn create_carts(addr: SocketAddr, n: usize, lines: usize, threads: usize) -> Result<Vec<String>, String> {
    let per = n.div_ceil(threads.max(1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || -> Result<Vec<String>, String> {
                let mut conn = Conn::new(addr);
                let mut out = Vec::new();
                for i in 0..per.min(n.saturating_sub(t * per)) {
                    let token = create_cart(&mut conn)?;
                    if lines > 0 {
                        let ms: Vec<String> = (0..lines)
                            .map(|l| {
                                let id = mutation_id(0xfeed, (t * per + i) as u32, l as u64);
                                format!(
                                    r#"{{"id":"{id}","base_version":null,"command":{{"type":"add_item","sku":"{}","quantity":1}}}}"#,
                                    crate::SKUS[l % crate::SKUS.len()]
                                )
                            })
                            .collect();
                        let body = format!(r#"{{"mutations":[{}]}}"#, ms.join(","));
                        let path = format!("/api/v1/carts/{token}/mutations");
                        let a = conn.call("POST", &path, Some(&body)).map_err(|e| e.to_string())?;
                        if a.status != 200 {
                            return Err(format!("filling a cart answered {}", a.status));
                        }
                    }
                    out.push(token);
                }
                Ok(out)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.join().map_err(|_| "a setup thread panicked".to_string())??);
    }
    Ok(all)
}

/// What the mutation phase measured.
#[derive(Debug, Clone, Default)]
pub struct WriteResult {
    /// Per applied mutation, from first send to its 200 (resends included).
    pub latency: Summary,
    pub conflicts: u64,
    pub errors: u64,
    pub gave_up: u64,
    pub first_error: Option<String>,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    /// The first unexpected answer, for the report.
    first_error: Option<String>,
    conflicts: u64,
    errors: u64,
    gave_up: u64,
}

/// `clients` threads, client `i` on cart `i % carts` and its own line,
/// mutating for `secs` after `warmup`. `hot` sends only `set_quantity`
/// (conditional: conflicts under contention); otherwise `add_item` and
/// `set_quantity` alternate. A 409 is resent with the cart version it
/// carries, as the SDK does after rebasing.
pub fn mutations(
    addr: SocketAddr,
    run: u32,
    clients: usize,
    carts: usize,
    hot: bool,
    warmup: Duration,
    secs: Duration,
) -> Result<WriteResult, String> {
    let tokens = create_carts(addr, carts, 0, carts.min(8))?;
    let barrier = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let token = tokens[c % carts].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                barrier.wait();
                let start = Instant::now();
                let (measure_from, stop) = (start + warmup, start + warmup + secs);
                client_loop(&mut conn, &token, run, c as u32, hot, measure_from, stop)
            })
        })
        .collect();
    barrier.wait();
    let mut total = Tally::default();
    for h in handles {
        let t = h.join().map_err(|_| "a client thread panicked".to_string())?;
        total.latencies.extend(t.latencies);
        total.conflicts += t.conflicts;
        total.errors += t.errors;
        total.gave_up += t.gave_up;
        total.first_error = total.first_error.or(t.first_error);
    }
    Ok(WriteResult {
        latency: Summary::of(total.latencies, secs),
        conflicts: total.conflicts,
        errors: total.errors,
        gave_up: total.gave_up,
        first_error: total.first_error,
    })
}

fn client_loop(
    conn: &mut Conn,
    token: &str,
    run: u32,
    client: u32,
    hot: bool,
    measure_from: Instant,
    stop: Instant,
) -> Tally {
    let path = format!("/api/v1/carts/{token}/mutations");
    let sku = crate::SKUS[client as usize % crate::SKUS.len()];
    let line = format!("c{client}");
    let mut tally = Tally::default();
    let mut version: u64 = 0;
    for seq in 0..MAX_OPS as u64 {
        let now = Instant::now();
        if now >= stop {
            break;
        }
        let measured = now >= measure_from;
        let id = mutation_id(run, client, seq);
        let set = hot || seq % 2 == 1;
        let quantity = if seq % 4 < 2 { 2 } else { 1 };
        let mut resends = 0;
        let outcome = loop {
            let body = if set {
                set_quantity(&id, version, sku, &line, quantity)
            } else {
                add_item(&id, sku, &line)
            };
            let answer = conn.call("POST", &path, Some(&body));
            match answer {
                Ok(Answer { status: 200, .. }) => break answer.ok(),
                Ok(a) if a.status == 409 => {
                    if measured {
                        tally.conflicts += 1;
                    }
                    version = a.version().unwrap_or(version);
                    resends += 1;
                    if resends > MAX_RESENDS {
                        tally.gave_up += 1;
                        break None;
                    }
                }
                other => {
                    if measured {
                        tally.errors += 1;
                    }
                    if tally.first_error.is_none() {
                        tally.first_error = Some(match other {
                            Ok(a) => format!("HTTP {}: {}", a.status, String::from_utf8_lossy(&a.body)),
                            Err(e) => e.to_string(),
                        });
                    }
                    break None;
                }
            }
        };
        if let Some(a) = outcome {
            version = a.version().unwrap_or(version);
            if measured {
                tally.latencies.push(now.elapsed().as_micros() as u64);
            }
        }
    }
    tally
}

/// Reads of `tokens` by `clients` threads: `cold` flushes the session cache
/// first and reads each cart once (every read rebuilds the cart from the
/// store); otherwise random carts are read for `secs` (they are cached).
/// Returns the latencies (µs) and the wall time.
pub fn reads(
    addr: SocketAddr,
    tokens: &Arc<Vec<String>>,
    clients: usize,
    cold: bool,
    secs: Duration,
) -> Result<(Vec<u64>, Duration), String> {
    if cold {
        let a = Conn::new(addr)
            .call("POST", "/api/v1/admin/cache/flush", Some(""))
            .map_err(|e| e.to_string())?;
        if a.status != 200 {
            return Err(format!("cache flush answered {}", a.status));
        }
    }
    let barrier = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (tokens, barrier) = (tokens.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<Vec<u64>, String> {
                let mut conn = Conn::new(addr);
                let mut lat = Vec::new();
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ c as u64;
                barrier.wait();
                let stop = Instant::now() + secs;
                for i in 0..MAX_OPS {
                    let t = if cold {
                        match tokens.get(c + i * clients) {
                            Some(t) => t,
                            None => break,
                        }
                    } else {
                        if Instant::now() >= stop {
                            break;
                        }
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        &tokens[(rng % tokens.len() as u64) as usize]
                    };
                    let start = Instant::now();
                    let a = conn
                        .call("GET", &format!("/api/v1/carts/{t}"), None)
                        .map_err(|e| e.to_string())?;
                    if a.status != 200 {
                        return Err(format!("GET cart answered {}", a.status));
                    }
                    lat.push(start.elapsed().as_micros() as u64);
                }
                Ok(lat)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().map_err(|_| "a reader thread panicked".to_string())??);
    }
    Ok((all, start.elapsed()))
}

/// The server's `/metrics` text (empty if it does not answer).
pub fn metrics(addr: SocketAddr) -> String {
    Conn::new(addr)
        .call("GET", "/metrics", None)
        .map(|a| String::from_utf8_lossy(&a.body).into_owned())
        .unwrap_or_default()
}

/// The value of counter `name` with `label` (e.g. `result="hit"`) in a
/// Prometheus text.
pub fn counter(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.contains(label))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}
