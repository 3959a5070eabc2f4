//! Server instructions per durable mutation, counted by
//! `valgrind --tool=callgrind` (instruction counts do not depend on what
//! else the machine is doing; this machine kind's `perf stat` cannot count
//! instructions). The server runs under callgrind twice, each time starting,
//! creating `CLIENTS` carts and serving a fixed number of mutations (add
//! and conditional set alternating, `CLIENTS` clients at once) before it is
//! stopped: the difference of the two totals over the difference of the
//! mutation counts is what one more mutation costs, start-up and shutdown
//! cancelled out.

use crate::http::Conn;
use crate::server::{Scratch, Server, Store};
use serde_json::{json, Value};
use std::net::SocketAddr;

const CLIENTS: usize = 32;

/// Total instructions (`Ir`) in a callgrind output file.
fn total_ir(path: &std::path::Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: ")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", path.display()))
}

/// `per_client` mutations from each of `CLIENTS` clients on its own cart.
fn fixed(addr: SocketAddr, per_client: usize) -> Result<(), String> {
    let tokens = crate::load::create_carts(addr, CLIENTS, 0, 8)?;
    let handles: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(c, token)| {
            std::thread::spawn(move || -> Result<(), String> {
                let mut conn = Conn::new(addr);
                let path = format!("/api/v1/carts/{token}/mutations");
                let mut version = 0;
                for seq in 0..per_client as u64 {
                    let id = crate::load::mutation_id(0xca11, c as u32, seq);
                    let body = if seq % 2 == 0 {
                        format!(r#"{{"mutations":[{{"id":"{id}","base_version":null,"command":{{"type":"add_item","sku":"tee-black","quantity":1,"options":{{"line":"g{c}"}}}}}}]}}"#)
                    } else {
                        format!(r#"{{"mutations":[{{"id":"{id}","base_version":{version},"command":{{"type":"set_quantity","sku":"tee-black","options":{{"line":"g{c}"}},"quantity":2}}}}]}}"#)
                    };
                    let a = conn.call("POST", &path, Some(&body)).map_err(|e| e.to_string())?;
                    if a.status != 200 {
                        return Err(format!("HTTP {}: {}", a.status, String::from_utf8_lossy(&a.body)));
                    }
                    version = a.version().unwrap_or(version);
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "a client panicked".to_string())??;
    }
    Ok(())
}

fn one_run(store: &Store, scratch: &Scratch, tag: &str, per_client: usize) -> Result<u64, String> {
    let out = scratch.path(&format!("callgrind.{tag}.out"));
    let wrapper = vec![
        "valgrind".to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
    ];
    let server = Server::start_with(&wrapper, store, &["--recovery-interval-secs".into(), "100000".into()])?;
    fixed(server.addr, per_client)?;
    server.stop();
    total_ir(&out)
}

/// Instructions per mutation for the server on `store` (fresh stores from
/// `make_store` for each run).
/// What keeps a run's store alive (a scratch database) until it is dropped.
pub type Keep = Box<dyn std::any::Any>;

/// Makes a fresh store for a run named by its argument.
pub type Fresh<'a> = &'a dyn Fn(&str) -> Result<(Store, Keep), String>;

pub fn measure(make_store: Fresh<'_>, low: usize, high: usize) -> Result<Value, String> {
    let scratch = Scratch::new("callgrind").map_err(|e| e.to_string())?;
    let (store, _keep) = make_store("low")?;
    let a = one_run(&store, &scratch, "low", low)?;
    let (store, _keep) = make_store("high")?;
    let b = one_run(&store, &scratch, "high", high)?;
    let mutations = ((high - low) * CLIENTS) as f64;
    let per = b.saturating_sub(a) as f64 / mutations;
    println!(
        "callgrind: {a} instructions for {} mutations, {b} for {}: {per:.0} instructions per durable mutation (server process)",
        low * CLIENTS,
        high * CLIENTS
    );
    Ok(
        json!({"low": {"mutations": low * CLIENTS, "ir": a}, "high": {"mutations": high * CLIENTS, "ir": b}, "ir_per_mutation": per.round()}),
    )
}
