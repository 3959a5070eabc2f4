//! `cartsync-loadgen`: benchmarks of the cartsync authority.
//!
//! - `writes`: durable mutations/s and latency against the real server
//!   binary over loopback at several client counts, each client its own
//!   cart, and 32 clients on 4 hot carts (409s resent like the SDK does),
//!   with the server's (and PostgreSQL's) CPU per applied mutation;
//! - `raw` (runs with writes): the storage's one-transaction-per-mutation
//!   limit, measured by the harness straight on the store (SQLite, or
//!   PostgreSQL through tokio-postgres at the same concurrency), before and
//!   after the server phases and in alternating slices, and the server's
//!   rate as a ratio to it;
//! - `reads`: cart reads served from the session cache and cold (after a
//!   cache flush);
//! - `cluster` (PostgreSQL): three instances behind nginx;
//! - `redis-only` (PostgreSQL): the same logical writes on a cart kept only
//!   in Redis;
//! - `wrk`: the third-party load generator beside the in-house one;
//! - `callgrind`: server instructions per durable mutation;
//! - `scaling` (SQLite): generated stores of growing size,
//!   read/write/verification cost in process through the server library.
//!
//! Benchmarks never fail on slow numbers; the process fails only when a
//! phase cannot run. Results go to stdout (Markdown) and to a JSON file.

mod callgrind;
mod cluster;
mod http;
mod load;
mod pg;
mod raw;
mod redis_only;
mod scaling;
mod sections;
mod server;
mod stats;
mod wrk;

use clap::Parser;
use serde_json::{json, Value};
use stats::{ms, round, Summary};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// SKUs of the bundled demo catalog (the server rejects unknown ones).
pub const SKUS: &[&str] = &[
    "tee-black",
    "tee-white",
    "tee-navy",
    "hoodie-grey",
    "hoodie-forest",
    "cap-canvas",
    "beanie-rust",
    "socks-stripe",
];

#[derive(Debug, Parser)]
#[command(name = "cartsync-loadgen", about = "Benchmarks of the cartsync authority")]
struct Args {
    /// Phases to run, comma-separated: writes, reads, scaling, cluster,
    /// redis-only, wrk, callgrind (raw runs with writes).
    #[arg(long, value_delimiter = ',', default_value = "writes,reads,scaling")]
    sections: Vec<String>,
    /// The server's store: `sqlite` (a scratch file) or `postgres` (a
    /// scratch database on `CARTSYNC_BENCH_POSTGRES`, default the local
    /// server, with the Redis cache on `CARTSYNC_BENCH_REDIS`).
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// The session cache with `--store postgres`: `redis` (shared, as
    /// several instances run) or `memory`.
    #[arg(long, default_value = "redis")]
    pg_cache: String,
    /// Seconds of the wrk comparison.
    #[arg(long, default_value_t = 10)]
    wrk_secs: u64,
    /// Measured seconds per load level.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Unmeasured warm-up per load level, in milliseconds.
    #[arg(long, default_value_t = 500)]
    warmup_ms: u64,
    /// Concurrent clients, each on its own cart.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    clients: Vec<usize>,
    /// Scaling rows as carts:events (k and m suffixes allowed).
    #[arg(long, value_delimiter = ',', default_value = "10k:10,100k:10,1k:100,1k:1000")]
    scale: Vec<String>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/server.json")]
    json: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cartsync-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let has = |s: &str| args.sections.iter().any(|x| x == s);
    let secs = Duration::from_secs_f64(args.secs);
    let warmup = Duration::from_millis(args.warmup_ms);
    let postgres = match args.store.as_str() {
        "sqlite" => false,
        "postgres" => true,
        other => return Err(format!("--store must be sqlite or postgres, not {other}")),
    };
    let mut out = serde_json::Map::new();
    out.insert("secs_per_level".into(), json!(args.secs));
    out.insert("store".into(), json!(args.store));
    out.insert("sqlite".into(), json!(rusqlite::version()));
    println!(
        "store: {}; SQLite {} (bundled by rusqlite, as in the server)",
        args.store,
        rusqlite::version()
    );
    let scratch = server::Scratch::new("load").map_err(|e| e.to_string())?;
    // A fresh store per use: `tag` names it.
    let fresh = |tag: &str| -> Result<(server::Store, callgrind::Keep), String> {
        if postgres {
            let db = pg::BenchDb::create(tag)?;
            let cache = if args.pg_cache == "memory" {
                "memory".to_string()
            } else {
                redis_only::url()
            };
            let store = server::Store::Postgres {
                url: db.url.clone(),
                cache,
            };
            Ok((store, Box::new(db)))
        } else {
            Ok((server::Store::Sqlite(scratch.path(&format!("{tag}.db"))), Box::new(())))
        }
    };
    if has("writes") || has("reads") || has("wrk") {
        let (store, _keep) = fresh("load")?;
        let server = server::Server::start(&store)?;
        println!("server: {} on {}", server::server_binary().display(), server.addr);
        if has("writes") {
            let raw_url = if postgres { Some(fresh("raw")?) } else { None };
            let raw = |secs: Duration| match &raw_url {
                Some((server::Store::Postgres { url, .. }, _)) => {
                    Ok((pg::raw(url, 32, secs, true)?, pg::raw(url, 32, secs, false)?))
                }
                _ => raw_pair(secs),
            };
            out.insert("writes".into(), writes(args, &server, &raw, postgres, warmup, secs)?);
        }
        if has("reads") {
            out.insert("reads".into(), sections::reads(server.addr, secs)?);
        }
        if has("wrk") {
            println!("\n## The third-party load generator beside the in-house one (32 connections, one cart each)");
            out.insert("wrk".into(), wrk::compare(&server, 32, args.wrk_secs, 0x77_0000)?);
        }
    }
    if has("cluster") {
        if !postgres {
            return Err("the cluster section needs --store postgres".into());
        }
        let (store, _keep) = fresh("cluster")?;
        let b = cluster::Balanced::start(&store, 3)?;
        println!("\n## Three instances behind nginx (PostgreSQL + Redis)");
        out.insert(
            "cluster".into(),
            cluster::levels(&b, &args.clients, 0x3300, warmup, secs)?,
        );
    }
    if has("redis-only") {
        println!("\n## A cart kept only in Redis (no durability), the same logical writes, 32 clients");
        let r = redis_only::run(32, secs)?;
        println!("| writes | mutations/s | p50 ms | p99 ms |\n|---|---:|---:|---:|");
        println!(
            "| Lua: version check, snapshot, event, idempotency record | {:.0} | {} | {} |",
            r.rate(),
            ms(r.p50_us),
            ms(r.p99_us)
        );
        out.insert("redis_only".into(), r.json());
    }
    if has("callgrind") {
        println!("\n## Server instructions per durable mutation (valgrind --tool=callgrind)");
        out.insert("callgrind".into(), callgrind::measure(&fresh, 25, 125)?);
    }
    if has("scaling") {
        out.insert("scaling".into(), sections::scaling(&args.scale)?);
    }
    if let Some(dir) = args.json.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = serde_json::to_string_pretty(&Value::Object(out)).map_err(|e| e.to_string())?;
    std::fs::write(&args.json, text).map_err(|e| format!("{}: {e}", args.json.display()))?;
    println!("\nresults: {}", args.json.display());
    Ok(())
}

fn raw_pair(secs: Duration) -> Result<(Summary, Summary), String> {
    Ok((raw::run(false, secs)?, raw::run(true, secs)?))
}

/// The raw limit's two forms, measured for `secs`.
type RawPair<'a> = &'a dyn Fn(Duration) -> Result<(Summary, Summary), String>;

fn writes(
    args: &Args,
    server: &server::Server,
    raw: RawPair<'_>,
    postgres: bool,
    warmup: Duration,
    secs: Duration,
) -> Result<Value, String> {
    let addr = server.addr;
    let run_id = (std::process::id() << 8) ^ 0x00c0_ffee;
    let store = if postgres { "PostgreSQL" } else { "SQLite" };
    println!("\n## Raw {store} limit (before the server phases)");
    let before = raw(secs)?;
    print_raw(&before, postgres);
    println!("\n## Durable mutations through the server ({store})");
    println!("| clients | carts | mutations/s | p50 ms | p99 ms | max ms | 409s | errors, gave up | server CPU µs/mutation | PostgreSQL CPU µs/mutation |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut levels = Vec::new();
    let mut plan: Vec<(usize, usize, bool)> = args.clients.iter().map(|&c| (c, c, false)).collect();
    plan.push((32, 4, true));
    for (i, (clients, carts, hot)) in plan.into_iter().enumerate() {
        let cpu_before = server.cpu_secs();
        let pg_before = server::postgres_cpu_secs();
        let before_metrics = load::metrics(addr);
        let r = load::mutations(addr, run_id + i as u32, clients, carts, hot, warmup, secs)?;
        let after_metrics = load::metrics(addr);
        let cpu_after = server.cpu_secs();
        let pg_after = server::postgres_cpu_secs();
        // Over the whole level (warm-up included), per applied mutation; on
        // hot carts the 409s' work is in it too.
        let applied = load::counter(&after_metrics, "cartsync_mutations_total", "applied")
            - load::counter(&before_metrics, "cartsync_mutations_total", "applied");
        let cpu_us = match (cpu_before, cpu_after) {
            (Some(a), Some(b)) if applied > 0 => Some((b - a) * 1e6 / applied as f64),
            _ => None,
        };
        let pg_us = (postgres && applied > 0).then(|| (pg_after - pg_before) * 1e6 / applied as f64);
        let rejected = load::counter(&after_metrics, "cartsync_mutations_total", "rejected")
            - load::counter(&before_metrics, "cartsync_mutations_total", "rejected");
        if rejected > 0 {
            return Err(format!("{rejected} mutations were rejected: the workload is wrong"));
        }
        println!(
            "| {} | {}{} | {:.0} | {} | {} | {} | {} | {}, {} | {} | {} |",
            clients,
            carts,
            if hot { " (hot)" } else { "" },
            r.latency.rate(),
            ms(r.latency.p50_us),
            ms(r.latency.p99_us),
            ms(r.latency.max_us),
            r.conflicts,
            r.errors,
            r.gave_up,
            cpu_us.map_or("-".to_string(), |c| format!("{c:.0}")),
            pg_us.map_or("-".to_string(), |c| format!("{c:.0}"))
        );
        if let Some(e) = &r.first_error {
            eprintln!("  first unexpected answer at {clients} clients: {e}");
        }
        levels.push(json!({
            "clients": clients, "carts": carts, "hot": hot,
            "latency": r.latency.json(), "conflicts_409": r.conflicts,
            "errors": r.errors, "gave_up": r.gave_up,
            "server_cpu_us_per_mutation": cpu_us.map(|c| round(c, 1)),
            "postgres_cpu_us_per_mutation": pg_us.map(|c| round(c, 1)),
        }));
    }
    println!("\n## Raw {store} limit (after the server phases)");
    let after = raw(secs)?;
    print_raw(&after, postgres);
    let raw_rate = (before.0.rate() + after.0.rate()) / 2.0;
    let at32 = levels
        .iter()
        .find(|l| l["clients"] == 32 && l["hot"] == false)
        .map(|l| {
            (
                l["latency"]["per_sec"].as_f64().unwrap_or(0.0),
                l["latency"]["p99_ms"].as_f64().unwrap_or(0.0),
            )
        });
    if let Some((rate, p99)) = at32 {
        let ratio = rate / raw_rate.max(1.0);
        let goal = if postgres { 0.8 } else { 2.0 };
        println!(
            "\nserver at 32 clients: {rate:.0}/s = {ratio:.2}x the raw one-commit-per-mutation rate ({raw_rate:.0}/s, mean of before/after); p99 {p99:.2} ms; goal >= {goal}x with p99 < 25 ms: {}",
            if ratio >= goal && p99 < 25.0 { "met" } else { "NOT met" }
        );
    }
    let paired = paired(addr, run_id + 1000, warmup, raw, postgres)?;
    Ok(json!({
        "paired_32": paired,
        "raw_before": {"update_idempotency": before.0.json(), "update_event_idempotency": before.1.json()},
        "raw_after": {"update_idempotency": after.0.json(), "update_event_idempotency": after.1.json()},
        "raw_mean_per_sec": round(raw_rate, 1),
        "levels": levels,
    }))
}

/// The disk's flush latency swings between phases (here: ~0.2 ms and ~4 ms
/// per flush, each lasting seconds), so the headline ratio is taken from
/// alternating 1-second slices: raw SQLite, then the server at 32 clients,
/// six times; medians of the slices and the range of the paired ratios.
fn paired(
    addr: std::net::SocketAddr,
    run_id: u32,
    warmup: Duration,
    raw_limit: RawPair<'_>,
    postgres: bool,
) -> Result<Value, String> {
    const SLICES: usize = 6;
    let slice = Duration::from_secs(1);
    let probe = raw::fsync_probe(200)?;
    let store = if postgres {
        "PostgreSQL (one statement per mutation, 32 clients)"
    } else {
        "SQLite"
    };
    println!("\n## Side by side: raw {store} and the server at 32 clients, {SLICES} alternating 1-s slices");
    println!(
        "disk flush (4 KB write + fdatasync, 200 times): p50 {} ms, p99 {} ms",
        ms(probe.p50_us),
        ms(probe.p99_us)
    );
    println!("| slice | raw commits/s | server mutations/s | server p99 ms | ratio |");
    println!("|---:|---:|---:|---:|---:|");
    let (mut raws, mut servers, mut ratios, mut p99s) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..SLICES {
        let r = if postgres {
            raw_limit(slice)?.0.rate()
        } else {
            raw::run(false, slice)?.rate()
        };
        let s = load::mutations(
            addr,
            run_id + i as u32,
            32,
            32,
            false,
            warmup.min(Duration::from_millis(200)),
            slice,
        )?;
        let ratio = s.latency.rate() / r.max(1.0);
        println!(
            "| {} | {:.0} | {:.0} | {} | {:.2} |",
            i + 1,
            r,
            s.latency.rate(),
            ms(s.latency.p99_us),
            ratio
        );
        raws.push(r);
        servers.push(s.latency.rate());
        ratios.push(ratio);
        p99s.push(s.latency.p99_us as f64 / 1000.0);
    }
    let med = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) / 2]
    };
    let (mr, ms_, mp) = (med(&raws), med(&servers), med(&p99s));
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    let goal = if postgres { 0.8 } else { 2.0 };
    println!(
        "medians: raw {mr:.0}/s, server {ms_:.0}/s, ratio of medians {:.2} (paired ratios {lo:.2}-{hi:.2}), server p99 {mp:.2} ms; goal >= {goal}x with p99 < 25 ms: {}",
        ms_ / mr.max(1.0),
        if ms_ / mr.max(1.0) >= goal && mp < 25.0 { "met" } else { "NOT met" }
    );
    Ok(json!({
        "fsync_probe": probe.json(),
        "raw_per_sec": raws, "server_per_sec": servers, "server_p99_ms": p99s, "ratios": ratios,
        "median_raw": round(mr, 1), "median_server": round(ms_, 1),
        "ratio_of_medians": round(ms_ / mr.max(1.0), 2), "median_p99_ms": round(mp, 2),
    }))
}

fn print_raw((a, b): &(Summary, Summary), postgres: bool) {
    println!("| transaction per commit | commits/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    let names = if postgres {
        [
            "32 clients: update + event + idempotency, one statement (the server's)",
            "32 clients: BEGIN, update, event, idempotency, COMMIT",
        ]
    } else {
        ["update + idempotency insert", "update + event + idempotency insert"]
    };
    for (name, s) in [(names[0], a), (names[1], b)] {
        println!("| {name} | {:.0} | {} | {} |", s.rate(), ms(s.p50_us), ms(s.p99_us));
    }
}
