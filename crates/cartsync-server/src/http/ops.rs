//! `GET /healthz` and `GET /metrics`.

use super::error::ApiError;
use crate::app::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Whether this instance can serve: the store must answer (else the
/// store's error, `503 store_unavailable` when it cannot be reached, so a
/// balancer takes the instance out); the cache only degrades it (answers
/// stay correct, just slower), reported as `"status": "degraded"` with a
/// 200.
pub async fn healthz(State(app): State<AppState>) -> Response {
    let (store, cache) = tokio::join!(app.store.ping(), app.cache.ping());
    let cache_json = json!({"backend": app.cache.kind(), "ok": cache.is_ok()});
    match store {
        Err(e) => {
            let error = ApiError::from(e);
            let body = json!({
                "status": "unavailable",
                "code": error.code,
                "message": error.message,
                "instance": app.instance,
                "store": {"ok": false},
                "cache": cache_json,
            });
            let mut res = (error.status, Json(body)).into_response();
            if let Some(secs) = error.retry_after {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            res
        }
        Ok(()) => Json(json!({
            "status": if cache.is_ok() { "ok" } else { "degraded" },
            "instance": app.instance,
            "store": {"ok": true},
            "cache": cache_json,
        }))
        .into_response(),
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.metrics.render(app.cache.entries()),
    )
}
