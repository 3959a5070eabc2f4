//! The cart flows behind the HTTP handlers: open, read, mutate, attach.
//! Synchronous (the store is); handlers run them on the blocking pool. The
//! decisions themselves are the core's (`decide_batch`, `merge`); this file
//! only loads, commits and projects.

use crate::app::{now_ms, App};
use crate::auth::Claims;
use crate::cache::{HotCopy, Projection};
use crate::catalog::{price_cart, CatalogCheck, Priced};
use crate::http::error::ApiError;
use crate::metrics::{add, inc};
use crate::store::{CartRecord, CartState, MergeCommit, MergeTarget, Revision, StoreError, TokenHash};
use crate::tokens;
use cartsync_core::protocol::v1::CartView;
use cartsync_core::MutationStatus;
use cartsync_core::{
    decide_batch, merge, BatchDecision, Cart, CartError, Conflict, MergeReport, Mutation, MutationResult,
};
use std::collections::BTreeMap;

/// How often a batch is decided again when the cart moved on between the
/// read and the conditional commit (another request won the race).
const MAX_ATTEMPTS: usize = 16;

/// Who is calling: the verified user token, if one was sent.
pub type Caller<'a> = Option<&'a Claims>;

/// Account carts are readable and writable only by their owner.
pub fn authorize(owner: Option<&str>, caller: Caller<'_>) -> Result<(), ApiError> {
    match (owner, caller) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ApiError::unauthorized(
            "this is an account cart: send the owner's bearer token",
        )),
        (Some(o), Some(c)) if c.sub == o => Ok(()),
        (Some(_), Some(_)) => Err(ApiError::forbidden()),
    }
}

/// The cart a token opens, for reading: unknown → 404, merged → 410, and
/// the owner check. Closed carts can still be read.
pub fn open(app: &App, token: &TokenHash, caller: Caller<'_>) -> Result<CartRecord, ApiError> {
    let record = app.store.load_by_token(token)?;
    if let CartState::Merged { .. } = record.state {
        return Err(CartError::CartMerged.into());
    }
    authorize(record.cart.owner.as_deref(), caller)?;
    Ok(record)
}

/// Prices a cart and remembers the projection for this token; with the
/// store revision the cart was read or committed at, it is also the hot
/// copy the next mutation decides on.
pub fn project(app: &App, token: TokenHash, record_id: i64, cart: &Cart, revision: Option<Revision>) -> Priced {
    let priced = price_cart(cart, app.pricing.as_ref());
    remember(app, token, record_id, cart.clone(), priced.view.clone(), revision);
    priced
}

fn remember(app: &App, token: TokenHash, record_id: i64, cart: Cart, view: CartView, revision: Option<Revision>) {
    app.cache.put(
        token,
        Projection {
            cart_id: record_id,
            owner: cart.owner.clone(),
            view,
            hot: revision.map(|revision| HotCopy { cart, revision }),
        },
    );
}

/// `POST /carts`: a new anonymous cart and its token.
pub fn create(app: &App) -> Result<(String, CartView), ApiError> {
    let (token, hash) = tokens::mint()?;
    let record = app.store.create_cart(&hash, now_ms())?;
    let priced = project(app, hash, record.id, &record.cart, Some(record.revision));
    Ok((token, priced.view))
}

/// `GET /carts/{token}`: the session cache's projection if it is still at
/// the stored version (one indexed lookup: another process may have written
/// the cart), else rebuilt from the store.
pub fn read(app: &App, token: &TokenHash, caller: Caller<'_>) -> Result<CartView, ApiError> {
    if let Some(p) = app.cache.get(token) {
        let head = app.store.head(token)?;
        if head.merged {
            app.cache.invalidate(head.id);
            return Err(CartError::CartMerged.into());
        }
        if head.id == p.cart_id && head.version == p.view.version {
            inc(&app.metrics.cache_hits);
            authorize(p.owner.as_deref(), caller)?;
            return Ok(p.view.clone());
        }
    }
    inc(&app.metrics.cache_misses);
    let record = open(app, token, caller)?;
    Ok(project(app, *token, record.id, &record.cart, Some(record.revision)).view)
}

/// What a mutation batch came to.
#[derive(Debug)]
pub struct Mutated {
    pub view: CartView,
    pub results: Vec<MutationResult>,
    pub conflict: Option<Conflict>,
}

/// `POST /carts/{token}/mutations`: the core decides, the store commits the
/// decision (snapshot, events, idempotency records) in one transaction, on
/// the condition that the cart is still at the version decided on.
///
/// With a hot copy of the cart in this process (see [`on_hot_copy`]) the
/// batch is decided on it without reading the store; otherwise, or when the
/// copy turns out stale, on a fresh read.
pub fn mutate(app: &App, token: &TokenHash, caller: Caller<'_>, batch: &[Mutation]) -> Result<Mutated, ApiError> {
    let (cart_id, mut read) = match app.cache.get(token) {
        Some(p) => (p.cart_id, None),
        None => {
            let record = open(app, token, caller)?;
            (record.id, Some(record))
        }
    };
    // One batch per cart at a time in this process: racing requests for the
    // same cart queue here instead of losing the conditional commit.
    let _turn = app.cart_stripes.lock(cart_id);
    if read.is_none() {
        // Looked up again under the lock: the request before us in the
        // queue has just replaced it.
        if let Some(p) = app.cache.get(token).filter(|p| p.cart_id == cart_id) {
            if let Some(done) = on_hot_copy(app, token, caller, &p, batch)? {
                return Ok(done);
            }
        }
    }
    let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
    for _ in 0..MAX_ATTEMPTS {
        let record = match read.take() {
            Some(record) => record,
            None => open(app, token, caller)?,
        };
        if let CartState::Closed { .. } = record.state {
            return Err(CartError::CartClosed.into());
        }
        let log = app.store.idempotency_records(record.id, &ids)?;
        let now = now_ms().max(record.cart.updated_at);
        let check = CatalogCheck(app.pricing.as_ref(), &app.limits);
        let decision = decide_batch(&record.cart, &log, batch, &app.limits, &check, now)?;
        let priced = price_cart(&decision.cart, app.pricing.as_ref());
        let revision = if decision.changed() {
            match app
                .store
                .commit_batch(record.id, record.cart.version, None, &decision, &priced.quotes, now)
            {
                Ok(revision) => revision,
                Err(StoreError::VersionConflict { .. }) => {
                    inc(&app.metrics.store_retries);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            record.revision
        };
        return Ok(done(app, token, record.id, decision, priced, revision));
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the cart is changing too fast; retry",
    ))
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
fn on_hot_copy(
    app: &App,
    token: &TokenHash,
    caller: Caller<'_>,
    p: &Projection,
    batch: &[Mutation],
) -> Result<Option<Mutated>, ApiError> {
    let Some(hot) = &p.hot else { return Ok(None) };
    // Owners never change, so the copy's owner is the stored one.
    authorize(p.owner.as_deref(), caller)?;
    let now = now_ms().max(hot.cart.updated_at);
    let check = CatalogCheck(app.pricing.as_ref(), &app.limits);
    let none = BTreeMap::new();
    let decision = decide_batch(&hot.cart, &none, batch, &app.limits, &check, now)?;
    if decision.conflict.is_some() || decision.records.len() != batch.len() {
        return Ok(None);
    }
    let priced = price_cart(&decision.cart, app.pricing.as_ref());
    let version = hot.cart.version;
    match app
        .store
        .commit_batch(p.cart_id, version, Some(&hot.revision), &decision, &priced.quotes, now)
    {
        Ok(revision) => Ok(Some(done(app, token, p.cart_id, decision, priced, revision))),
        Err(StoreError::VersionConflict { .. } | StoreError::NotFound) => {
            inc(&app.metrics.store_retries);
            app.cache.invalidate(p.cart_id);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Remembers the decided cart (committed at `revision`) and shapes the
/// answer.
fn done(app: &App, token: &TokenHash, id: i64, decision: BatchDecision, priced: Priced, revision: Revision) -> Mutated {
    count(app, &decision.results, decision.conflict.is_some());
    let view = priced.view;
    remember(app, *token, id, decision.cart, view.clone(), Some(revision));
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

/// What an attach came to.
#[derive(Debug)]
pub struct Attached {
    pub token: String,
    pub view: CartView,
    pub report: MergeReport,
}

/// `POST /carts/{token}/attach`: merges the anonymous cart into `user`'s
/// account cart (created if there is none) with the core's merge rules.
pub fn attach(app: &App, anonymous: &TokenHash, token: &str, user: &Claims) -> Result<Attached, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let record = open(app, anonymous, Some(user))?;
        if let CartState::Closed { .. } = record.state {
            return Err(CartError::CartClosed.into());
        }
        if record.cart.owner.is_some() {
            // Already this user's account cart (`open` checked the owner):
            // attaching it again changes nothing.
            let view = project(app, *anonymous, record.id, &record.cart, Some(record.revision)).view;
            return Ok(Attached {
                token: token.to_string(),
                view,
                report: MergeReport::default(),
            });
        }
        let now = now_ms();
        let (base, target) = match app.store.find_account_cart(&user.sub)? {
            Some(account) => {
                let expected_version = account.cart.version;
                (
                    account.cart,
                    MergeTarget::Existing {
                        id: account.id,
                        expected_version,
                    },
                )
            }
            None => (
                Cart {
                    owner: Some(user.sub.clone()),
                    ..Cart::default()
                },
                MergeTarget::New {
                    owner: user.sub.clone(),
                },
            ),
        };
        let (mut merged, report) = merge(&base, &record.cart, &app.limits);
        merged.version = base.version + 1;
        merged.updated_at = now.max(base.updated_at);
        merged.owner = Some(user.sub.clone());
        let priced = price_cart(&merged, app.pricing.as_ref());
        let (new_token, hash) = tokens::mint()?;
        let commit = MergeCommit {
            anonymous: record.id,
            anonymous_version: record.cart.version,
            target,
            merged: merged.clone(),
            report: report.clone(),
            quotes: priced.quotes,
            token_hash: hash,
            now,
        };
        match app.store.commit_merge(&commit) {
            Ok(account_id) => {
                app.cache.invalidate(record.id);
                // No hot copy: the merge's revision is not returned, and
                // attaching is rare.
                let view = project(app, hash, account_id, &merged, None).view;
                return Ok(Attached {
                    token: new_token,
                    view,
                    report,
                });
            }
            Err(StoreError::VersionConflict { .. }) => {
                inc(&app.metrics.store_retries);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the carts are changing too fast; retry",
    ))
}
