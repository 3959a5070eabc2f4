//! Deterministic simulation of the sync engine: several clients, each with
//! 1–3 tabs sharing one storage, against the core's authority behind a
//! network that drops, duplicates, delays and reorders, with tab reloads and
//! crashes, leader changes (a Web Lock, or the storage lease for a third of
//! the browsers), offline spells, a full localStorage, sessions that lapse
//! and come back in another tab, flushes and checkouts awaited by callers,
//! checkouts elsewhere and authority restarts, sign-in (the anonymous cart
//! attached to an account cart and merged, resent when its answer is lost,
//! again after a tab died mid-way) and sign-out, and a service worker per
//! browser (`sim/worker.rs`) that sends from its own IndexedDB copy of the
//! records (which a crashed tab can leave behind) when Background Sync
//! fires or it starts, under the flush lock or, without Web Locks, beside
//! the pages, while the pages take in what it settled. Every run checks that each
//! stored mutation is applied exactly once or rejected with an event, that a
//! command storage refused is applied nowhere, that nothing acknowledged is
//! lost, that no tab and no storage ever rolls a server cart back, that no
//! client abandons an open cart, that the view kept in place equals the view
//! computed from scratch after every input, that a settled flush means its
//! mutations are applied, that every awaited operation settles, that no cart
//! is ordered twice, that a finished sign-in leaves the tab on that
//! account's cart, that every tab converges to the authority's cart with
//! nothing pending, and that the authority's carts equal their event logs
//! replayed from empty.
//!
//! - `cargo test -p cartsync-core --test simulation` runs 5,000 seeds (about
//!   13 s in debug on two busy cores).
//! - `CARTSYNC_SIM_SEEDS=1000000 cargo test --release -p cartsync-core --test simulation -- --nocapture`
//!   runs a million (100,000 took 82 s in release on two busy cores) and
//!   prints totals.
//! - `CARTSYNC_SIM_SEED=1234 cargo test -p cartsync-core --test simulation -- --nocapture`
//!   replays one seed and prints its trace.

mod sim;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

const DEFAULT_SEEDS: u64 = 5_000;
/// Seeds are spread out so consecutive runs do not share prefixes.
const SEED_STRIDE: u64 = 0x9E37_79B9;

fn env_u64(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={raw:?} is not a number"),
    }
}

/// Re-runs the failing seed with tracing on (same seed, same run) and
/// panics with the tail of the trace and the replay command.
fn fail(seed: u64, error: &str) -> ! {
    let mut trace = Vec::new();
    if let Err(e) = sim::run_traced(seed, &mut trace) {
        trace.push(format!("=> {e}"));
    }
    let tail = trace[trace.len().saturating_sub(80)..].join("\n");
    panic!(
        "simulation failed for seed {seed}: {error}\n--- trace tail ---\n{tail}\n--- replay: \
         CARTSYNC_SIM_SEED={seed} cargo test -p cartsync-core --test simulation -- --nocapture"
    );
}

/// Runs seeds `t, t + threads, ...` below `seeds`; stops at the first
/// failure.
fn run_share(t: u64, threads: u64, seeds: u64, stop: &AtomicBool) -> Result<sim::Stats, (u64, String)> {
    let mut total = sim::Stats::default();
    let mut n = t;
    while n < seeds && !stop.load(Ordering::Relaxed) {
        let seed = n.wrapping_mul(SEED_STRIDE);
        match sim::run(seed) {
            Ok(s) => total.add(&s),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err((seed, e));
            }
        }
        n += threads;
    }
    Ok(total)
}

#[test]
fn simulation() {
    if let Some(seed) = env_u64("CARTSYNC_SIM_SEED") {
        let mut trace = Vec::new();
        let result = sim::run_traced(seed, &mut trace);
        for line in &trace {
            println!("{line}");
        }
        match result {
            Ok(stats) => println!("seed {seed} ok: {stats:?}"),
            Err(e) => panic!("simulation failed for seed {seed}: {e} (trace above)"),
        }
        return;
    }
    let seeds = env_u64("CARTSYNC_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let started = Instant::now();
    // Seeds are independent, so they run on every core; each run is still
    // deterministic, and a failure names its seed.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8) as u64;
    let stop = AtomicBool::new(false);
    let outcomes: Vec<Result<sim::Stats, (u64, String)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let stop = &stop;
                scope.spawn(move || run_share(t, threads, seeds, stop))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err((0, "a worker panicked".into()))))
            .collect()
    });
    let mut total = sim::Stats::default();
    for outcome in outcomes {
        match outcome {
            Ok(s) => total.add(&s),
            Err((seed, e)) => fail(seed, &e),
        }
    }
    println!(
        "{seeds} seeds in {:.1?}: {} mutations issued, {} applied, {} rejected, {} not stored (storage full), \
         {} conflicts, {} carts replaced, {} flushes settled, {} orders, {} sign-ins, {} worker flushes ({} mutations \
         acknowledged by a worker), {} events",
        started.elapsed(),
        total.issued,
        total.applied,
        total.rejected,
        total.unstored,
        total.conflicts,
        total.replaced,
        total.flushed,
        total.ordered,
        total.signed_in,
        total.worker_flushes,
        total.worker_acked,
        total.steps
    );
}
