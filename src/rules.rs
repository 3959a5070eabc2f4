//! The core's pure rules for JavaScript (a Node backend can run the same
//! validation, batch decision, merge and rebase as the browser and the Rust
//! server). Arguments and answers are JSON text in protocol v1's snake_case
//! wire shapes; each answer is `{"ok": value}` or `{"error": {code,
//! message}}`, which the package's rules.js turns into a value or a thrown
//! `CartError`.

use crate::convert::api::arg;
use crate::convert::json::{array, Obj};
use crate::convert::rules::{
    batch_decision_js, cart, cart_js, merge_report_js, mutations, reconciliation_js, records, Records,
};
use crate::convert::wire::{command_checked, error_body_js};
use crate::error::{bad_argument, from_core};
use crate::json::Json;
use crate::prelude::*;
use cartsync_core::{apply, decide_batch, merge, rebase, validate, Command, ErrorBody, Limits};
use wasm_bindgen::prelude::*;

/// A JSON argument (the JS side stringifies; unreadable text is `null`).
fn parse(text: &str) -> Json {
    Json::parse(text).unwrap_or(Json::Null)
}

/// A command argument, with the core's message when it is not one.
fn command_arg(command: &str) -> Result<Command, ErrorBody> {
    let command = parse(command);
    if !matches!(command, Json::Obj(_)) {
        return Err(bad_argument("command: expected an object"));
    }
    command_checked(&command).map_err(|m| bad_argument(["command: ", &m].concat()))
}

/// `{"ok": value}` or `{"error": {code, message}}`.
fn answer(result: Result<Json, ErrorBody>) -> String {
    match result {
        Ok(v) => Obj::new().set("ok", v),
        Err(e) => Obj::new().set("error", error_body_js(&e)),
    }
    .done()
    .text()
}

/// `null`, or the error if `command` is invalid on its own (formats,
/// ranges).
#[wasm_bindgen(js_name = validateCommand)]
pub fn validate_command(command: &str) -> String {
    answer(command_arg(command).and_then(|c| {
        validate(&c, &Limits::default())
            .map(|_| Json::Null)
            .map_err(|e| from_core(&e))
    }))
}

/// `command` applied to `cart` (version untouched).
#[wasm_bindgen(js_name = applyCommand)]
pub fn apply_command(cart_arg: &str, command: &str) -> String {
    answer((|| {
        let cart = arg(&parse(cart_arg), "cart", cart)?;
        let command = command_arg(command)?;
        let next = apply(&cart, &command, &Limits::default()).map_err(|e| from_core(&e))?;
        Ok(cart_js(&next))
    })())
}

/// The authority's decision on a batch at time `now` (ms): `{cart,
/// results, records, events, conflict}`. `records` maps mutation ids
/// already applied to their stored idempotency records (`{}` or `null` for
/// none).
#[wasm_bindgen(js_name = applyBatch)]
pub fn apply_batch(cart_arg: &str, mutation_list: &str, record_map: &str, now: f64) -> String {
    answer((|| {
        let cart = arg(&parse(cart_arg), "cart", cart)?;
        let mutations = arg(&parse(mutation_list), "mutations", mutations)?;
        let records = match parse(record_map) {
            Json::Null => Records::default(),
            map => arg(&map, "records", records)?,
        };
        let decision = decide_batch(&cart, &records, &mutations, &Limits::default(), &(), now as u64)
            .map_err(|e| from_core(&e))?;
        Ok(batch_decision_js(&decision))
    })())
}

/// Login merge of `anonymous` into `account`: `{cart, report}`.
#[wasm_bindgen(js_name = mergeCarts)]
pub fn merge_carts(account: &str, anonymous: &str) -> String {
    answer((|| {
        let account = arg(&parse(account), "account", cart)?;
        let anonymous = arg(&parse(anonymous), "anonymous", cart)?;
        let (cart, report) = merge(&account, &anonymous, &Limits::default());
        Ok(Obj::new()
            .set("cart", cart_js(&cart))
            .set("report", merge_report_js(&report))
            .done())
    })())
}

/// Pending mutations rebased onto a server cart: `{cart, reconciliations}`.
#[wasm_bindgen(js_name = rebasePending)]
pub fn rebase_pending(server: &str, pending: &str) -> String {
    answer((|| {
        let server = arg(&parse(server), "server", cart)?;
        let pending = arg(&parse(pending), "pending", mutations)?;
        let (cart, reconciliations) = rebase(&server, &pending, &Limits::default());
        Ok(Obj::new()
            .set("cart", cart_js(&cart))
            .set("reconciliations", array(&reconciliations, reconciliation_js))
            .done())
    })())
}
