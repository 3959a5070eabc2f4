//! The storage's own limit, measured by the harness without the server: the
//! write a mutation needs (conditional snapshot update + idempotency-record
//! insert, optionally + the event-log row) as one SQLite transaction per
//! commit, back to back on one connection, WAL and `synchronous=FULL` as
//! the server opens it, in the server's schema.

use crate::server::Scratch;
use crate::stats::Summary;
use cartsync_core::{Cart, Line, Options, Sku};
use rusqlite::{params, TransactionBehavior};
use std::time::{Duration, Instant};

const CARTS: i64 = 32;
const MAX_COMMITS: usize = 10_000_000;

pub fn snapshot(version: u64, quantity: u32) -> String {
    let mut options = Options::new();
    options.insert("line".into(), "c1".into());
    let cart = Cart {
        version,
        lines: vec![Line {
            sku: Sku::new("tee-black"),
            options,
            quantity,
        }],
        updated_at: 1_764_300_000_000 + version,
        ..Cart::default()
    };
    serde_json::to_string(&cart).unwrap_or_default()
}

/// Commits per second for `secs`, each commit one mutation's write set.
pub fn run(with_event: bool, secs: Duration) -> Result<Summary, String> {
    let scratch = Scratch::new("raw").map_err(|e| e.to_string())?;
    let path = scratch.path("raw.db");
    // The server's schema, from its migration files.
    let mut conn = crate::server::create_schema(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| e.to_string())?;
    for _ in 0..CARTS {
        conn.execute(
            "INSERT INTO carts (version, snapshot, base, created_at, updated_at) VALUES (0, ?1, ?1, 0, 0)",
            [snapshot(0, 1)],
        )
        .map_err(|e| e.to_string())?;
    }
    let mut versions = vec![0u64; CARTS as usize];
    let mut latencies = Vec::new();
    let start = Instant::now();
    for i in 0..MAX_COMMITS {
        if start.elapsed() >= secs {
            break;
        }
        let t = Instant::now();
        let cart = (i as i64 % CARTS) + 1;
        let v = versions[(cart - 1) as usize];
        let id = crate::load::mutation_id(0xbeef, cart as u32, v);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let changed = tx
            .execute(
                "UPDATE carts SET version = ?1, snapshot = ?2, quotes = ?3, updated_at = ?4
                 WHERE id = ?5 AND version = ?6 AND state = 'open'",
                params![
                    (v + 1) as i64,
                    snapshot(v + 1, 1 + (v % 2) as u32),
                    "[]",
                    i as i64,
                    cart,
                    v as i64
                ],
            )
            .map_err(|e| e.to_string())?;
        if changed != 1 {
            return Err("the conditional update matched no row".into());
        }
        if with_event {
            tx.execute(
                "INSERT INTO events (cart_id, version, kind, mutation_id, body, at) VALUES (?1, ?2, 'mutation', ?3, ?4, ?5)",
                params![
                    cart,
                    (v + 1) as i64,
                    id,
                    r#"{"type":"set_quantity","sku":"tee-black","options":{"line":"c1"},"quantity":2}"#,
                    i as i64
                ],
            )
            .map_err(|e| e.to_string())?;
        }
        let record = format!(
            r#"{{"command":{{"type":"set_quantity","sku":"tee-black","options":{{"line":"c1"}},"quantity":2}},"result":{{"id":"{id}","status":"applied","version":{}}}}}"#,
            v + 1
        );
        tx.execute(
            "INSERT INTO idempotency (cart_id, mutation_id, record, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![cart, id, record, i as i64],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        versions[(cart - 1) as usize] = v + 1;
        latencies.push(t.elapsed().as_micros() as u64);
    }
    Ok(Summary::of(latencies, start.elapsed()))
}

/// The disk's own flush latency: 4 KB written and `sync_data`ed, `n` times
/// (what `dd oflag=dsync` measures).
pub fn fsync_probe(n: usize) -> Result<Summary, String> {
    use std::io::Write;
    let scratch = Scratch::new("fsync").map_err(|e| e.to_string())?;
    let mut f = std::fs::File::create(scratch.path("probe")).map_err(|e| e.to_string())?;
    let block = [0u8; 4096];
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    Ok(Summary::of(lat, start.elapsed()))
}
