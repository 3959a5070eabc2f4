//! The core's pure rules for JavaScript (a Node backend can run the same
//! validation, batch decision, merge and rebase as the browser and the Rust
//! server). Objects use protocol v1's snake_case wire shapes.

use crate::clock::now_ms;
use crate::convert::api::arg;
use crate::convert::js::Obj;
use crate::convert::rules::{
    batch_decision_js, cart, cart_js, merge_report_js, mutations, reconciliation_js, records, Records,
};
use crate::convert::wire::command_checked;
use crate::error::{bad_argument, from_core};
use cartsync_core::{apply, decide_batch, merge, rebase, validate, BatchDecision, Command, Limits};
use wasm_bindgen::prelude::*;

/// A command argument, with the core's message when it is not one.
fn command_arg(command: &JsValue) -> Result<Command, JsValue> {
    if !command.is_object() {
        return Err(bad_argument("command: expected an object"));
    }
    command_checked(command).map_err(|m| bad_argument(["command: ", &m].concat()))
}

/// Throws a `CartError` if `command` is invalid on its own (formats, ranges).
#[wasm_bindgen(js_name = validateCommand)]
pub fn validate_command(command: JsValue) -> Result<(), JsValue> {
    let command = command_arg(&command)?;
    validate(&command, &Limits::default()).map_err(|e| from_core(&e))
}

/// `command` applied to `cart` (version untouched), or a thrown `CartError`.
#[wasm_bindgen(js_name = applyCommand)]
pub fn apply_command(cart_arg: JsValue, command: JsValue) -> Result<JsValue, JsValue> {
    let cart = arg(&cart_arg, "cart", cart)?;
    let command = command_arg(&command)?;
    let next = apply(&cart, &command, &Limits::default()).map_err(|e| from_core(&e))?;
    Ok(cart_js(&next))
}

/// The authority's decision on a batch: `{cart, results, records, events,
/// conflict}`. `records` maps mutation ids already applied to their stored
/// idempotency records (pass `{}` for none).
#[wasm_bindgen(js_name = applyBatch)]
pub fn apply_batch(cart_arg: JsValue, mutation_list: JsValue, record_map: JsValue) -> Result<JsValue, JsValue> {
    let cart = arg(&cart_arg, "cart", cart)?;
    let mutations = arg(&mutation_list, "mutations", mutations)?;
    let records = if record_map.is_undefined() || record_map.is_null() {
        Records::default()
    } else {
        arg(&record_map, "records", records)?
    };
    let decision: BatchDecision =
        decide_batch(&cart, &records, &mutations, &Limits::default(), &(), now_ms()).map_err(|e| from_core(&e))?;
    Ok(batch_decision_js(&decision))
}

/// Login merge of `anonymous` into `account`: `{cart, report}`.
#[wasm_bindgen(js_name = mergeCarts)]
pub fn merge_carts(account: JsValue, anonymous: JsValue) -> Result<JsValue, JsValue> {
    let account = arg(&account, "account", cart)?;
    let anonymous = arg(&anonymous, "anonymous", cart)?;
    let (cart, report) = merge(&account, &anonymous, &Limits::default());
    Ok(Obj::new()
        .set("cart", cart_js(&cart))
        .set("report", merge_report_js(&report))
        .done())
}

/// Pending mutations rebased onto a server cart: `{cart, reconciliations}`.
#[wasm_bindgen(js_name = rebasePending)]
pub fn rebase_pending(server: JsValue, pending: JsValue) -> Result<JsValue, JsValue> {
    let server = arg(&server, "server", cart)?;
    let pending = arg(&pending, "pending", mutations)?;
    let (cart, reconciliations) = rebase(&server, &pending, &Limits::default());
    Ok(Obj::new()
        .set("cart", cart_js(&cart))
        .set(
            "reconciliations",
            crate::convert::js::array(&reconciliations, reconciliation_js),
        )
        .done())
}
