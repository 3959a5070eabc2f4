//! Protocol v1 over `fetch` (the page's, or one the caller passes in). The
//! exchange itself (timeout, reading the body) is the small JS function in
//! `io.js`; here requests are built and answers sorted into what the engine
//! understands: a parsed response, a transient failure (retry) or a
//! permanent one (a 4xx body).

use crate::convert::js::field;
use crate::convert::stored::stringify;
use crate::convert::wire::{conflict, created, error_or_status, mutations_request_js, mutations_response, read_answer};
use crate::runtime::{callback, then};
use cartsync_core::engine::{Failure, Request, Response};
use cartsync_core::ErrorBody;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/io.js")]
extern "C" {
    /// Resolves to `{status, body, retryAfterMs}`; `status` 0: no answer.
    fn send(fetch: &JsValue, url: &str, method: &str, headers: &Object, body: JsValue, timeout_ms: f64) -> Promise;
}

/// Where and how to reach the server.
#[derive(Clone)]
pub struct Transport {
    /// The API base, e.g. `/api/v1` or `https://shop.example/api/v1`.
    pub endpoint: String,
    /// A caller-supplied `fetch`, else the global one.
    pub fetch: Option<Function>,
    pub timeout_ms: u64,
}

/// A raw answer: status (0: none), body (parsed JSON or `null`),
/// `Retry-After` in ms.
pub struct Answer {
    pub status: u16,
    pub body: JsValue,
    pub retry_after_ms: Option<u64>,
}

impl Transport {
    /// POSTs a JSON body, with `Authorization: Bearer` when there is a user
    /// token, resolving to the raw answer (see `convert::wire::read_answer`).
    pub fn post(&self, path: &str, body: &JsValue, extra: &[(&str, &str)], user_token: Option<&str>) -> Promise {
        let headers = Object::new();
        set(&headers, "Accept", &"application/json".into());
        set(&headers, "Content-Type", &"application/json".into());
        if let Some(t) = user_token {
            set(&headers, "Authorization", &["Bearer ", t].concat().into());
        }
        for (k, v) in extra {
            set(&headers, k, &(*v).into());
        }
        let url = [self.endpoint.trim_end_matches('/'), path].concat();
        let body = stringify(body).map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        let fetch = self.fetch.as_ref().map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
        send(&fetch, &url, "POST", &headers, body, self.timeout_ms as f64)
    }

    /// Sends an engine request; `done` gets the sorted outcome.
    pub fn send(
        &self,
        request: &Request,
        user_token: Option<&str>,
        done: impl FnOnce(Result<Response, Failure>) + 'static,
    ) {
        let (promise, sort): (Promise, Sorter) = match request {
            Request::CreateCart { .. } => (self.post("/carts", &Object::new(), &[], user_token), sort_created),
            Request::Mutations { token, body, .. } => (
                self.post(
                    &["/carts/", token, "/mutations"].concat(),
                    &mutations_request_js(&body.mutations),
                    &[],
                    user_token,
                ),
                sort_mutations,
            ),
        };
        then(&promise, &callback(move |answer| done(sort(read_answer(&answer)))));
    }
}

/// Turns a raw answer into what the engine takes.
type Sorter = fn(Answer) -> Result<Response, Failure>;

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
fn sort_created(answer: Answer) -> Result<Response, Failure> {
    match answer.status {
        201 | 200 => created(&answer.body).map(Response::Created).map_err(|_| transient()),
        _ => Err(failure(answer)),
    }
}

/// The answer to a mutations batch: 200, `409 version_conflict`, or a
/// failure.
fn sort_mutations(answer: Answer) -> Result<Response, Failure> {
    match answer.status {
        200 => mutations_response(&answer.body)
            .map(Response::Mutations)
            .map_err(|_| transient()),
        409 if code_of(&answer.body).as_deref() == Some("version_conflict") => {
            conflict(&answer.body).map(Response::Conflict).map_err(|_| transient())
        }
        _ => Err(failure(answer)),
    }
}

pub fn code_of(body: &JsValue) -> Option<String> {
    field(body, "code")?.as_string()
}

/// The error an answer stands for: its body, or (no answer) `network_error`.
pub fn body_error(answer: Answer) -> ErrorBody {
    if answer.status == 0 {
        return ErrorBody {
            code: crate::error::codes::NETWORK_ERROR.into(),
            message: "the server could not be reached".into(),
        };
    }
    error_or_status(&answer.body, answer.status)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain fresh object cannot fail.
    let _ = Reflect::set(target, &key.into(), value);
}
