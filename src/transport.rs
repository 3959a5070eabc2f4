//! Protocol v1 over `fetch` (the page's, or one the caller passes in),
//! with a timeout through `AbortController`. Answers are sorted into what
//! the engine understands: a parsed response, a transient failure (retry)
//! or a permanent one (a 4xx body).

use crate::convert::stored::stringify;
use crate::convert::wire::{conflict, created, error_or_status, mutations_request_js, mutations_response};
use cartsync_core::engine::{Failure, Request, Response};
use cartsync_core::ErrorBody;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where and how to reach the server.
#[derive(Clone)]
pub struct Transport {
    /// The API base, e.g. `/api/v1` or `https://shop.example/api/v1`.
    pub endpoint: String,
    /// A caller-supplied `fetch`, else the global one.
    pub fetch: Option<Function>,
    /// Sent as `Authorization: Bearer …` (account carts).
    pub user_token: Option<String>,
    pub timeout_ms: u64,
}

/// A raw answer: status, body (parsed JSON or `null`), `Retry-After` in ms.
pub struct Answer {
    pub status: u16,
    pub body: JsValue,
    pub retry_after_ms: Option<u64>,
}

impl Transport {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.trim_end_matches('/'))
    }

    /// Sends an engine request and sorts the answer.
    pub async fn send(&self, request: &Request) -> Result<Response, Failure> {
        match request {
            Request::CreateCart { .. } => {
                let answer = self.post("/carts", EMPTY_BODY.into(), &[]).await?;
                sort_created(answer)
            }
            Request::Mutations { token, body, .. } => {
                let path = ["/carts/", token, "/mutations"].concat();
                let answer = self.post(&path, mutations_request_js(&body.mutations), &[]).await?;
                sort_mutations(answer)
            }
        }
    }

    /// POSTs a JSON body; `Err` only when there is no answer at all.
    pub async fn post(&self, path: &str, body: JsValue, headers: &[(&str, &str)]) -> Result<Answer, Failure> {
        let body = stringify(&body).map_err(|_| transient())?;
        self.call("POST", path, Some(body), headers).await
    }

    /// One HTTP exchange with timeout. Network errors and timeouts are
    /// transient failures.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Result<Answer, Failure> {
        let headers = Object::new();
        set(&headers, "Accept", &"application/json".into());
        if body.is_some() {
            set(&headers, "Content-Type", &"application/json".into());
        }
        if let Some(t) = &self.user_token {
            set(&headers, "Authorization", &format!("Bearer {t}").into());
        }
        for (k, v) in extra {
            set(&headers, k, &(*v).into());
        }
        let init = Object::new();
        set(&init, "method", &method.into());
        set(&init, "headers", &headers);
        if let Some(b) = body {
            set(&init, "body", &b.into());
        }
        let controller = web_sys::AbortController::new().ok();
        if let Some(c) = &controller {
            set(&init, "signal", &c.signal());
        }
        let timer = controller.as_ref().and_then(|c| arm_timeout(c, self.timeout_ms));
        let result = self.fetch_and_read(&self.url(path), &init).await;
        if let (Some(window), Some(id)) = (web_sys::window(), timer) {
            window.clear_timeout_with_handle(id);
        }
        result
    }

    async fn fetch_and_read(&self, url: &str, init: &Object) -> Result<Answer, Failure> {
        let fetch = match &self.fetch {
            Some(f) => f.clone(),
            None => Reflect::get(&js_sys::global(), &"fetch".into())
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .ok_or_else(transient)?,
        };
        let promise = fetch
            .call2(&JsValue::UNDEFINED, &url.into(), init)
            .ok()
            .and_then(|p| p.dyn_into::<Promise>().ok())
            .ok_or_else(transient)?;
        let response = JsFuture::from(promise).await.map_err(|_| transient())?;
        let status = Reflect::get(&response, &"status".into())
            .ok()
            .and_then(|s| s.as_f64())
            .ok_or_else(transient)? as u16;
        let retry_after_ms = header(&response, "Retry-After")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s.saturating_mul(1000));
        let text = call_method(&response, "text").ok_or_else(transient)?;
        let text = JsFuture::from(text).await.map_err(|_| transient())?;
        let body = text
            .as_string()
            .filter(|t| !t.is_empty())
            .and_then(|t| js_sys::JSON::parse(&t).ok())
            .unwrap_or(JsValue::NULL);
        Ok(Answer {
            status,
            body,
            retry_after_ms,
        })
    }
}

/// The 4xx/5xx sorting the engine relies on: 5xx, 408 and 429 are worth
/// retrying; every other 4xx is the server's final word.
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

fn code_of(body: &JsValue) -> Option<String> {
    Reflect::get(body, &"code".into()).ok()?.as_string()
}

pub fn body_error(answer: Answer) -> ErrorBody {
    error_or_status(&answer.body, answer.status)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain fresh object cannot fail.
    let _ = Reflect::set(target, &key.into(), value);
}

fn header(response: &JsValue, name: &str) -> Option<String> {
    let headers = Reflect::get(response, &"headers".into()).ok()?;
    let get = Reflect::get(&headers, &"get".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    get.call1(&headers, &name.into()).ok()?.as_string()
}

fn call_method(target: &JsValue, name: &str) -> Option<Promise> {
    let f = Reflect::get(target, &name.into()).ok()?.dyn_into::<Function>().ok()?;
    f.call0(target).ok()?.dyn_into::<Promise>().ok()
}

fn arm_timeout(controller: &web_sys::AbortController, ms: u64) -> Option<i32> {
    let controller = controller.clone();
    let abort = crate::runtime::callback(move || controller.abort());
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(abort.unchecked_ref(), ms.min(i32::MAX as u64) as i32)
        .ok()
}

/// The body of a POST that carries nothing.
pub const EMPTY_BODY: EmptyBody = EmptyBody;

/// `{}` as a request body.
pub struct EmptyBody;

impl From<EmptyBody> for JsValue {
    fn from(_: EmptyBody) -> JsValue {
        Object::new().into()
    }
}
