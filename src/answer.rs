//! Sorting the server's answers into what the engine understands: a parsed
//! response, a transient failure (retry) or a permanent one (a 4xx body).
//! The exchange itself (fetch, timeout, reading the text) is the package's
//! JS; every decision about an answer is made here.

use crate::convert::json::{as_str, field};
use crate::convert::wire::{conflict, created, error_or_status, mutations_response};
use crate::error::codes;
use crate::json::Json;
use cartsync_core::engine::{Failure, Response};
use cartsync_core::ErrorBody;

/// A raw answer: status (0: none), body (parsed JSON or `null`),
/// `Retry-After` in ms.
pub struct Answer {
    pub status: u16,
    pub body: Json,
    pub retry_after_ms: Option<u64>,
}

impl Answer {
    /// From what the JS fetch resolved to; a body that is not JSON reads as
    /// `null`.
    pub fn new(status: u16, body: &str, retry_after_ms: Option<u64>) -> Answer {
        Answer {
            status,
            body: Json::parse(body).unwrap_or(Json::Null),
            retry_after_ms,
        }
    }
}

/// The 4xx/5xx sorting the engine relies on: no answer, 5xx, 408 and 429
/// are worth retrying; every other 4xx is the server's final word.
pub fn failure(answer: Answer) -> Failure {
    if answer.status >= 500 || answer.status == 429 || answer.status == 408 || answer.status < 400 {
        return Failure::Transient {
            retry_after_ms: answer.retry_after_ms,
        };
    }
    Failure::Permanent(error_or_status(&answer.body, answer.status))
}

fn transient() -> Failure {
    Failure::Transient { retry_after_ms: None }
}

/// The answer to `POST /carts`. A 2xx whose body is not protocol v1 (a
/// server bug or a proxy's page) is retried, like a 5xx, rather than
/// dropping the shopper's mutations.
pub fn sort_created(answer: Answer) -> Result<Response, Failure> {
    match answer.status {
        201 | 200 => created(&answer.body).map(Response::Created).map_err(|_| transient()),
        _ => Err(failure(answer)),
    }
}

/// The answer to a mutations batch: 200, `409 version_conflict`, or a
/// failure.
pub fn sort_mutations(answer: Answer) -> Result<Response, Failure> {
    match answer.status {
        200 => mutations_response(&answer.body)
            .map(Response::Mutations)
            .map_err(|_| transient()),
        409 if code_of(&answer.body) == Some("version_conflict") => {
            conflict(&answer.body).map(Response::Conflict).map_err(|_| transient())
        }
        _ => Err(failure(answer)),
    }
}

pub fn code_of(body: &Json) -> Option<&str> {
    field(body, "code").and_then(as_str)
}

/// The error an answer stands for: its body, or (no answer) `network_error`.
pub fn body_error(answer: &Answer) -> ErrorBody {
    if answer.status == 0 {
        return ErrorBody {
            code: codes::NETWORK_ERROR.into(),
            message: "the server could not be reached".into(),
        };
    }
    error_or_status(&answer.body, answer.status)
}
