//! `POST /carts/{token}/mutations`: the core decides, the store commits the
//! decision (snapshot, events, idempotency records) in one transaction, on
//! the condition that the cart is still as decided on.
//!
//! Two paths. With a hot copy of the cart in the session cache (see
//! [`on_hot_copy`]) and the cart's turn free, the batch is decided on the
//! copy without reading the store, and the commit is awaited. Otherwise,
//! or when the copy turns out stale, the batch is decided on a fresh read
//! ([`on_read`]).
//!
//! Either way one batch per cart token runs at a time in this process (a
//! [`Turn`]): racing requests for the same cart wait for each other instead
//! of losing the conditional commit.

use super::{open, remember, Caller, MAX_ATTEMPTS};
use crate::app::{now_ms, App, AppState};
use crate::auth::Claims;
use crate::cache::Projection;
use crate::catalog::{price_cart, CatalogCheck, Priced};
use crate::http::error::ApiError;
use crate::metrics::{add, inc};
use crate::store::{BatchCommit, CartRecord, CartState, Revision, StoreError, TokenHash};
use crate::stripes::Turn;
use cartsync_core::protocol::v1::CartView;
use cartsync_core::{decide_batch, BatchDecision, CartError, Conflict, Mutation, MutationResult, MutationStatus};
use std::collections::BTreeMap;

/// What a mutation batch came to.
#[derive(Debug)]
pub struct Mutated {
    pub view: CartView,
    pub results: Vec<MutationResult>,
    pub conflict: Option<Conflict>,
}

/// Decides and commits `batch` on the cart `token` opens.
pub async fn mutate(
    app: AppState,
    token: TokenHash,
    caller: Option<Claims>,
    batch: Vec<Mutation>,
) -> Result<Mutated, ApiError> {
    // The hot path needs the turn of the cart's token right now, and a hot
    // copy. Turns are keyed by token, not cart id, so taking one needs no
    // cache lookup first (with Redis that is a round trip): tabs and
    // devices sharing a token queue here; requests on other tokens of the
    // same cart (an account cart's) are kept honest by the commit's
    // condition instead. A token whose turn is taken has racing requests:
    // those wait for the turn and decide on a fresh read.
    let key = turn_key(&token);
    if let Some(turn) = app.cart_stripes.try_lock(key) {
        if let Some(p) = app.cache.get(&token).await {
            if let Some(done) = on_hot_copy(&app, &token, caller.as_ref(), &p, &batch).await? {
                return Ok(done);
            }
        }
        return on_read(&app, &token, caller.as_ref(), &batch, None, turn).await;
    }
    let stripes = app.clone();
    // Waiting for a busy turn blocks a thread: not a runtime worker's.
    let turn = tokio::task::spawn_blocking(move || stripes.cart_stripes.blocking_lock(key)).await?;
    on_read(&app, &token, caller.as_ref(), &batch, None, turn).await
}

/// After a lost commit, a short random pause growing with the attempts:
/// instances racing on one cart (they share no turn) would otherwise read
/// and lose in lockstep until one gives up with `503 busy`.
async fn backoff(token: &TokenHash, attempt: usize) {
    if attempt == 0 {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let noise = (u64::from(nanos) ^ turn_key(token) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let max_us = 1_000 * attempt as u64;
    tokio::time::sleep(std::time::Duration::from_micros(noise % max_us)).await;
}

/// The stripe of a token's turn (its hash is already uniform).
fn turn_key(token: &TokenHash) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&token[..8]);
    i64::from_le_bytes(b)
}

/// Decides a batch on the hot copy, without reading the cart or its
/// idempotency records. The commit is what checks the copy: it requires
/// the stored cart to be open and exactly the copy (its revision), and it
/// fails if a record for any of the batch's ids is already stored. So the
/// copy may answer only when every mutation of the batch is decided and
/// recorded by that commit: a conflict, a duplicate or nothing to write
/// leaves part of the answer unchecked, and `None` sends the batch to the
/// read path, as does a failed condition (the cart moved on in another
/// process, was closed, merged, repaired or deleted, or a mutation is a
/// resend).
async fn on_hot_copy(
    app: &App,
    token: &TokenHash,
    caller: Caller<'_>,
    p: &Projection,
    batch: &[Mutation],
) -> Result<Option<Mutated>, ApiError> {
    let Some(hot) = &p.hot else { return Ok(None) };
    // Refusals, too, are left to the read path: it knows whether the cart
    // was merged or closed meanwhile, which answer first.
    if super::authorize(p.owner.as_deref(), caller).is_err() {
        return Ok(None);
    }
    let now = now_ms().max(hot.cart.updated_at);
    let check = CatalogCheck(app.pricing.as_ref(), &app.limits);
    let Ok(decision) = decide_batch(&hot.cart, &BTreeMap::new(), batch, &app.limits, &check, now) else {
        return Ok(None);
    };
    if decision.conflict.is_some() || decision.records.len() != batch.len() {
        return Ok(None);
    }
    let priced = price_cart(&decision.cart, app.pricing.as_ref());
    let version = hot.cart.version;
    let committed = app
        .store
        .commit_batch(BatchCommit::new(p.cart_id, version, &decision, &priced.quotes, now).on_revision(&hot.revision))
        .await;
    match committed {
        Ok(revision) => Ok(Some(done(app, token, p.cart_id, decision, priced, revision).await)),
        Err(StoreError::VersionConflict { .. } | StoreError::NotFound) => {
            inc(&app.metrics.store_retries);
            app.cache.invalidate(p.cart_id, version).await;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Decides on a fresh read (`first`, or read here) and commits on the
/// condition that the cart is still at the version read; decides again on
/// a new read when it moved on.
async fn on_read(
    app: &App,
    token: &TokenHash,
    caller: Caller<'_>,
    batch: &[Mutation],
    mut first: Option<CartRecord>,
    _turn: Turn,
) -> Result<Mutated, ApiError> {
    let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
    for attempt in 0..MAX_ATTEMPTS {
        let record = match first.take() {
            Some(record) => record,
            None => open(app, token, caller).await?,
        };
        if let CartState::Closed { .. } = record.state {
            return Err(ApiError::from(CartError::CartClosed).with_etag(record.cart.version));
        }
        let log = app.store.idempotency_records(record.id, &ids).await?;
        let now = now_ms().max(record.cart.updated_at);
        let check = CatalogCheck(app.pricing.as_ref(), &app.limits);
        let decision = decide_batch(&record.cart, &log, batch, &app.limits, &check, now)?;
        let priced = price_cart(&decision.cart, app.pricing.as_ref());
        let revision = if decision.changed() {
            let commit = BatchCommit::new(record.id, record.cart.version, &decision, &priced.quotes, now);
            match app.store.commit_batch(commit).await {
                Ok(revision) => revision,
                Err(StoreError::VersionConflict { .. }) => {
                    inc(&app.metrics.store_retries);
                    backoff(token, attempt).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            record.revision
        };
        return Ok(done(app, token, record.id, decision, priced, revision).await);
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the cart is changing too fast; retry",
    ))
}

/// Remembers the decided cart (committed at `revision`) and shapes the
/// answer.
async fn done(
    app: &App,
    token: &TokenHash,
    id: i64,
    decision: BatchDecision,
    priced: Priced,
    revision: Revision,
) -> Mutated {
    count(app, &decision.results, decision.conflict.is_some());
    let view = priced.view;
    remember(app, *token, id, decision.cart, view.clone(), Some(revision)).await;
    Mutated {
        view,
        results: decision.results,
        conflict: decision.conflict,
    }
}

fn count(app: &App, results: &[MutationResult], conflict: bool) {
    let m = &app.metrics;
    for r in results {
        inc(match r.status {
            MutationStatus::Applied => &m.mutations_applied,
            MutationStatus::Duplicate => &m.mutations_duplicate,
            MutationStatus::Rejected => &m.mutations_rejected,
        });
    }
    add(&m.mutations_conflict, u64::from(conflict));
}
