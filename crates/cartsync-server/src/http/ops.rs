//! `GET /healthz` and `GET /metrics`.

use super::blocking;
use super::error::ApiError;
use crate::app::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// 200 `{"status": "ok"}` when the database answers.
pub async fn healthz(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    blocking(&app, |app| Ok(app.store.ping()?)).await?;
    Ok(Json(json!({"status": "ok"})))
}

/// Prometheus text exposition of the counters.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.metrics.render(app.cache.len()),
    )
}
