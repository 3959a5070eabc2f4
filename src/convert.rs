//! Every conversion between JavaScript values and Rust, on one configured
//! serde-wasm-bindgen serializer: plain objects for maps, `null` for
//! absent values (so that a value survives `JSON.stringify` unchanged), and
//! numbers for 64-bit integers (refused past 2^53 rather than rounded).
//!
//! - [`api`]: values handed to the page (view parts, events, orders, merge
//!   reports), field names in camelCase ([`crate::camel`]);
//! - [`wire`] and [`text`]: protocol v1 and stored records, as the schema
//!   writes them (snake_case), as JS values or JSON text;
//! - [`from_js`] and [`parse`]: the way back, from a caller's argument, a
//!   response body or a stored record.

#[cfg(all(feature = "client", target_arch = "wasm32"))]
use crate::camel::Camel;
use crate::error::bad_request;
use cartsync_core::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::{JsCast, JsValue};

/// The one serializer configuration.
const SERIALIZER: Serializer = Serializer::new()
    .serialize_maps_as_objects(true)
    .serialize_missing_as_null(true);

/// A value for the page, camelCase.
#[cfg(all(feature = "client", target_arch = "wasm32"))]
pub fn api<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, ErrorBody> {
    Camel(value).serialize(&SERIALIZER).map_err(unrepresentable)
}

/// A value in its wire (or stored) form.
pub fn wire<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, ErrorBody> {
    value.serialize(&SERIALIZER).map_err(unrepresentable)
}

/// A value in its wire (or stored) form, as JSON text.
pub fn text<T: Serialize + ?Sized>(value: &T) -> Result<String, ErrorBody> {
    let js = wire(value)?;
    js_sys::JSON::stringify(&js)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| unrepresentable("JSON.stringify refused the value"))
}

/// Reads a JS value as `T`.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, serde_wasm_bindgen::Error> {
    serde_wasm_bindgen::from_value(value)
}

/// Reads JSON text as `T`; `None` for text that is not JSON or not a `T`
/// (a stored record edited by hand, or written by another version).
pub fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    from_js(value).ok()
}

/// A caller's argument as `T`, or `bad_request` naming the argument.
pub fn arg<T: DeserializeOwned>(what: &str, value: JsValue) -> Result<T, ErrorBody> {
    from_js(value).map_err(|e| bad_request(&[what, ": ", &e.to_string()].concat()))
}

/// A string argument (`applyCoupon(code)`, ...).
pub fn string_arg(what: &str, value: &JsValue) -> Result<String, ErrorBody> {
    value
        .as_string()
        .ok_or_else(|| bad_request(&[what, ": expected a string"].concat()))
}

/// A function argument (`subscribe(listener)`, `fetch`).
pub fn function_arg(what: &str, value: JsValue) -> Result<js_sys::Function, ErrorBody> {
    value
        .dyn_into()
        .map_err(|_| bad_request(&[what, ": expected a function"].concat()))
}

fn unrepresentable(e: impl ToString) -> ErrorBody {
    ErrorBody {
        code: cartsync_core::engine::codes::BAD_RESPONSE.into(),
        message: ["a value cannot be handed to JavaScript: ", &e.to_string()].concat(),
    }
}
