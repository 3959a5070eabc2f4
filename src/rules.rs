//! The core's pure rules for JavaScript (a Node backend can run the same
//! validation, batch decision, merge and rebase as the browser and the Rust
//! server), on protocol v1's snake_case shapes, read and written by
//! serde-wasm-bindgen. Errors are thrown as `CartError` objects.

use crate::convert::{arg, wire};
use crate::error::{self, from_core};
use cartsync_core::{
    apply, decide_batch, merge, rebase, validate, Cart, Command, ErrorBody, IdempotencyRecord, Limits, Mutation,
    MutationId,
};
use js_sys::{Object, Reflect};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_IMPORTS: &'static str = r#"
import type * as v1 from "../types/v1/index.js";
"#;

type Js<T = JsValue> = Result<T, JsValue>;

fn thrown(e: ErrorBody) -> JsValue {
    error::to_js(&e)
}

fn read<T: serde::de::DeserializeOwned>(what: &str, value: JsValue) -> Js<T> {
    arg(what, value).map_err(thrown)
}

fn out<T: serde::Serialize + ?Sized>(value: &T) -> Js {
    wire(value).map_err(thrown)
}

fn pair(a: &str, av: JsValue, b: &str, bv: JsValue) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &JsValue::from_str(a), &av);
    let _ = Reflect::set(&o, &JsValue::from_str(b), &bv);
    o.into()
}

/// Throws a `CartError` if `command` is invalid on its own (formats,
/// ranges).
#[wasm_bindgen(js_name = validateCommand)]
pub fn validate_command(#[wasm_bindgen(unchecked_param_type = "v1.Command")] command: JsValue) -> Js<()> {
    let command: Command = read("command", command)?;
    validate(&command, &Limits::default()).map_err(|e| thrown(from_core(&e)))
}

/// `command` applied to `cart` (version untouched), or a thrown `CartError`.
#[wasm_bindgen(js_name = applyCommand, unchecked_return_type = "v1.Cart")]
pub fn apply_command(
    #[wasm_bindgen(unchecked_param_type = "v1.Cart")] cart: JsValue,
    #[wasm_bindgen(unchecked_param_type = "v1.Command")] command: JsValue,
) -> Js {
    let cart: Cart = read("cart", cart)?;
    let command: Command = read("command", command)?;
    let next = apply(&cart, &command, &Limits::default()).map_err(|e| thrown(from_core(&e)))?;
    out(&next)
}

/// The authority's decision on a batch at time `now` (ms; default: now):
/// `{cart, results, records, events, conflict}`. `records` maps mutation
/// ids already decided to their stored idempotency records.
#[wasm_bindgen(js_name = applyBatch, unchecked_return_type = "v1.BatchDecision")]
pub fn apply_batch(
    #[wasm_bindgen(unchecked_param_type = "v1.Cart")] cart: JsValue,
    #[wasm_bindgen(unchecked_param_type = "v1.Mutation[]")] mutations: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, v1.IdempotencyRecord> | null | undefined")] records: JsValue,
    now: Option<f64>,
) -> Js {
    let cart: Cart = read("cart", cart)?;
    let mutations: Vec<Mutation> = read("mutations", mutations)?;
    let records: BTreeMap<MutationId, IdempotencyRecord> = if records.is_undefined() || records.is_null() {
        BTreeMap::new()
    } else {
        read("records", records)?
    };
    let now = now.unwrap_or_else(js_sys::Date::now) as u64;
    let decision =
        decide_batch(&cart, &records, &mutations, &Limits::default(), &(), now).map_err(|e| thrown(from_core(&e)))?;
    out(&decision)
}

/// Login merge of `anonymous` into `account`: `{cart, report}`.
#[wasm_bindgen(js_name = mergeCarts, unchecked_return_type = "{ cart: v1.Cart; report: v1.MergeReport }")]
pub fn merge_carts(
    #[wasm_bindgen(unchecked_param_type = "v1.Cart")] account: JsValue,
    #[wasm_bindgen(unchecked_param_type = "v1.Cart")] anonymous: JsValue,
) -> Js {
    let account: Cart = read("account", account)?;
    let anonymous: Cart = read("anonymous", anonymous)?;
    let (cart, report) = merge(&account, &anonymous, &Limits::default());
    Ok(pair("cart", out(&cart)?, "report", out(&report)?))
}

/// Pending mutations rebased onto a server cart: `{cart, reconciliations}`.
#[wasm_bindgen(
    js_name = rebasePending,
    unchecked_return_type = "{ cart: v1.Cart; reconciliations: v1.Reconciliation[] }"
)]
pub fn rebase_pending(
    #[wasm_bindgen(unchecked_param_type = "v1.Cart")] server: JsValue,
    #[wasm_bindgen(unchecked_param_type = "v1.Mutation[]")] pending: JsValue,
) -> Js {
    let server: Cart = read("server", server)?;
    let pending: Vec<Mutation> = read("pending", pending)?;
    let (cart, reconciliations) = rebase(&server, &pending, &Limits::default());
    Ok(pair("cart", out(&cart)?, "reconciliations", out(&reconciliations)?))
}
