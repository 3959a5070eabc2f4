//! The core's pure rules for JavaScript (a Node backend can run the same
//! validation, batch decision, merge and rebase as the browser and the Rust
//! server). Objects use protocol v1's snake_case wire shapes.

use crate::clock::now_ms;
use crate::convert::{arg, to_js};
use crate::error::from_core;
use cartsync_core::{
    apply, decide_batch, merge, rebase, validate, BatchDecision, Cart, Command, IdempotencyRecord, Limits, MergeReport,
    Mutation, MutationId, Reconciliation,
};
use serde::Serialize;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// Throws a `CartError` if `command` is invalid on its own (formats, ranges).
#[wasm_bindgen(js_name = validateCommand)]
pub fn validate_command(command: JsValue) -> Result<(), JsValue> {
    let command: Command = arg(command, "command")?;
    validate(&command, &Limits::default()).map_err(|e| from_core(&e))
}

/// `command` applied to `cart` (version untouched), or a thrown `CartError`.
#[wasm_bindgen(js_name = applyCommand)]
pub fn apply_command(cart: JsValue, command: JsValue) -> Result<JsValue, JsValue> {
    let cart: Cart = arg(cart, "cart")?;
    let command: Command = arg(command, "command")?;
    let next = apply(&cart, &command, &Limits::default()).map_err(|e| from_core(&e))?;
    to_js(&next)
}

/// The authority's decision on a batch: `{cart, results, records, events,
/// conflict}`. `records` maps mutation ids already applied to their stored
/// idempotency records (pass `{}` for none).
#[wasm_bindgen(js_name = applyBatch)]
pub fn apply_batch(cart: JsValue, mutations: JsValue, records: JsValue) -> Result<JsValue, JsValue> {
    let cart: Cart = arg(cart, "cart")?;
    let mutations: Vec<Mutation> = arg(mutations, "mutations")?;
    let records: BTreeMap<MutationId, IdempotencyRecord> = if records.is_undefined() || records.is_null() {
        BTreeMap::new()
    } else {
        arg(records, "records")?
    };
    let decision: BatchDecision =
        decide_batch(&cart, &records, &mutations, &Limits::default(), &(), now_ms()).map_err(|e| from_core(&e))?;
    to_js(&decision)
}

#[derive(Serialize)]
struct Merged {
    cart: Cart,
    report: MergeReport,
}

/// Login merge of `anonymous` into `account`: `{cart, report}`.
#[wasm_bindgen(js_name = mergeCarts)]
pub fn merge_carts(account: JsValue, anonymous: JsValue) -> Result<JsValue, JsValue> {
    let account: Cart = arg(account, "account")?;
    let anonymous: Cart = arg(anonymous, "anonymous")?;
    let (cart, report) = merge(&account, &anonymous, &Limits::default());
    to_js(&Merged { cart, report })
}

#[derive(Serialize)]
struct Rebased {
    cart: Cart,
    reconciliations: Vec<Reconciliation>,
}

/// Pending mutations rebased onto a server cart: `{cart, reconciliations}`.
#[wasm_bindgen(js_name = rebasePending)]
pub fn rebase_pending(server: JsValue, pending: JsValue) -> Result<JsValue, JsValue> {
    let server: Cart = arg(server, "server")?;
    let pending: Vec<Mutation> = arg(pending, "pending")?;
    let (cart, reconciliations) = rebase(&server, &pending, &Limits::default());
    to_js(&Rebased { cart, reconciliations })
}
