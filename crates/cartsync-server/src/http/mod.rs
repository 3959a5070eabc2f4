//! The HTTP surface: protocol v1 under `/api/v1`, plus `/healthz` and
//! `/metrics`. One file per resource; handlers parse, await a flow in
//! `service`/`checkout`, and shape the response.

pub mod admin;
pub mod carts;
pub mod checkout;
pub mod error;
pub mod json;
pub mod ops;
pub mod payments;

use crate::app::{now_ms, AppState};
use crate::auth::{AuthError, Claims};
use crate::store::TokenHash;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use error::ApiError;
use std::path::Path;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Builds the router. `static_dir` is served at `/` when given; the CORS
/// layer is added only for explicitly allowed origins.
pub fn router(app: AppState, static_dir: Option<&Path>, cors_origins: &[String]) -> Router {
    let mut api = Router::new()
        .route("/carts", post(carts::create))
        .route("/carts/{token}", get(carts::get))
        .route("/carts/{token}/mutations", post(carts::mutations))
        .route("/carts/{token}/events", get(carts::events))
        .route("/carts/{token}/attach", post(carts::attach))
        .route("/carts/{token}/checkout", post(checkout::checkout))
        .route("/orders/{id}", get(payments::order))
        .route("/payments/{provider}/callback", post(payments::callback))
        .route("/catalog", get(admin::catalog));
    if app.dev {
        api = api
            .route("/dev/login", post(admin::login))
            .route("/admin/catalog/{sku}", put(admin::put_product))
            .route("/admin/coupons/{code}", put(admin::put_coupon))
            .route("/admin/tax/{country}", put(admin::put_tax))
            .route("/admin/orders/{id}/transfer", post(admin::simulate_transfer))
            .route("/admin/cache/flush", post(admin::flush_cache));
    }
    let api = api
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        });
    let mut router = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .nest("/api/v1", api);
    router = match static_dir {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router.fallback(|| async { ApiError::not_found() }),
    };
    let instance = app.instance.clone();
    let mut router = router
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(axum::Extension(json::BodyTimeout(app.body_timeout)))
        .layer(middleware::from_fn_with_state(app.clone(), count_requests))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |req: &Request| {
                    tracing::info_span!(
                        "http",
                        instance = %instance,
                        method = %req.method(),
                        path = %redacted_path(req.uri().path())
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        );
    let origins: Vec<HeaderValue> = cors_origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim()) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring unusable --cors-origin");
                None
            }
        })
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PUT])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    header::IF_NONE_MATCH,
                    header::HeaderName::from_static("idempotency-key"),
                ])
                .expose_headers([header::ETAG]),
        );
    }
    router.with_state(app)
}

/// The request path for logs, with the cart token replaced: tokens are
/// bearer credentials and must not end up in log files.
pub fn redacted_path(path: &str) -> String {
    match path.strip_prefix("/api/v1/carts/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("/api/v1/carts/{{token}}/{tail}"),
            None => "/api/v1/carts/{token}".to_string(),
        },
        None => path.to_string(),
    }
}

/// Counts and times every request by its route template (never the raw
/// path: it holds cart tokens) and status.
async fn count_requests(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    app.metrics.request(&route, res.status().as_u16(), started.elapsed());
    res
}

/// The cart token of a path: malformed tokens are simply unknown carts.
pub fn token_hash(token: &str) -> Result<TokenHash, ApiError> {
    crate::tokens::hash(token).ok_or_else(|| cartsync_core::CartError::CartNotFound.into())
}

/// The verified user token from `Authorization: Bearer`, if one was sent.
/// A token that was sent but does not verify is a 401.
pub fn caller(app: &AppState, headers: &HeaderMap) -> Result<Option<Claims>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Authorization: not a bearer token"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| ApiError::unauthorized("Authorization: expected `Bearer <token>`"))?;
    app.jwt.verify(token.trim(), now_ms() / 1000).map(Some).map_err(|e| {
        ApiError::unauthorized(match e {
            AuthError::Expired => "Authorization: the user token has expired",
            AuthError::BadSignature | AuthError::Malformed => "Authorization: the user token is not valid",
        })
    })
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn tokens_are_redacted_from_logged_paths() {
        assert_eq!(
            redacted_path("/api/v1/carts/SECRET/mutations"),
            "/api/v1/carts/{token}/mutations"
        );
        assert_eq!(redacted_path("/api/v1/carts/SECRET"), "/api/v1/carts/{token}");
        assert_eq!(redacted_path("/api/v1/carts"), "/api/v1/carts");
        assert_eq!(redacted_path("/healthz"), "/healthz");
    }
}
