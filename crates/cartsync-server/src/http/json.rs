//! Request bodies: the 64 KiB limit answers `413 payload_too_large`, and any
//! parse failure answers `400 bad_request` with the path of the offending
//! field (`mutations[0].id: UUID parsing failed ...`).

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The request body limit.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON body parsed with field paths in its errors.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is over {MAX_BODY} bytes"),
                )
            } else {
                ApiError::bad_request(format!("body: {}", r.body_text()))
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses JSON, naming the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        ApiError::bad_request(format!("{field}: {}", e.inner()))
    })?;
    de.end().map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    Ok(value)
}
