//! The JavaScript API's own shapes (camelCase): method arguments, `view()`
//! and the event objects listeners receive.

use super::json::{array, id_js, num, opt_string, options, options_js, string, Bad, Obj, Read};
use super::rules::reconciliation_js;
use super::wire::{cart_fields, Names};
use crate::error::{bad_argument, codes};
use crate::json::Json;
use crate::prelude::*;
use cartsync_core::engine::{Event, Status, SyncError, View};
use cartsync_core::{Command, ErrorBody, Options, Sku};

/// Reads a caller's argument; a mismatch is `bad_request` naming the
/// argument and the field.
pub fn arg<T>(value: &Json, what: &str, read: impl FnOnce(&Json) -> Read<T>) -> Result<T, ErrorBody> {
    read(value).map_err(|Bad(field)| bad_argument([what, ": `", field, "` is missing or has the wrong type"].concat()))
}

/// A string argument (`applyCoupon(code)`, ...).
pub fn string_arg(value: &Json, what: &str) -> Result<String, ErrorBody> {
    super::json::as_str(value)
        .map(str::to_string)
        .ok_or_else(|| bad_argument([what, ": expected a string"].concat()))
}

fn sku_and_options(v: &Json) -> Read<(Sku, Options)> {
    Ok((Sku(string(v, "sku")?), options(v, "options")?))
}

/// `addItem({sku, quantity = 1, options = {}})`.
pub fn add_item(v: &Json) -> Read<Command> {
    let (sku, options) = sku_and_options(v)?;
    let quantity = super::json::int_or(v, "quantity", 1)?;
    Ok(Command::AddItem { sku, quantity, options })
}

/// `setQuantity({sku, options, quantity})`.
pub fn set_quantity(v: &Json) -> Read<Command> {
    let (sku, options) = sku_and_options(v)?;
    let quantity = super::json::int(v, "quantity")?;
    Ok(Command::SetQuantity { sku, options, quantity })
}

/// `removeItem({sku, options})`.
pub fn remove_item(v: &Json) -> Read<Command> {
    let (sku, options) = sku_and_options(v)?;
    Ok(Command::RemoveItem { sku, options })
}

/// `checkout({idempotencyKey})` (the argument itself may be left out).
pub fn idempotency_key(v: &Json) -> Read<Option<String>> {
    match v {
        Json::Null => return Ok(None),
        Json::Obj(_) => {}
        _ => return Err(Bad("options")),
    }
    opt_string(v, "idempotencyKey")
}

fn sync_error_js(e: &SyncError) -> Json {
    match e {
        SyncError::Unreachable { attempts } => Obj::new().set("code", codes::NETWORK_ERROR).set(
            "message",
            [
                "the server could not be reached (",
                &cartsync_core::text::decimal(*attempts as u64),
                " attempts in a row)",
            ]
            .concat(),
        ),
        SyncError::Refused { error } => Obj::new()
            .set("code", error.code.as_str())
            .set("message", error.message.as_str()),
    }
    .done()
}

/// `view()`: `{version, lines, coupons, shippingOption, totals, pending,
/// status, lastError}`.
pub fn view_js(view: &View) -> Json {
    let status = match view.status {
        Status::Synced => "synced",
        Status::Syncing => "syncing",
        Status::Offline => "offline",
        Status::Error => "error",
    };
    cart_fields(Obj::new(), &view.cart, Names::Api)
        .set("pending", num(view.pending as u64))
        .set("status", status)
        .set("lastError", view.last_error.as_ref().map_or(Json::Null, sync_error_js))
        .done()
}

/// An engine event as the `{type, ...}` object listeners receive.
pub fn event_js(event: &Event) -> Json {
    match event {
        Event::Rejected { mutation, error, line } => Obj::new()
            .set("type", "rejected")
            .set("mutationId", id_js(&mutation.id))
            .set("command", mutation.command.name())
            .set("code", error.code.as_str())
            .set("message", error.message.as_str())
            .set(
                "line",
                line.as_ref().map_or(Json::Null, |(sku, options)| {
                    Obj::new()
                        .set("sku", sku.as_str())
                        .set("options", options_js(options))
                        .done()
                }),
            ),
        Event::Reconciled(changes) => Obj::new()
            .set("type", "reconciled")
            .set("changes", array(changes, reconciliation_js)),
        Event::Conflict { server_version } => Obj::new()
            .set("type", "conflict")
            .set("serverVersion", num(*server_version)),
        Event::Expired { mutation, created_at } => Obj::new()
            .set("type", "expired")
            .set("mutationId", id_js(&mutation.id))
            .set("command", mutation.command.name())
            .set("createdAt", num(*created_at)),
        Event::CartReplaced { error, .. } => Obj::new()
            .set("type", "cartReplaced")
            .set("code", error.code.as_str())
            .set("message", error.message.as_str()),
    }
    .done()
}
