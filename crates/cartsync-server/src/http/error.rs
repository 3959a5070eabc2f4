//! `ApiError`: every failure a client sees, as `{"code", "message"}` with
//! the status the protocol assigns. Backend detail is logged, never sent.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cartsync_core::{CartError, ErrorBody};

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (503s the client should retry).
    pub retry_after: Option<u32>,
    /// The cart version for an `ETag` header (a mutations `409
    /// cart_closed`, like every other mutations answer, carries one).
    pub etag: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            etag: None,
        }
    }

    /// The same error with `ETag: "<version>"`.
    pub fn with_etag(self, version: u64) -> Self {
        ApiError {
            etag: Some(version),
            ..self
        }
    }

    /// `503 store_unavailable` with `Retry-After`: the database could not be
    /// reached, or the outcome of a commit is unknown. Nothing was
    /// acknowledged; a retry with the same mutation ids is safe.
    pub fn store_unavailable(detail: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "store unavailable");
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the cart store cannot be reached right now; nothing was changed or acknowledged, retry",
            )
        }
    }

    /// `400 bad_request`; the message names the offending field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this cart belongs to another account",
        )
    }

    /// A 500 whose detail goes to the log only.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
        }
    }
}

impl From<CartError> for ApiError {
    fn from(e: CartError) -> Self {
        let status = match &e {
            CartError::CartNotFound => StatusCode::NOT_FOUND,
            CartError::CartMerged => StatusCode::GONE,
            CartError::CartClosed | CartError::VersionConflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CartError::CartNotFound.into(),
            StoreError::VersionConflict { expected, found } => CartError::VersionConflict { expected, found }.into(),
            StoreError::Unavailable { source } => ApiError::store_unavailable(&source),
            StoreError::Backend { source } => ApiError::internal(&source),
        }
    }
}

impl From<crate::catalog::InventoryError> for ApiError {
    fn from(e: crate::catalog::InventoryError) -> Self {
        match e {
            crate::catalog::InventoryError::Unavailable(_) => ApiError::store_unavailable(&e),
            crate::catalog::InventoryError::Failed(_) => ApiError::internal(&e),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(&e)
    }
}

impl From<getrandom::Error> for ApiError {
    fn from(e: getrandom::Error) -> Self {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of a body that timed out is not waited for.
            res.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        if let Some(version) = self.etag {
            if let Ok(tag) = axum::http::HeaderValue::from_str(&format!("\"{version}\"")) {
                res.headers_mut().insert(axum::http::header::ETAG, tag);
            }
        }
        res
    }
}
