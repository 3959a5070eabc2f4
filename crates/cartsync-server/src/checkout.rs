//! Checkout from a revalidated snapshot: read the durable cart (never the
//! cache), reprice it, judge its shipping and tax with the core's rules,
//! revalidate coupons and stock, then — in one transaction — close the
//! cart, store the order and hold its stock; then ask the payment provider
//! for the order's payment intent.
//!
//! A checkout is idempotent per `(cart, Idempotency-Key)`: the same key
//! returns the same order, and its intent is created with a key derived
//! from it ([`crate::payment::intent_key`]), so a retry after a lost
//! answer gets one order and one intent. Stock is taken by conditional
//! decrements inside the order's transaction: concurrent checkouts of the
//! last unit create one order, in one process or many.

use crate::app::{now_ms, App, AppState};
use crate::auth::Claims;
use crate::catalog::{price_cart, Priced};
use crate::http::error::ApiError;
use crate::metrics::inc;
use crate::payment::{intent_key, IntentRequest, PaymentError};
use crate::service::{open, project};
use crate::store::{
    units_per_sku, CartRecord, CartState, OrderCommit, OrderCommitted, Shortfall, StoreError, TokenHash,
};
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cartsync_core::protocol::v1::{CheckoutProblem, CheckoutRejected, CheckoutRequest, Order, OrderLine, OrderStatus};
use cartsync_core::{shipping, Cart, CartError, CouponState, Sku};
use std::collections::BTreeMap;

const MAX_ATTEMPTS: usize = 16;

/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// What a checkout came to.
#[derive(Debug)]
pub enum Outcome {
    /// A new order (`201`).
    Created(Order),
    /// The order this key already produced (`201`, same order; its status
    /// and payment as they are now).
    Replayed(Order),
    /// Something differs from what the shopper saw (`409`).
    Rejected(Box<CheckoutRejected>),
}

/// Runs a checkout.
pub async fn checkout(
    app: AppState,
    token: TokenHash,
    caller: Option<Claims>,
    key: String,
    request: CheckoutRequest,
) -> Result<Outcome, ApiError> {
    for attempt in 0..MAX_ATTEMPTS {
        let record = open(&app, &token, caller.as_ref()).await?;
        if let Some(order) = app.store.order_for_key(record.id, &key).await? {
            inc(&app.metrics.checkout_replayed);
            return Ok(Outcome::Replayed(with_payment(&app, record.id, &key, order).await?));
        }
        if let CartState::Closed { .. } = record.state {
            inc(&app.metrics.checkout_closed);
            return Err(CartError::CartClosed.into());
        }
        if record.cart.lines.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "cart_empty",
                "an empty cart cannot be checked out",
            ));
        }
        let priced = price_cart(&record.cart, app.pricing.as_ref());
        let mut problems = revalidate(&record, &priced, &request);
        let wanted = units_per_sku(&record.cart.lines);
        let levels = app.inventory.levels().await?;
        let short: Vec<Shortfall> = wanted
            .iter()
            .filter_map(|(sku, n)| {
                let available = match app.pricing.product(sku) {
                    Some(_) => levels.get(sku).copied().unwrap_or(0),
                    None => 0, // left the catalog
                };
                (available < *n).then(|| Shortfall {
                    sku: sku.clone(),
                    requested: *n,
                    available,
                })
            })
            .collect();
        out_of_stock(&record.cart, &short, &mut problems);
        if !problems.is_empty() {
            return Ok(rejected(&app, &token, &record, problems).await);
        }
        let now = now_ms();
        let order = build_order(
            &record.cart,
            &priced,
            now,
            now.saturating_add(app.hold_expiry.as_millis() as u64),
        )?;
        let commit = OrderCommit {
            cart: record.id,
            expected_version: record.cart.version,
            key: &key,
            order: &order,
            holds: &wanted,
        };
        match app.store.commit_order(commit).await {
            Ok(OrderCommitted::Ordered) => {
                app.cache.invalidate(record.id, record.cart.version).await;
                inc(&app.metrics.checkout_created);
                tracing::info!(order = %order.id, cart = record.id, "order created; stock held");
                return Ok(Outcome::Created(with_payment(&app, record.id, &key, order).await?));
            }
            Ok(OrderCommitted::OutOfStock(short)) => {
                // Another checkout took the units between the look and the
                // commit; nothing was written.
                let mut problems = Vec::new();
                out_of_stock(&record.cart, &short, &mut problems);
                return Ok(rejected(&app, &token, &record, problems).await);
            }
            Err(StoreError::VersionConflict { .. }) => {
                // A mutation (or another checkout) landed between the read
                // and the commit: judge the new snapshot.
                inc(&app.metrics.store_retries);
                tokio::time::sleep(std::time::Duration::from_millis(attempt as u64)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the cart is changing too fast; retry",
    ))
}

/// The order with its payment intent, created if it has none yet (the
/// provider answers a repeated key with the intent it already made).
async fn with_payment(app: &App, cart: i64, key: &str, mut order: Order) -> Result<Order, ApiError> {
    if order.payment.is_some() || order.status != OrderStatus::PendingPayment {
        return Ok(order);
    }
    let Some(provider) = app.payments.default_provider() else {
        return Ok(order);
    };
    let request = IntentRequest {
        idempotency_key: &intent_key(cart, key),
        order: &order,
        now: now_ms(),
    };
    match provider.create_intent(request).await {
        Ok(intent) => {
            order.payment = Some(Box::new(intent));
            Ok(order)
        }
        Err(PaymentError::Store(e)) => Err(e.into()),
        Err(e) => {
            tracing::warn!(order = %order.id, error = %e, "payment intent not created yet");
            Err(ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "payment_unavailable",
                    "the order is placed and its stock held, but the payment provider did not answer; retry the \
                     checkout with the same Idempotency-Key",
                )
            })
        }
    }
}

/// What differs from what the shopper saw, apart from stock: the shipping
/// selection (no destination, nothing selected, or an option that cannot
/// take the cart), then prices and coupons behind a different total, and
/// the tax (its rate moved, or its amount did and no price or coupon
/// problem says why). While the shipping selection is unusable the total
/// and tax are not explained: they change with the option the shopper
/// picks.
fn revalidate(record: &CartRecord, priced: &Priced, request: &CheckoutRequest) -> Vec<CheckoutProblem> {
    let mut problems = Vec::new();
    let rules = priced.view.rules.clone().unwrap_or_default();
    let cart = &record.cart;
    let selected = shipping::selection(
        &rules.shipping,
        &priced.view.lines,
        cart.destination.as_ref(),
        cart.shipping_option.as_deref(),
    );
    let actual = &priced.totals;
    let total_differs = actual.estimated_total != request.expected_total;
    if let Err(reason) = selected {
        problems.push(CheckoutProblem::ShippingUnavailable {
            option: cart.shipping_option.clone(),
            cause: reason,
        });
        if total_differs {
            price_and_coupon_problems(record, priced, &mut problems);
        }
        return problems;
    }
    if total_differs {
        price_and_coupon_problems(record, priced, &mut problems);
    }
    let explained = !problems.is_empty();
    let tax_explains = match (&request.expected_tax, &actual.tax) {
        (Some(seen), Some(now)) => {
            let rate_moved = seen.country != now.country || seen.rate_bp != now.rate_bp;
            let amount_moved = seen.amount != now.amount;
            if rate_moved || (amount_moved && !explained) {
                problems.push(CheckoutProblem::TaxChanged {
                    country: now.country.clone(),
                    rate_bp: now.rate_bp,
                    expected: seen.amount.clone(),
                    actual: now.amount.clone(),
                });
            }
            // A tax that prices exclude explains exactly its own part of
            // the total.
            !now.included
                && actual.estimated_total.amount - request.expected_total.amount
                    == now.amount.amount - seen.amount.amount
        }
        _ => false,
    };
    if total_differs && !explained && !tax_explains {
        problems.push(CheckoutProblem::TotalChanged {
            expected: request.expected_total.clone(),
            actual: actual.estimated_total.clone(),
        });
    }
    problems
}

/// Lines whose price moved since it was last quoted, and coupons pricing
/// now refuses.
fn price_and_coupon_problems(record: &CartRecord, priced: &Priced, problems: &mut Vec<CheckoutProblem>) {
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
}

/// An `out_of_stock` problem for every line of a SKU that is short.
fn out_of_stock(cart: &Cart, short: &[Shortfall], problems: &mut Vec<CheckoutProblem>) {
    let by_sku: BTreeMap<&Sku, &Shortfall> = short.iter().map(|s| (&s.sku, s)).collect();
    for line in &cart.lines {
        if let Some(s) = by_sku.get(&line.sku) {
            problems.push(CheckoutProblem::OutOfStock {
                sku: line.sku.clone(),
                options: line.options.clone(),
                requested: line.quantity,
                available: s.available,
            });
        }
    }
}

/// `409 checkout_revalidation_failed` with the cart as repriced now.
async fn rejected(app: &App, token: &TokenHash, record: &CartRecord, problems: Vec<CheckoutProblem>) -> Outcome {
    inc(&app.metrics.checkout_revalidation_failed);
    let view = project(app, *token, record.id, &record.cart, Some(record.revision.clone()))
        .await
        .view;
    Outcome::Rejected(Box::new(CheckoutRejected {
        code: "checkout_revalidation_failed".into(),
        message: "the cart changed since it was shown; review it and confirm".into(),
        problems,
        cart: view,
    }))
}

fn build_order(cart: &Cart, priced: &Priced, now: u64, hold_until: u64) -> Result<Order, ApiError> {
    let id: [u8; 16] = crate::tokens::random_bytes()?;
    let mut lines = Vec::with_capacity(priced.view.lines.len());
    for l in &priced.view.lines {
        // Every line is priced here: a SKU that left the catalog was
        // reported out of stock before.
        let (Some(name), Some(unit_price)) = (l.name.clone(), l.unit_price.clone()) else {
            return Err(ApiError::internal(&"an order line without catalog data"));
        };
        lines.push(OrderLine {
            sku: l.sku.clone(),
            options: l.options.clone(),
            quantity: l.quantity,
            name,
            unit_price,
        });
    }
    Ok(Order {
        id: format!("ord_{}", URL_SAFE_NO_PAD.encode(id)),
        status: OrderStatus::PendingPayment,
        lines,
        coupons: priced
            .view
            .coupons
            .iter()
            .filter(|c| c.state == CouponState::Applied)
            .map(|c| c.code.clone())
            .collect(),
        shipping_option: cart.shipping_option.clone(),
        destination: cart.destination.clone(),
        totals: priced.totals.clone(),
        created_at: now,
        hold_until,
        payment: None,
    })
}
