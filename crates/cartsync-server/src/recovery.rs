//! The recovery worker: on start and every interval it expires anonymous
//! carts and idempotency records past retention, and verifies every cart
//! snapshot by replaying its event log with the core's `replay`, repairing
//! (and logging) any divergence. The event log is the source of truth; the
//! snapshot is a materialised view of it.

use crate::app::{now_ms, App};
use crate::metrics::{add, inc};
use crate::store::StoreError;
use cartsync_core::replay;
use std::time::Duration;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub expired_carts: usize,
    pub expired_records: usize,
    pub verified: usize,
    pub repaired: usize,
    /// Carts whose log does not replay at all (logged, left alone).
    pub unreplayable: usize,
}

const PAGE: usize = 500;

/// One full pass. Errors abort the pass (the next one starts over).
pub fn run_once(app: &App) -> Result<Report, StoreError> {
    let now = now_ms();
    let mut report = Report {
        expired_carts: app
            .store
            .expire_anonymous_carts(now.saturating_sub(app.anonymous_cart_retention.as_millis() as u64))?,
        expired_records: app
            .store
            .expire_idempotency_records(now.saturating_sub(app.idempotency_retention.as_millis() as u64))?,
        ..Report::default()
    };
    add(&app.metrics.recovery_expired_carts, report.expired_carts as u64);
    add(&app.metrics.recovery_expired_records, report.expired_records as u64);
    let mut after = 0;
    loop {
        let ids = app.store.cart_ids(after, PAGE)?;
        let Some(last) = ids.last() else { break };
        after = *last;
        for id in ids {
            verify_one(app, id, &mut report)?;
        }
    }
    tracing::info!(?report, "recovery pass done");
    Ok(report)
}

fn verify_one(app: &App, id: i64, report: &mut Report) -> Result<(), StoreError> {
    let source = match app.store.replay_source(id) {
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
            tracing::error!(cart = id, error = %e, "event log does not replay");
            return Ok(());
        }
    };
    report.verified += 1;
    inc(&app.metrics.recovery_verified);
    if replayed == source.snapshot {
        return Ok(());
    }
    tracing::warn!(
        cart = id,
        snapshot_version = source.snapshot.version,
        replayed_version = replayed.version,
        "snapshot diverged from its event log; repairing"
    );
    match app.store.repair_snapshot(id, source.snapshot.version, &replayed) {
        Ok(()) => {
            report.repaired += 1;
            inc(&app.metrics.recovery_repaired);
            app.cache.invalidate(id);
            Ok(())
        }
        // The cart moved on meanwhile: the next pass looks again.
        Err(StoreError::VersionConflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs passes forever on the blocking pool, one now and one per interval.
pub async fn run_forever(app: std::sync::Arc<App>, interval: Duration) {
    loop {
        let a = app.clone();
        match tokio::task::spawn_blocking(move || run_once(&a)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "recovery pass failed"),
            Err(e) => tracing::error!(error = %e, "recovery pass panicked"),
        }
        tokio::time::sleep(interval.max(Duration::from_secs(1))).await;
    }
}
