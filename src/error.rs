//! Errors cross to JavaScript as real `Error` objects with
//! `name = "CartError"` and a stable `code` property — never as strings.

use cartsync_core::{CartError, ErrorBody};
use wasm_bindgen::JsValue;

/// Codes only the browser binding produces (the core's are in
/// `CartError::CODES`).
pub mod codes {
    /// The request never got an answer (offline, DNS, CORS, reset).
    pub const NETWORK_ERROR: &str = "network_error";
    /// The request got no answer in time and was aborted.
    pub const TIMEOUT: &str = "timeout";
    /// localStorage is missing or refused the write (quota, private mode).
    pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
    /// The server answered with something that is not protocol v1.
    pub const BAD_RESPONSE: &str = "bad_response";
    /// The operation needs a cart token and there is none yet.
    pub const NO_CART: &str = "no_cart";
}

/// A `CartError` JavaScript object: `instanceof Error`, `name`, `code`,
/// `message`.
pub fn cart_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("CartError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

/// A core error as a `CartError` object.
pub fn from_core(error: &CartError) -> JsValue {
    cart_error(error.code(), &error.to_string())
}

/// A wire error body as a `CartError` object.
pub fn from_body(body: &ErrorBody) -> JsValue {
    cart_error(&body.code, &body.message)
}

/// `bad_request` naming what was wrong with the caller's argument.
pub fn bad_argument(message: impl AsRef<str>) -> JsValue {
    cart_error("bad_request", message.as_ref())
}
