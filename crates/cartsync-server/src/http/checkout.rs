//! `POST /api/v1/carts/{token}/checkout`.

use super::error::ApiError;
use super::json::ApiJson;
use super::{caller, token_hash};
use crate::app::AppState;
use crate::checkout::{self, Outcome, MAX_KEY_LEN};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cartsync_core::protocol::v1::{CheckoutRequest, CheckoutResponse};

/// `Idempotency-Key` header + `{"expected_total", "expected_tax"?}` → 201
/// `{"order"}` (with its payment intent) or 409
/// `checkout_revalidation_failed` with `problems` and the updated cart.
pub async fn checkout(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<Response, ApiError> {
    let hash = token_hash(&token)?;
    let key = idempotency_key(&headers)?;
    let user = caller(&app, &headers)?;
    Ok(match checkout::checkout(app, hash, user, key, body).await? {
        Outcome::Created(order) | Outcome::Replayed(order) => {
            (StatusCode::CREATED, Json(CheckoutResponse { order })).into_response()
        }
        Outcome::Rejected(rejected) => (StatusCode::CONFLICT, Json(*rejected)).into_response(),
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key: header is required"))?;
    let key = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key: must be visible ASCII"))?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key: must be 1 to {MAX_KEY_LEN} characters"
        )));
    }
    Ok(key.to_string())
}
