//! `/api/v1/carts`: create, read, mutate, the event log, attach.

use super::error::ApiError;
use super::json::ApiJson;
use super::{caller, token_hash};
use crate::app::AppState;
use crate::service;
use crate::store::EventRow;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cartsync_core::protocol::v1::{
    AttachResponse, CartView, ConflictResponse, CreateCartResponse, MutationsRequest, MutationsResponse,
};
use cartsync_core::CartError;
use serde::Serialize;

/// Events returned per `GET /events` page.
pub const EVENTS_PAGE: usize = 1000;

fn etag(version: u64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn with_etag(status: StatusCode, version: u64, body: impl Serialize) -> Response {
    (status, [(header::ETAG, etag(version))], Json(body)).into_response()
}

/// `POST /api/v1/carts` → 201 `{"token", "cart"}`.
pub async fn create(State(app): State<AppState>) -> Result<Response, ApiError> {
    let (token, cart) = service::create(&app).await?;
    let version = cart.version;
    Ok(with_etag(
        StatusCode::CREATED,
        version,
        CreateCartResponse { token, cart },
    ))
}

/// `GET /api/v1/carts/{token}` → 200 cart, `ETag: "<version>"`; 304 when
/// `If-None-Match` names the current version.
pub async fn get(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hash = token_hash(&token)?;
    let user = caller(&app, &headers)?;
    let view: CartView = service::read(&app, &hash, user.as_ref()).await?;
    let tag = etag(view.version);
    if headers.get(header::IF_NONE_MATCH) == Some(&tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(with_etag(StatusCode::OK, view.version, view))
}

/// `POST /api/v1/carts/{token}/mutations` → 200 `{"cart", "results"}`, or
/// 409 `version_conflict` with the current cart and the committed results
/// of the mutations before the conflicting one.
pub async fn mutations(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MutationsRequest>,
) -> Result<Response, ApiError> {
    let hash = token_hash(&token)?;
    let user = caller(&app, &headers)?;
    let out = service::mutate(app, hash, user, body.mutations).await?;
    let version = out.view.version;
    Ok(match out.conflict {
        Some(c) => {
            let e = CartError::VersionConflict {
                expected: c.expected,
                found: c.found,
            };
            let body = ConflictResponse {
                code: e.code().into(),
                message: e.to_string(),
                cart: out.view,
                results: out.results,
            };
            with_etag(StatusCode::CONFLICT, version, body)
        }
        None => with_etag(
            StatusCode::OK,
            version,
            MutationsResponse {
                cart: out.view,
                results: out.results,
            },
        ),
    })
}

/// `GET /api/v1/carts/{token}/events` body.
#[derive(Debug, Serialize)]
pub struct EventsResponse {
    pub events: Vec<EventRow>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// `GET /api/v1/carts/{token}/events?after=<version>` → the event log.
pub async fn events(
    State(app): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<EventsResponse>, ApiError> {
    let hash = token_hash(&token)?;
    let after = parse_after(query.as_deref())?;
    let user = caller(&app, &headers)?;
    let record = service::open(&app, &hash, user.as_ref()).await?;
    let events = app.store.events(record.id, after, EVENTS_PAGE).await?;
    let next_after = (events.len() == EVENTS_PAGE)
        .then(|| events.last().map(|e| e.version))
        .flatten();
    Ok(Json(EventsResponse { events, next_after }))
}

fn parse_after(query: Option<&str>) -> Result<u64, ApiError> {
    let mut after = 0;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "after" {
            // Versions are stored as signed 64-bit integers: a larger
            // `after` is not a version (and the spec's int64 says so).
            after = v
                .parse::<u64>()
                .ok()
                .filter(|a| i64::try_from(*a).is_ok())
                .ok_or_else(|| {
                    ApiError::bad_request("after: expected a version (an integer from 0 to 9223372036854775807)")
                })?;
        }
    }
    Ok(after)
}

/// `POST /api/v1/carts/{token}/attach` with the user's bearer token → 200
/// `{"token", "cart", "merge_report"}`.
pub async fn attach(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AttachResponse>, ApiError> {
    let hash = token_hash(&token)?;
    let Some(user) = caller(&app, &headers)? else {
        return Err(ApiError::unauthorized("attach needs the user's bearer token"));
    };
    let out = service::attach(&app, &hash, &token, &user).await?;
    Ok(Json(AttachResponse {
        token: out.token,
        cart: out.view,
        merge_report: out.report,
    }))
}
