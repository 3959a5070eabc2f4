//! `GET /api/v1/orders/{id}` (an order with its status and payment, as it
//! changes) and `POST /api/v1/payments/{provider}/callback` (the payment
//! provider's signed events).

use super::error::ApiError;
use super::json::RawBody;
use crate::app::{now_ms, App, AppState};
use crate::metrics::inc;
use crate::payment::{signature, CallbackError, SignatureError};
use crate::store::{EventApplied, EventOutcome};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use cartsync_core::protocol::v1::{CheckoutResponse, OrderStatus};
use serde::{Deserialize, Serialize};

/// Longest order id accepted in a path (ids are `ord_` + 22 characters).
const MAX_ORDER_ID: usize = 64;

/// `GET /api/v1/orders/{id}` → 200 `{"order"}` with its current status and
/// payment intent. The id (128 random bits) is the capability, as a
/// receipt link is; unknown ids are `404 order_not_found`.
pub async fn order(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<CheckoutResponse>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no such order");
    if id.len() > MAX_ORDER_ID || !id.starts_with("ord_") {
        return Err(not_found());
    }
    let stored = app.store.order(&id).await?.ok_or_else(not_found)?;
    Ok(Json(CheckoutResponse { order: stored.order }))
}

/// What a callback did (`200`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackResponse {
    /// The provider's event id.
    pub event: String,
    /// `processed` the first time, `duplicate` for a resent event (nothing
    /// is applied twice).
    pub status: String,
    /// What the event did: `paid`, `payment_failed`, `already_paid`,
    /// `ignored`, `refund_due`, `amount_mismatch`.
    pub outcome: String,
    pub order: OrderState,
}

/// An order's id and status after the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub id: String,
    pub status: OrderStatus,
}

/// `POST /api/v1/payments/{provider}/callback` with the provider's
/// `Cartsync-Signature` header over the exact body.
pub async fn callback(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<CallbackResponse>, ApiError> {
    let signature = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    process(&app, &provider, signature, &body).await.map(Json)
}

/// Verifies and applies one callback (also the `--dev` lever's path).
pub async fn process(
    app: &App,
    provider: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<CallbackResponse, ApiError> {
    let provider = app.payments.get(provider).ok_or_else(ApiError::not_found)?;
    let event = provider.verify_callback(signature, body, now_ms()).map_err(|e| {
        tracing::warn!(provider = provider.name(), error = %e, "payment callback refused");
        inc(&app.metrics.payment_callbacks_refused);
        match e {
            CallbackError::Signature(SignatureError::Expired) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "signature_expired", e.to_string())
            }
            CallbackError::Signature(_) => ApiError::new(StatusCode::UNAUTHORIZED, "signature_invalid", e.to_string()),
            CallbackError::Body(message) => ApiError::bad_request(message),
        }
    })?;
    let answer = |status: &str, outcome: EventOutcome, order: cartsync_core::protocol::v1::Order| CallbackResponse {
        event: event.event_id.clone(),
        status: status.into(),
        outcome: outcome.as_str().into(),
        order: OrderState {
            id: order.id,
            status: order.status,
        },
    };
    match app.store.apply_payment_event(&event).await? {
        EventApplied::Applied { outcome, order } => {
            tracing::info!(order = %order.id, event = %event.event_id, outcome = outcome.as_str(), "payment event applied");
            app.metrics.payment_event(outcome.as_str());
            Ok(answer("processed", outcome, order))
        }
        EventApplied::Duplicate { outcome, order } => {
            inc(&app.metrics.payment_callbacks_duplicate);
            Ok(answer("duplicate", outcome, order))
        }
        EventApplied::Replayed => {
            inc(&app.metrics.payment_callbacks_refused);
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "callback_replayed",
                "this signed callback was already received; a provider's retry is signed anew",
            ))
        }
        EventApplied::EventIdReused => {
            inc(&app.metrics.payment_callbacks_refused);
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "event_id_reused",
                format!("event {:?} was already received with a different body", event.event_id),
            ))
        }
        EventApplied::UnknownIntent => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "payment_intent_not_found",
            "no payment intent of this provider matches the event",
        )),
    }
}
