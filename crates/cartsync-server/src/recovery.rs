//! The recovery worker: on start and every interval it expires anonymous
//! carts and idempotency records past retention, and verifies the carts
//! changed since its last pass by replaying their event logs with the
//! core's `replay`, repairing (and logging) any divergence. The event log
//! is the source of truth; the snapshot is a materialised view of it.
//!
//! Between passes, a sweep releases the stock of unpaid orders whose hold
//! ran out and marks them `expired` ([`sweep_holds`], every tenth of the
//! hold, between 1 and 60 seconds). Sweeps need no lock: each order is
//! taken under its row lock (PostgreSQL) or the writer (SQLite), so
//! instances sweeping at once expire each order once.
//!
//! With several instances on one database, a pass first takes the store's
//! recovery lock (a PostgreSQL advisory lock): one pass runs at a time, and
//! an instance that finds the lock held skips its turn. Pages go by
//! `(updated_at, id)` from this process's last verified position, not over
//! every cart every pass.

use crate::app::{now_ms, App};
use crate::metrics::{add, inc};
use crate::store::StoreError;
use cartsync_core::replay;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `false` when another process held the recovery lock.
    pub ran: bool,
    pub expired_carts: usize,
    pub expired_records: usize,
    pub verified: usize,
    pub repaired: usize,
    /// Carts whose log does not replay at all (logged, left alone).
    pub unreplayable: usize,
    /// Unpaid orders whose hold ran out (stock given back).
    pub expired_orders: usize,
}

const PAGE: usize = 500;

/// How far back each pass looks before its last position: writes stamped
/// by another instance's clock, up to this much behind ours, are still
/// verified.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// One pass. Errors abort the pass (the next one resumes from the last
/// verified position).
pub async fn run_once(app: &App) -> Result<Report, StoreError> {
    let Some(_lock) = app.store.recovery_lock().await? else {
        inc(&app.metrics.recovery_skipped);
        tracing::info!(instance = %app.instance, "recovery pass skipped: another instance holds the lock");
        return Ok(Report::default());
    };
    let started = Instant::now();
    let now = now_ms();
    let mut report = Report {
        ran: true,
        expired_carts: app
            .store
            .expire_anonymous_carts(now.saturating_sub(app.anonymous_cart_retention.as_millis() as u64))
            .await?,
        expired_records: app
            .store
            .expire_idempotency_records(now.saturating_sub(app.idempotency_retention.as_millis() as u64))
            .await?,
        ..Report::default()
    };
    report.expired_orders = sweep_holds(app).await?;
    add(&app.metrics.recovery_expired_carts, report.expired_carts as u64);
    add(&app.metrics.recovery_expired_records, report.expired_records as u64);
    let since = app
        .verified_until
        .load(Ordering::Relaxed)
        .saturating_sub(CLOCK_SKEW.as_millis() as u64);
    let mut after = None;
    loop {
        let page = app.store.carts_updated_since(since, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(*last);
        for (_, id) in page {
            verify_one(app, id, &mut report).await?;
        }
    }
    app.verified_until.fetch_max(now, Ordering::Relaxed);
    app.metrics
        .recovery_pass_seconds
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(instance = %app.instance, ?report, "recovery pass done");
    Ok(report)
}

async fn verify_one(app: &App, id: i64, report: &mut Report) -> Result<(), StoreError> {
    let source = match app.store.replay_source(id).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    // Replay with the limits of the time the events were accepted; today's
    // limits are the same, and the events passed them then.
    let replayed = match replay(&source.base, &source.events, &app.limits) {
        Ok(c) => c,
        Err(e) => {
            report.unreplayable += 1;
            tracing::error!(instance = %app.instance, cart = id, error = %e, "event log does not replay");
            return Ok(());
        }
    };
    report.verified += 1;
    inc(&app.metrics.recovery_verified);
    if replayed == source.snapshot {
        return Ok(());
    }
    tracing::warn!(
        instance = %app.instance,
        cart = id,
        snapshot_version = source.snapshot.version,
        replayed_version = replayed.version,
        "snapshot diverged from its event log; repairing"
    );
    match app.store.repair_snapshot(id, source.snapshot.version, &replayed).await {
        Ok(()) => {
            report.repaired += 1;
            inc(&app.metrics.recovery_repaired);
            app.cache.invalidate(id, source.snapshot.version).await;
            Ok(())
        }
        // The cart moved on meanwhile: the next pass looks again.
        Err(StoreError::VersionConflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives the stock of unpaid orders whose hold ran out back and marks them
/// `expired` (their intents `canceled`); returns how many.
pub async fn sweep_holds(app: &App) -> Result<usize, StoreError> {
    let now = now_ms();
    let mut total = 0;
    loop {
        let ids = app.store.expire_holds(now, PAGE).await?;
        for id in &ids {
            tracing::info!(instance = %app.instance, order = %id, "unpaid order expired; its stock is back");
        }
        add(&app.metrics.orders_expired, ids.len() as u64);
        total += ids.len();
        if ids.len() < PAGE {
            return Ok(total);
        }
    }
}

/// How often holds are swept: a tenth of the hold, between 1 s and 60 s.
///
/// ```
/// use cartsync_server::recovery::sweep_interval;
/// use std::time::Duration;
/// assert_eq!(sweep_interval(Duration::from_secs(3 * 86_400)), Duration::from_secs(60));
/// assert_eq!(sweep_interval(Duration::from_secs(4)), Duration::from_secs(1));
/// ```
pub fn sweep_interval(hold: Duration) -> Duration {
    (hold / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Sweeps holds forever, every `every`.
pub async fn sweep_forever(app: std::sync::Arc<App>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = sweep_holds(&app).await {
            tracing::error!(instance = %app.instance, error = %e, "hold sweep failed");
        }
    }
}

/// Runs passes forever, one now and one per interval.
pub async fn run_forever(app: std::sync::Arc<App>, interval: Duration) {
    loop {
        if let Err(e) = run_once(&app).await {
            tracing::error!(instance = %app.instance, error = %e, "recovery pass failed");
        }
        tokio::time::sleep(interval.max(Duration::from_secs(1))).await;
    }
}
