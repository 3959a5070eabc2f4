//! The third-party check of the in-house load generator: `wrk` (Debian's
//! wrk 4.1) with `wrk/cart.lua`, one cart per connection, a fresh UUID per
//! request, `add_item` alternating with `set_quantity` conditional on the
//! previous answer's ETag; then, in the same session, cartsync-loadgen's
//! own client on the same server at the same concurrency. Both report the
//! server's CPU per applied mutation (from `/proc` and `/metrics`).

use crate::load;
use crate::server::{Scratch, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// Runs wrk, then the in-house generator, at `clients` for `secs` each.
pub fn compare(server: &Server, clients: usize, secs: u64, run_id: u32) -> Result<Value, String> {
    let addr = server.addr;
    let script = crate::server::workspace_root().join("crates/cartsync-bench/wrk/cart.lua");
    let scratch = Scratch::new("wrk").map_err(|e| e.to_string())?;
    let tokens = load::create_carts(addr, clients, 0, 8)?;
    let file = scratch.path("tokens");
    std::fs::write(&file, tokens.join("\n")).map_err(|e| e.to_string())?;
    let (m0, c0) = (load::metrics(addr), server.cpu_secs());
    let out = Command::new("wrk")
        .args([
            "-t",
            &clients.to_string(),
            "-c",
            &clients.to_string(),
            "-d",
            &format!("{secs}s"),
        ])
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}"))
        .arg("--")
        .arg(&file)
        .output()
        .map_err(|e| format!("running wrk (apt-get install wrk): {e}"))?;
    let (m1, c1) = (load::metrics(addr), server.cpu_secs());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().find(|l| l.starts_with("WRK_RESULT")).ok_or_else(|| {
        format!(
            "wrk printed no result:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let get = |k: &str| field(line, k).unwrap_or(0.0);
    let applied = load::counter(&m1, "cartsync_mutations_total", "applied")
        - load::counter(&m0, "cartsync_mutations_total", "applied");
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) if applied > 0 => Some((b - a) * 1e6 / applied as f64),
        _ => None,
    };
    let wrk = json!({
        "requests": get("requests"), "applied": get("applied"), "non2xx": get("non2xx"),
        "per_sec": get("applied") / get("secs").max(0.001),
        "p50_ms": get("p50_us") / 1000.0, "p99_ms": get("p99_us") / 1000.0,
        "server_cpu_us_per_mutation": cpu,
    });
    let (m0, c0) = (load::metrics(addr), server.cpu_secs());
    let own = load::mutations(
        addr,
        run_id,
        clients,
        clients,
        false,
        Duration::from_millis(200),
        Duration::from_secs(secs),
    )?;
    let (m1, c1) = (load::metrics(addr), server.cpu_secs());
    let applied = load::counter(&m1, "cartsync_mutations_total", "applied")
        - load::counter(&m0, "cartsync_mutations_total", "applied");
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) if applied > 0 => Some((b - a) * 1e6 / applied as f64),
        _ => None,
    };
    println!("| tool | mutations/s | p50 ms | p99 ms | non-2xx / errors | server CPU µs/mutation |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| wrk -t{clients} -c{clients} -d{secs}s (cart.lua) | {:.0} | {:.2} | {:.2} | {} | {} |",
        wrk["per_sec"].as_f64().unwrap_or(0.0),
        wrk["p50_ms"].as_f64().unwrap_or(0.0),
        wrk["p99_ms"].as_f64().unwrap_or(0.0),
        get("non2xx"),
        wrk["server_cpu_us_per_mutation"]
            .as_f64()
            .map_or("-".into(), |c| format!("{c:.0}"))
    );
    println!(
        "| cartsync-loadgen, {clients} clients, {secs} s | {:.0} | {:.2} | {:.2} | {} | {} |",
        own.latency.rate(),
        own.latency.p50_us as f64 / 1000.0,
        own.latency.p99_us as f64 / 1000.0,
        own.errors,
        cpu.map_or("-".into(), |c| format!("{c:.0}"))
    );
    Ok(json!({
        "wrk": wrk,
        "loadgen": {"latency": own.latency.json(), "errors": own.errors, "server_cpu_us_per_mutation": cpu},
    }))
}
