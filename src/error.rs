//! Errors cross to JavaScript as real `Error` objects with
//! `name === "CartError"` and a stable `code` (the core's codes, and the
//! client's in `cartsync_core::engine::codes`), never as strings. The
//! package's `CartError` class recognises them by name and code, so
//! `err instanceof CartError` holds whichever copy of the module made them.

use cartsync_core::{CartError, ErrorBody};
use wasm_bindgen::JsValue;

/// The `CartError` for JavaScript.
pub fn to_js(error: &ErrorBody) -> JsValue {
    let e = js_sys::Error::new(&error.message);
    e.set_name("CartError");
    // Setting a property on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(&error.code));
    e.into()
}

/// `bad_request` naming what was wrong with the caller's argument.
pub fn bad_request(message: &str) -> ErrorBody {
    ErrorBody {
        code: "bad_request".into(),
        message: message.into(),
    }
}

/// A client-side error with its code.
pub fn client(code: &str, message: &str) -> ErrorBody {
    ErrorBody {
        code: code.into(),
        message: message.into(),
    }
}

/// A core error with its code and message.
pub fn from_core(error: &CartError) -> ErrorBody {
    error.to_body()
}
