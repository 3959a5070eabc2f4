//! Checkout from a revalidated snapshot: read the durable cart (never the
//! cache), reprice it, revalidate coupons, reserve stock all-or-nothing,
//! then close the cart and store the order in one transaction.
//!
//! A checkout is idempotent per `(cart, Idempotency-Key)`: the same key
//! returns the same order. Checkouts in one process are serialised by
//! `App::checkout_lock`, so two submits cannot both reserve stock.

use crate::app::{now_ms, App, AppState};
use crate::auth::Claims;
use crate::catalog::price_cart;
use crate::http::error::ApiError;
use crate::metrics::inc;
use crate::service::{open, project};
use crate::store::{CartState, StoreError, TokenHash};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cartsync_core::protocol::v1::{CheckoutProblem, CheckoutRejected, Order, OrderLine};
use cartsync_core::{CartError, CouponState, Money, Sku};
use std::collections::BTreeMap;

const MAX_ATTEMPTS: usize = 16;

/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// What a checkout came to.
#[derive(Debug)]
pub enum Outcome {
    /// A new order (`201`).
    Created(Order),
    /// The order this key already produced (`201`, same body).
    Replayed(Order),
    /// Something differs from what the shopper saw (`409`).
    Rejected(Box<CheckoutRejected>),
}

/// Runs a checkout under the process-wide checkout lock.
pub async fn checkout(
    app: AppState,
    token: TokenHash,
    caller: Option<Claims>,
    key: String,
    expected: Money,
) -> Result<Outcome, ApiError> {
    let _serial = app.checkout_lock.lock().await;
    run(&app, &token, caller.as_ref(), &key, &expected).await
}

async fn run(
    app: &App,
    token: &TokenHash,
    caller: Option<&Claims>,
    key: &str,
    expected: &Money,
) -> Result<Outcome, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let record = open(app, token, caller).await?;
        if let Some(order) = app.store.order_for_key(record.id, key).await? {
            inc(&app.metrics.checkout_replayed);
            return Ok(Outcome::Replayed(order));
        }
        if let CartState::Closed { .. } = record.state {
            inc(&app.metrics.checkout_closed);
            return Err(CartError::CartClosed.into());
        }
        if record.cart.lines.is_empty() {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "cart_empty",
                "an empty cart cannot be checked out",
            ));
        }
        let priced = price_cart(&record.cart, app.pricing.as_ref());
        let mut problems = Vec::new();
        if &priced.totals.estimated_total != expected {
            explain_total(&record, &priced, expected, &mut problems);
        }
        let wanted = units_per_sku(&record.cart.lines);
        let reserved = match app.inventory.reserve(&wanted).await.map_err(ApiError::from)? {
            Ok(()) => true,
            Err(shortfalls) => {
                for s in shortfalls {
                    for line in record.cart.lines.iter().filter(|l| l.sku == s.sku) {
                        problems.push(CheckoutProblem::OutOfStock {
                            sku: line.sku.clone(),
                            options: line.options.clone(),
                            requested: line.quantity,
                            available: s.available,
                        });
                    }
                }
                false
            }
        };
        if !problems.is_empty() {
            if reserved {
                release(app, &wanted).await;
            }
            inc(&app.metrics.checkout_revalidation_failed);
            let view = project(app, *token, record.id, &record.cart, Some(record.revision.clone()))
                .await
                .view;
            return Ok(Outcome::Rejected(Box::new(CheckoutRejected {
                code: "checkout_revalidation_failed".into(),
                message: "the cart changed since it was shown; review it and confirm the new total".into(),
                problems,
                cart: view,
            })));
        }
        let order = build_order(&record.cart, &priced)?;
        match app
            .store
            .commit_order(record.id, record.cart.version, key, &order)
            .await
        {
            Ok(()) => {
                app.cache.invalidate(record.id, record.cart.version).await;
                inc(&app.metrics.checkout_created);
                tracing::info!(order = %order.id, cart = record.id, "order created");
                return Ok(Outcome::Created(order));
            }
            Err(StoreError::VersionConflict { .. }) => {
                // A mutation landed between our read and the commit: give
                // the stock back and judge the new snapshot.
                release(app, &wanted).await;
                inc(&app.metrics.store_retries);
            }
            Err(e @ StoreError::Unavailable { .. }) => {
                // The outcome is unknown (the connection broke around the
                // commit): the units stay reserved, which oversells
                // nothing. If the order did commit, a retry with the same
                // key finds it.
                tracing::warn!(cart = record.id, "order outcome unknown; its stock stays reserved");
                return Err(e.into());
            }
            Err(e) => {
                // The database refused the commit: nothing was written.
                release(app, &wanted).await;
                return Err(e.into());
            }
        }
    }
    Err(ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the cart is changing too fast; retry",
    ))
}

/// Gives stock back; a failure is logged (the units stay reserved, which
/// oversells nothing) and does not change the answer to the shopper.
async fn release(app: &App, lines: &[(Sku, u32)]) {
    if let Err(e) = app.inventory.release(lines).await {
        tracing::error!(error = %e, "releasing a reservation failed; stock stays reserved");
    }
}

/// Says why the total differs: lines whose price moved since it was last
/// quoted, coupons pricing now refuses, else the totals themselves.
fn explain_total(
    record: &crate::store::CartRecord,
    priced: &crate::catalog::Priced,
    expected: &Money,
    problems: &mut Vec<CheckoutProblem>,
) {
    for line in &priced.view.lines {
        let Some(new_price) = &line.unit_price else { continue };
        let old = record
            .quotes
            .iter()
            .find(|q| q.sku == line.sku && q.options == line.options)
            .map(|q| q.unit_price.clone());
        if old.as_ref() != Some(new_price) {
            problems.push(CheckoutProblem::PriceChanged {
                sku: line.sku.clone(),
                options: line.options.clone(),
                old_price: old,
                new_price: new_price.clone(),
            });
        }
    }
    for c in &priced.view.coupons {
        if c.state == CouponState::Rejected {
            problems.push(CheckoutProblem::CouponRejected {
                code: c.code.clone(),
                reason: c.reason.clone().unwrap_or_default(),
            });
        }
    }
    if problems.is_empty() {
        problems.push(CheckoutProblem::TotalChanged {
            expected: expected.clone(),
            actual: priced.totals.estimated_total.clone(),
        });
    }
}

fn units_per_sku(lines: &[cartsync_core::Line]) -> Vec<(Sku, u32)> {
    let mut per: BTreeMap<Sku, u32> = BTreeMap::new();
    for l in lines {
        let n = per.entry(l.sku.clone()).or_default();
        *n = n.saturating_add(l.quantity);
    }
    per.into_iter().collect()
}

fn build_order(cart: &cartsync_core::Cart, priced: &crate::catalog::Priced) -> Result<Order, ApiError> {
    let id: [u8; 16] = crate::tokens::random_bytes()?;
    let lines = priced
        .view
        .lines
        .iter()
        .filter_map(|l| {
            Some(OrderLine {
                sku: l.sku.clone(),
                options: l.options.clone(),
                quantity: l.quantity,
                name: l.name.clone()?,
                unit_price: l.unit_price.clone()?,
            })
        })
        .collect();
    Ok(Order {
        id: format!("ord_{}", URL_SAFE_NO_PAD.encode(id)),
        status: "pending_payment".into(),
        lines,
        coupons: priced
            .view
            .coupons
            .iter()
            .filter(|c| c.state == CouponState::Applied)
            .map(|c| c.code.clone())
            .collect(),
        shipping_option: cart.shipping_option.clone(),
        totals: priced.totals.clone(),
        created_at: now_ms(),
    })
}
