//! How cost grows with the store: carts and events generated straight into
//! SQLite in the server's schema (rows shaped exactly as the store writes
//! them, histories produced by the core's `apply`), then, in process through
//! the server library (the same code the HTTP handlers and the recovery
//! worker run): cold cart reads, durable writes, and one full recovery
//! verification pass (`recovery::run_once`, which replays every cart's log
//! with the core's `replay`).

use crate::server::Scratch;
use crate::stats::Summary;
use cartsync_core::{apply_in_place, Cart, Command, IdempotencyRecord, Limits, Mutation, MutationId};
use cartsync_core::{MutationResult, MutationStatus, Options, Sku};
use cartsync_server::{recovery, service, tokens, App, Config};
use clap::Parser;
use rusqlite::params;
use std::time::{Duration, Instant};

/// Lines per generated cart (the rest of the history re-sets quantities).
const LINES: usize = 5;
const READS: usize = 2_000;
const WRITES: usize = 300;
const CARTS_PER_TX: usize = 20_000;

/// One row of the scaling table.
#[derive(Debug, Clone)]
pub struct Row {
    pub carts: usize,
    pub events: usize,
    pub db_mb: f64,
    pub generate: Duration,
    pub read: Summary,
    pub write: Summary,
    pub verify: Duration,
    pub verified: usize,
}

fn token(i: usize) -> String {
    format!("bench{i:027}")
}

/// The history every generated cart has: `events` commands and the cart
/// after each (the core decides what they mean).
fn history(events: usize, at0: u64) -> Result<(Vec<(Command, u64)>, Cart), String> {
    let limits = Limits::default();
    let mut cart = Cart {
        updated_at: at0,
        ..Cart::default()
    };
    let mut out = Vec::with_capacity(events);
    for k in 1..=events {
        let sku = Sku::new(crate::SKUS[(k - 1) % LINES]);
        let command = if k <= LINES {
            Command::AddItem {
                sku,
                quantity: 1,
                options: Options::new(),
            }
        } else {
            Command::SetQuantity {
                sku,
                options: Options::new(),
                quantity: 1 + (k % 3) as i64,
            }
        };
        apply_in_place(&mut cart, &command, &limits).map_err(|e| e.to_string())?;
        cart.version = k as u64;
        cart.updated_at = at0 + k as u64;
        out.push((command, at0 + k as u64));
    }
    Ok((out, cart))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Writes `carts` carts with `events` events each (and one idempotency
/// record per event, as the server keeps them) into a fresh database.
fn generate(path: &std::path::Path, carts: usize, events: usize) -> Result<(), String> {
    let mut conn = crate::server::create_schema(path)?;
    // Bulk load: no journal, no fsync; WAL again at the end, as the server
    // expects.
    conn.pragma_update(None, "journal_mode", "OFF").map_err(err)?;
    conn.pragma_update(None, "synchronous", "OFF").map_err(err)?;
    conn.pragma_update(None, "cache_size", -262_144).map_err(err)?;
    let now = cartsync_server::app::now_ms();
    let at0 = now - 60_000;
    let (hist, final_cart) = history(events, at0)?;
    let snapshot = serde_json::to_string(&final_cart).map_err(err)?;
    let base = serde_json::to_string(&Cart {
        updated_at: at0,
        ..Cart::default()
    })
    .map_err(err)?;
    let bodies: Vec<String> = hist
        .iter()
        .map(|(c, _)| serde_json::to_string(c))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    for chunk_start in (0..carts).step_by(CARTS_PER_TX) {
        let tx = conn.transaction().map_err(err)?;
        {
            let mut cart_stmt = tx
                .prepare(
                    "INSERT INTO carts (id, version, snapshot, quotes, base_version, base, created_at, updated_at)
                     VALUES (?1, ?2, ?3, '[]', 0, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            let mut token_stmt = tx
                .prepare("INSERT INTO cart_tokens (hash, cart_id, created_at) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            let mut event_stmt = tx
                .prepare(
                    "INSERT INTO events (cart_id, version, kind, mutation_id, body, at)
                     VALUES (?1, ?2, 'mutation', ?3, ?4, ?5)",
                )
                .map_err(err)?;
            let mut record_stmt = tx
                .prepare("INSERT INTO idempotency (cart_id, mutation_id, record, created_at) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for i in chunk_start..(chunk_start + CARTS_PER_TX).min(carts) {
                let id = (i + 1) as i64;
                let updated = final_cart.updated_at as i64;
                cart_stmt
                    .execute(params![id, events as i64, snapshot, base, at0 as i64, updated])
                    .map_err(err)?;
                let hash = tokens::sha256(token(i).as_bytes());
                token_stmt.execute(params![&hash[..], id, at0 as i64]).map_err(err)?;
                for (k, ((command, at), body)) in hist.iter().zip(&bodies).enumerate() {
                    let version = (k + 1) as u64;
                    let mid = crate::load::mutation_id(0x5ca1e, i as u32, version);
                    event_stmt
                        .execute(params![id, version as i64, mid, body, *at as i64])
                        .map_err(err)?;
                    let record = IdempotencyRecord {
                        command: command.clone(),
                        result: MutationResult {
                            id: MutationId(mid.parse().map_err(err)?),
                            status: MutationStatus::Applied,
                            version,
                            error: None,
                        },
                    };
                    let record = serde_json::to_string(&record).map_err(err)?;
                    record_stmt.execute(params![id, mid, record, *at as i64]).map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    Ok(())
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Generates the store and measures it.
pub fn row(carts: usize, events: usize) -> Result<Row, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?
        .block_on(measure(carts, events))
}

async fn measure(carts: usize, events: usize) -> Result<Row, String> {
    let scratch = Scratch::new("scale").map_err(err)?;
    let path = scratch.path("scale.db");
    let t = Instant::now();
    generate(&path, carts, events)?;
    let generate_time = t.elapsed();
    let db_mb = std::fs::metadata(&path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    let config = Config::try_parse_from([
        "cartsync-server",
        "--database",
        &format!("sqlite://{}", path.display()),
        "--secret",
        "bench",
    ])
    .map_err(err)?;
    let app = std::sync::Arc::new(App::from_config(&config).await.map_err(err)?);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;

    // Cold reads: the cache is emptied before each, so every read loads the
    // snapshot from SQLite and prices it.
    let mut lat = Vec::with_capacity(READS);
    let start = Instant::now();
    for _ in 0..READS {
        let hash = tokens::sha256(token(xorshift(&mut rng) as usize % carts).as_bytes());
        app.cache.flush().await.map_err(err)?;
        let t = Instant::now();
        service::read(&app, &hash, None)
            .await
            .map_err(|e| format!("read: {e:?}"))?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    let read = Summary::of(lat, start.elapsed());

    // Durable writes, one at a time (each its own commit and fsync).
    let mut lat = Vec::with_capacity(WRITES);
    let start = Instant::now();
    for n in 0..WRITES {
        let hash = tokens::sha256(token(xorshift(&mut rng) as usize % carts).as_bytes());
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&xorshift(&mut rng).to_le_bytes());
        bytes[8..].copy_from_slice(&(n as u64).to_le_bytes());
        let m = Mutation {
            id: MutationId::from_random_bytes(bytes),
            base_version: None,
            command: Command::add(crate::SKUS[n % LINES], 1),
        };
        let t = Instant::now();
        service::mutate(app.clone(), hash, None, vec![m])
            .await
            .map_err(|e| format!("mutate: {e:?}"))?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    let write = Summary::of(lat, start.elapsed());

    // One full verification pass, as the recovery worker runs it.
    let t = Instant::now();
    let report = recovery::run_once(&app).await.map_err(err)?;
    let verify = t.elapsed();
    if report.repaired != 0 || report.unreplayable != 0 || report.verified != carts {
        return Err(format!("unexpected recovery report: {report:?}"));
    }
    Ok(Row {
        carts,
        events,
        db_mb,
        generate: generate_time,
        read,
        write,
        verify,
        verified: report.verified,
    })
}
