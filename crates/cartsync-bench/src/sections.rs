//! The read and store-scaling sections of `cartsync-loadgen`.

use crate::stats::{ms, round, Summary};
use crate::{load, scaling as scale};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn count(s: &str) -> Result<usize, String> {
    let s = s.trim().to_ascii_lowercase();
    let (n, mult) = match s.strip_suffix('k') {
        Some(n) => (n, 1_000),
        None => match s.strip_suffix('m') {
            Some(n) => (n, 1_000_000),
            None => (s.as_str(), 1),
        },
    };
    n.parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("not a count: {s}"))
}

pub fn reads(addr: std::net::SocketAddr, secs: Duration) -> Result<Value, String> {
    const CARTS: usize = 2_000;
    const CLIENTS: usize = 32;
    const COLD_ROUNDS: usize = 3;
    println!("\n## Cart reads ({CARTS} carts of 5 lines, {CLIENTS} clients)");
    let tokens = Arc::new(load::create_carts(addr, CARTS, 5, 8)?);
    println!("| read | reads | reads/s | p50 ms | p99 ms | cache hits | misses |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for (name, cold) in [("cold (after a cache flush)", true), ("cached", false)] {
        let m0 = load::metrics(addr);
        // Cold: each round flushes and reads every cart once.
        let rounds = if cold { COLD_ROUNDS } else { 1 };
        let mut parts = Vec::new();
        for _ in 0..rounds {
            parts.push(load::reads(addr, &tokens, CLIENTS, cold, secs)?);
        }
        let s = Summary::merge(&parts);
        let m1 = load::metrics(addr);
        let d = |label: &str| {
            load::counter(&m1, "cartsync_cache_requests_total", label)
                - load::counter(&m0, "cartsync_cache_requests_total", label)
        };
        let (hits, misses) = (d("hit"), d("miss"));
        println!(
            "| {name} | {} | {:.0} | {} | {} | {hits} | {misses} |",
            s.count,
            s.rate(),
            ms(s.p50_us),
            ms(s.p99_us)
        );
        rows.push(json!({"kind": if cold { "cold" } else { "cached" }, "latency": s.json(), "cache_hits": hits, "cache_misses": misses}));
    }
    Ok(json!({"carts": CARTS, "clients": CLIENTS, "rounds": rows}))
}

pub fn scaling(spec: &[String]) -> Result<Value, String> {
    println!("\n## Store scaling (generated; in process through the server library, one caller)");
    println!("| carts | events/cart | DB MB | generate s | cold read p50/p99 ms | write p50/p99 ms | verify pass s | verify us/cart |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for s in spec {
        let (c, e) = s
            .split_once(':')
            .ok_or_else(|| format!("scale row {s}: expected carts:events"))?;
        let r = scale::row(count(c)?, count(e)?)?;
        let per_cart = r.verify.as_secs_f64() * 1e6 / r.verified.max(1) as f64;
        println!(
            "| {} | {} | {:.0} | {:.1} | {}/{} | {}/{} | {:.2} | {:.1} |",
            r.carts,
            r.events,
            r.db_mb,
            r.generate.as_secs_f64(),
            ms(r.read.p50_us),
            ms(r.read.p99_us),
            ms(r.write.p50_us),
            ms(r.write.p99_us),
            r.verify.as_secs_f64(),
            per_cart
        );
        rows.push(json!({
            "carts": r.carts, "events_per_cart": r.events, "db_mb": round(r.db_mb, 1),
            "generate_secs": round(r.generate.as_secs_f64(), 2),
            "cold_read": r.read.json(), "write": r.write.json(),
            "verify_secs": round(r.verify.as_secs_f64(), 3), "verify_us_per_cart": round(per_cart, 2),
        }));
    }
    Ok(Value::Array(rows))
}
