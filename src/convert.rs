//! Every conversion between JavaScript values and Rust types lives here,
//! with one configured serde-wasm-bindgen serializer. JS sees camelCase;
//! storage and the wire keep protocol v1's snake_case.

use crate::error::{bad_argument, cart_error, codes};
use cartsync_core::engine::{Event, Status, SyncError, View};
use cartsync_core::protocol::v1::{CartView, LineView};
use cartsync_core::{Coupon, ErrorBody, Money, Options, Reconciliation, Totals};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// Maps become plain objects, `None` becomes `null`, 64-bit integers become
/// numbers (all ours are versions, counts and millisecond times: safe).
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}

/// A Rust value as a JS value.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serializer())
        .map_err(|e| cart_error(codes::BAD_RESPONSE, &e.to_string()))
}

/// A caller's argument as a Rust value; a mismatch is `bad_request` naming
/// the argument.
pub fn arg<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| bad_argument(format!("{what}: {e}")))
}

/// A server body (already parsed by `JSON.parse`) as a protocol type.
pub fn wire<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// A stored JSON string as a Rust value (`None` if it does not parse: a
/// corrupt entry is skipped, never a panic).
pub fn from_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

/// A Rust value as a JSON string for storage or a request body. Going
/// through `JSON.stringify` keeps serde_json out of the wasm.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, JsValue> {
    let js = value
        .serialize(&serializer())
        .map_err(|e| cart_error(codes::STORAGE_UNAVAILABLE, &e.to_string()))?;
    js_sys::JSON::stringify(&js)
        .map(String::from)
        .map_err(|_| cart_error(codes::STORAGE_UNAVAILABLE, "value cannot be stringified"))
}

/// `addItem({sku, quantity, options})`.
#[derive(Deserialize)]
pub struct AddItemArgs {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: i64,
    #[serde(default)]
    pub options: Options,
}

fn one() -> i64 {
    1
}

/// `setQuantity({sku, options, quantity})`.
#[derive(Deserialize)]
pub struct SetQuantityArgs {
    pub sku: String,
    #[serde(default)]
    pub options: Options,
    pub quantity: i64,
}

/// `removeItem({sku, options})`.
#[derive(Deserialize)]
pub struct LineArgs {
    pub sku: String,
    #[serde(default)]
    pub options: Options,
}

/// `CartClient.open({endpoint, namespace, fetch, userToken})` (the `fetch`
/// function is read separately: it is not data).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenArgs {
    pub endpoint: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub user_token: Option<String>,
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
}

/// `checkout({idempotencyKey})`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutArgs {
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsLine<'a> {
    sku: &'a str,
    options: &'a Options,
    quantity: u32,
    name: Option<&'a str>,
    unit_price: Option<&'a Money>,
    image: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsTotals<'a> {
    subtotal: &'a Money,
    discount: &'a Money,
    estimated_total: &'a Money,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsView<'a> {
    lines: Vec<JsLine<'a>>,
    coupons: &'a [Coupon],
    shipping_option: Option<&'a str>,
    totals: Option<JsTotals<'a>>,
    version: u64,
    pending: usize,
    status: &'static str,
    last_error: Option<JsSyncError<'a>>,
}

#[derive(Serialize)]
struct JsSyncError<'a> {
    code: &'a str,
    message: String,
}

fn js_line(l: &LineView) -> JsLine<'_> {
    JsLine {
        sku: l.sku.as_str(),
        options: &l.options,
        quantity: l.quantity,
        name: l.name.as_deref(),
        unit_price: l.unit_price.as_ref(),
        image: l.image.as_deref(),
    }
}

fn js_totals(t: &Totals) -> JsTotals<'_> {
    JsTotals {
        subtotal: &t.subtotal,
        discount: &t.discount,
        estimated_total: &t.estimated_total,
    }
}

/// `view()`: `{lines, coupons, shippingOption, totals, version, pending,
/// status, lastError}`.
pub fn view_to_js(view: &View) -> Result<JsValue, JsValue> {
    let cart: &CartView = &view.cart;
    let last_error = view.last_error.as_ref().map(|e| match e {
        SyncError::Unreachable { attempts } => JsSyncError {
            code: codes::NETWORK_ERROR,
            message: format!("the server could not be reached ({attempts} attempts in a row)"),
        },
        SyncError::Refused { error } => JsSyncError {
            code: &error.code,
            message: error.message.clone(),
        },
    });
    to_js(&JsView {
        lines: cart.lines.iter().map(js_line).collect(),
        coupons: &cart.coupons,
        shipping_option: cart.shipping_option.as_deref(),
        totals: cart.totals.as_ref().map(js_totals),
        version: cart.version,
        pending: view.pending,
        status: match view.status {
            Status::Synced => "synced",
            Status::Syncing => "syncing",
            Status::Offline => "offline",
            Status::Error => "error",
        },
        last_error,
    })
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum JsEvent<'a> {
    #[serde(rename_all = "camelCase")]
    Rejected {
        mutation_id: String,
        command: &'a str,
        code: &'a str,
        message: &'a str,
        line: Option<JsLineKey<'a>>,
    },
    Reconciled {
        changes: &'a [Reconciliation],
    },
    #[serde(rename_all = "camelCase")]
    Conflict {
        server_version: u64,
    },
    #[serde(rename_all = "camelCase")]
    Expired {
        mutation_id: String,
        command: &'a str,
        created_at: u64,
    },
    #[serde(rename_all = "camelCase")]
    CartReplaced {
        code: &'a str,
        message: &'a str,
    },
}

#[derive(Serialize)]
struct JsLineKey<'a> {
    sku: &'a str,
    options: &'a Options,
}

/// An engine event as the `{type, ...}` object listeners receive.
pub fn event_to_js(event: &Event) -> Result<JsValue, JsValue> {
    let js = match event {
        Event::Rejected { mutation, error, line } => JsEvent::Rejected {
            mutation_id: mutation.id.to_string(),
            command: mutation.command.name(),
            code: &error.code,
            message: &error.message,
            line: line.as_ref().map(|(sku, options)| JsLineKey {
                sku: sku.as_str(),
                options,
            }),
        },
        Event::Reconciled(changes) => JsEvent::Reconciled { changes },
        Event::Conflict { server_version } => JsEvent::Conflict {
            server_version: *server_version,
        },
        Event::Expired { mutation, created_at } => JsEvent::Expired {
            mutation_id: mutation.id.to_string(),
            command: mutation.command.name(),
            created_at: *created_at,
        },
        Event::CartReplaced { error, .. } => JsEvent::CartReplaced {
            code: &error.code,
            message: &error.message,
        },
    };
    to_js(&js)
}

/// A `{type: "merged", report}` event object.
pub fn merged_event(report: &cartsync_core::MergeReport) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Merged<'a> {
        r#type: &'static str,
        report: &'a cartsync_core::MergeReport,
    }
    to_js(&Merged {
        r#type: "merged",
        report,
    })
}

/// An error body from a response, or a made-up one naming the status.
pub fn error_body(value: JsValue, status: u16) -> ErrorBody {
    wire::<ErrorBody>(value).unwrap_or_else(|_| ErrorBody {
        code: if status >= 500 {
            "server_error".into()
        } else {
            "bad_request".into()
        },
        message: format!("the server answered {status}"),
    })
}
