//! Sending one request the engine asked for: `fetch` (the page's, or the
//! one given to `open`) with an `AbortController` that aborts it after the
//! timeout. It never fails: no answer (network error, abort, CORS) is
//! status 0, and a body that is not JSON reads as `null`. What the answer
//! means is the engine's to decide (`RequestKind::sort`).

use cartsync_core::engine::{AnswerBody, Request, RequestKind};
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What came back.
pub struct Answer {
    pub status: u16,
    pub retry_after_ms: Option<u64>,
    pub body: Body,
}

/// A response body as JavaScript parsed it (`response.json()`).
pub struct Body(JsValue);

impl AnswerBody for Body {
    fn read<T: DeserializeOwned>(&self) -> Option<T> {
        crate::convert::from_js(self.0.clone()).ok()
    }
}

/// Where and how requests go.
pub struct Transport {
    /// The API base, without a trailing slash.
    pub endpoint: String,
    /// `fetch` replaced by the page, if it was.
    pub fetch: Option<js_sys::Function>,
    pub timeout_ms: u64,
}

impl Transport {
    /// The request's JSON body.
    fn body(kind: &RequestKind) -> Result<String, cartsync_core::ErrorBody> {
        match kind {
            RequestKind::CreateCart | RequestKind::Attach { .. } => Ok("{}".into()),
            RequestKind::Mutations { body, .. } => crate::convert::text(body),
            RequestKind::Checkout { body, .. } => crate::convert::text(body),
        }
    }

    /// Sends `request`; resolves to its answer. Nothing happens until the
    /// future is first polled (in a microtask): a command that starts a
    /// request returns before the request is built.
    pub fn send(&self, request: &Request) -> impl std::future::Future<Output = Answer> + 'static {
        let url = [self.endpoint.as_str(), &request.kind.path()].concat();
        let auth = request.auth.clone();
        let kind = request.kind.clone();
        let fetch = self.fetch.clone();
        let timeout = i32::try_from(self.timeout_ms).unwrap_or(i32::MAX);
        let keepalive = request.keepalive;
        async move {
            let Ok(body) = Self::body(&kind) else {
                return no_answer();
            };
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            let headers = js_sys::Object::new();
            let header = |name: &str, value: &str| {
                let _ = js_sys::Reflect::set(&headers, &JsValue::from_str(name), &JsValue::from_str(value));
            };
            header("Accept", "application/json");
            header("Content-Type", "application/json");
            if let Some(user) = &auth {
                header("Authorization", &["Bearer ", user].concat());
            }
            if let Some(key) = kind.idempotency_key() {
                header("Idempotency-Key", key);
            }
            init.set_headers(&headers);
            init.set_body(&JsValue::from_str(&body));
            if keepalive {
                // Not in web-sys's RequestInit: set as a plain field.
                let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
            }
            exchange(fetch, url, init, timeout).await
        }
    }
}

fn no_answer() -> Answer {
    Answer {
        status: 0,
        retry_after_ms: None,
        body: Body(JsValue::NULL),
    }
}

/// A function of the global object (`fetch`, `setTimeout`): a page's window
/// or a worker's scope.
fn global_fn(name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()?
        .dyn_into()
        .ok()
}

async fn exchange(fetch: Option<js_sys::Function>, url: String, init: web_sys::RequestInit, timeout: i32) -> Answer {
    let Some(fetch) = fetch.or_else(|| global_fn("fetch")) else {
        return no_answer();
    };
    let global = js_sys::global();
    // The timeout aborts the fetch (and its body); the closure lives until
    // this exchange is over, and the timer is cleared then.
    let controller = web_sys::AbortController::new().ok();
    let abort = controller
        .clone()
        .map(|c| Closure::<dyn FnMut()>::new(move || c.abort()));
    let timer = match (&controller, &abort, global_fn("setTimeout")) {
        (Some(c), Some(abort), Some(set_timeout)) => {
            init.set_signal(Some(&c.signal()));
            set_timeout.call2(&global, abort.as_ref(), &JsValue::from(timeout)).ok()
        }
        _ => None,
    };
    let answer = fetched(fetch, &url, &init).await;
    if let (Some(handle), Some(clear)) = (timer, global_fn("clearTimeout")) {
        let _ = clear.call1(&global, &handle);
    }
    drop(abort);
    answer.unwrap_or_else(|_| no_answer())
}

async fn fetched(fetch: js_sys::Function, url: &str, init: &web_sys::RequestInit) -> Result<Answer, JsValue> {
    // Called on the global object: the browser's `fetch` needs it as
    // `this`, and a page's replacement does not mind.
    let promise: js_sys::Promise = fetch
        .call2(&js_sys::global(), &JsValue::from_str(url), init)?
        .dyn_into()?;
    let response: web_sys::Response = JsFuture::from(promise).await?.dyn_into()?;
    let status = response.status();
    let retry_after_ms = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    let body = match response.json() {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok(Answer {
        status,
        retry_after_ms,
        body: Body(body),
    })
}
