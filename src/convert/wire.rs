//! Protocol v1 shapes (snake_case, as the server and storage write them) to
//! and from JS objects. The field names and optionality mirror the serde
//! derives of `cartsync_core::protocol::v1` and the model; the round-trip
//! tests in tests/web.rs hold the two together.

use super::json::{
    field, id, id_js, int, list, num, object, opt_str, opt_string, opt_uint, options, options_js, signed, string, uint,
    uint32, uint_or, Bad, Obj, Read,
};
use crate::json::Json;
#[cfg(feature = "rules")]
use crate::prelude::*;
#[cfg(feature = "rules")]
use cartsync_core::command::WireCommand;
use cartsync_core::protocol::v1::{CartView, ConflictResponse, CreateCartResponse, LineView, MutationsResponse};
use cartsync_core::{
    Command, Coupon, CouponState, ErrorBody, Money, Mutation, MutationResult, MutationStatus, Sku, Totals,
};

pub fn money(v: &Json) -> Read<Money> {
    Ok(Money {
        amount: int(v, "amount")?,
        currency: string(v, "currency")?,
    })
}

fn opt_money(v: &Json, key: &'static str) -> Read<Option<Money>> {
    field(v, key).map(money).transpose()
}

pub fn money_js(m: &Money) -> Json {
    Obj::new()
        .set("amount", signed(m.amount))
        .set("currency", m.currency.as_str())
        .done()
}

fn opt_money_js(m: Option<&Money>) -> Json {
    m.map_or(Json::Null, money_js)
}

fn totals(v: &Json) -> Read<Totals> {
    Ok(Totals {
        subtotal: money(object(v, "subtotal")?)?,
        discount: money(object(v, "discount")?)?,
        estimated_total: money(object(v, "estimated_total")?)?,
    })
}

/// The field names a cart is written with: protocol v1's snake_case
/// (storage, the wire) or the JS API's camelCase (`view()`, which also
/// leaves out `owner` and `updated_at`). One writer serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Wire,
    Api,
}

impl Names {
    fn pick(self, wire: &'static str, api: &'static str) -> &'static str {
        match self {
            Names::Wire => wire,
            Names::Api => api,
        }
    }
}

fn totals_js(t: &Totals, names: Names) -> Json {
    Obj::new()
        .set("subtotal", money_js(&t.subtotal))
        .set("discount", money_js(&t.discount))
        .set(
            names.pick("estimated_total", "estimatedTotal"),
            money_js(&t.estimated_total),
        )
        .done()
}

pub fn coupon(v: &Json) -> Read<Coupon> {
    let state = match string(v, "state")?.as_str() {
        "pending" => CouponState::Pending,
        "applied" => CouponState::Applied,
        "rejected" => CouponState::Rejected,
        _ => return Err(Bad("state")),
    };
    Ok(Coupon {
        code: string(v, "code")?,
        state,
        reason: opt_string(v, "reason")?,
    })
}

/// `{code, state, reason?}` (`reason` only when set, as serde skips it).
pub fn coupon_js(c: &Coupon) -> Json {
    let state = match c.state {
        CouponState::Pending => "pending",
        CouponState::Applied => "applied",
        CouponState::Rejected => "rejected",
    };
    let o = Obj::new().set("code", c.code.as_str()).set("state", state);
    match &c.reason {
        Some(r) => o.set("reason", r.as_str()).done(),
        None => o.done(),
    }
}

fn line_view(v: &Json) -> Read<LineView> {
    Ok(LineView {
        sku: Sku(string(v, "sku")?),
        options: options(v, "options")?,
        quantity: uint32(v, "quantity")?,
        name: opt_string(v, "name")?,
        unit_price: opt_money(v, "unit_price")?,
        image: opt_string(v, "image")?,
    })
}

fn line_view_js(l: &LineView, names: Names) -> Json {
    Obj::new()
        .set("sku", l.sku.as_str())
        .set("options", options_js(&l.options))
        .set("quantity", l.quantity)
        .set("name", opt_str(l.name.as_deref()))
        .set(
            names.pick("unit_price", "unitPrice"),
            opt_money_js(l.unit_price.as_ref()),
        )
        .set("image", opt_str(l.image.as_deref()))
        .done()
}

pub fn cart_view(v: &Json) -> Read<CartView> {
    Ok(CartView {
        version: uint(v, "version")?,
        owner: opt_string(v, "owner")?,
        lines: list(v, "lines", false, line_view)?,
        coupons: list(v, "coupons", false, coupon)?,
        shipping_option: opt_string(v, "shipping_option")?,
        totals: field(v, "totals").map(totals).transpose()?,
        updated_at: uint_or(v, "updated_at", 0)?,
    })
}

pub fn cart_view_js(c: &CartView) -> Json {
    cart_fields(Obj::new(), c, Names::Wire).done()
}

/// A cart's fields added to `o`, named by `names`.
pub fn cart_fields(o: Obj, c: &CartView, names: Names) -> Obj {
    let wire = names == Names::Wire;
    let mut o = o.set("version", num(c.version));
    if wire {
        o = o.set("owner", opt_str(c.owner.as_deref()));
    }
    o = o
        .set("lines", super::json::array(&c.lines, |l| line_view_js(l, names)))
        .set("coupons", super::json::array(&c.coupons, coupon_js))
        .set(
            names.pick("shipping_option", "shippingOption"),
            opt_str(c.shipping_option.as_deref()),
        )
        .set("totals", c.totals.as_ref().map_or(Json::Null, |t| totals_js(t, names)));
    if wire {
        o = o.set("updated_at", num(c.updated_at));
    }
    o
}

pub fn error_body(v: &Json) -> Read<ErrorBody> {
    Ok(ErrorBody {
        code: string(v, "code")?,
        message: string(v, "message")?,
    })
}

/// An error body from a response, or a made-up one naming the status.
pub fn error_or_status(v: &Json, status: u16) -> ErrorBody {
    error_body(v).unwrap_or_else(|_| ErrorBody {
        code: if status >= 500 { "server_error" } else { "bad_request" }.into(),
        message: ["the server answered ", &cartsync_core::text::decimal(status as u64)].concat(),
    })
}

pub fn error_body_js(e: &ErrorBody) -> Json {
    Obj::new()
        .set("code", e.code.as_str())
        .set("message", e.message.as_str())
        .done()
}

pub fn mutation_result(v: &Json) -> Read<MutationResult> {
    let status = match string(v, "status")?.as_str() {
        "applied" => MutationStatus::Applied,
        "duplicate" => MutationStatus::Duplicate,
        "rejected" => MutationStatus::Rejected,
        _ => return Err(Bad("status")),
    };
    Ok(MutationResult {
        id: id(v, "id")?,
        status,
        version: uint(v, "version")?,
        error: field(v, "error").map(error_body).transpose()?,
    })
}

pub fn mutation_result_js(r: &MutationResult) -> Json {
    let status = match r.status {
        MutationStatus::Applied => "applied",
        MutationStatus::Duplicate => "duplicate",
        MutationStatus::Rejected => "rejected",
    };
    let o = Obj::new()
        .set("id", id_js(&r.id))
        .set("status", status)
        .set("version", num(r.version));
    match &r.error {
        Some(e) => o.set("error", error_body_js(e)).done(),
        None => o.done(),
    }
}

/// A command in its wire form, with the core's message when it is not one
/// (`command `add_item` needs the field `quantity``): what the exported
/// rules answer.
#[cfg(feature = "rules")]
pub fn command_checked(v: &Json) -> Result<Command, String> {
    let read = || -> Read<WireCommand> {
        Ok(WireCommand {
            kind: string(v, "type")?,
            sku: opt_string(v, "sku")?.map(Sku),
            quantity: super::json::opt_int(v, "quantity")?,
            options: field(v, "options")
                .map(|o| super::json::string_map(o, "options"))
                .transpose()?,
            code: opt_string(v, "code")?,
            option: opt_string(v, "option")?,
        })
    };
    let wire = read().map_err(|Bad(f)| ["the command's field `", f, "` is missing or has the wrong type"].concat())?;
    Command::try_from(wire)
}

/// A command as stored or sent (`{type, ...fields}`), read field by field
/// for its type: the client only needs to know that a record is not a
/// command (`Bad("command")`), not the core's message for why, so it skips
/// the `WireCommand` detour. `options` missing or `null` is empty, as there.
pub fn command(v: &Json) -> Read<Command> {
    let bad = |_| Bad("command");
    let sku = || string(v, "sku").map(Sku).map_err(bad);
    let quantity = || super::json::int(v, "quantity").map_err(bad);
    let options = || {
        field(v, "options")
            .map(|o| super::json::string_map(o, "options"))
            .transpose()
            .map(Option::unwrap_or_default)
            .map_err(bad)
    };
    let text = |key| string(v, key).map_err(bad);
    Ok(match string(v, "type").map_err(bad)?.as_str() {
        "add_item" => Command::AddItem {
            sku: sku()?,
            quantity: quantity()?,
            options: options()?,
        },
        "set_quantity" => Command::SetQuantity {
            sku: sku()?,
            options: options()?,
            quantity: quantity()?,
        },
        "remove_item" => Command::RemoveItem {
            sku: sku()?,
            options: options()?,
        },
        "apply_coupon" => Command::ApplyCoupon { code: text("code")? },
        "remove_coupon" => Command::RemoveCoupon { code: text("code")? },
        "select_shipping" => Command::SelectShipping {
            option: text("option")?,
        },
        "clear" => Command::Clear {},
        _ => return Err(Bad("command")),
    })
}

/// `{type, ...fields}` in declaration order, as serde tags it.
pub fn command_js(c: &Command) -> Json {
    let o = Obj::new().set("type", c.name());
    match c {
        Command::AddItem { sku, quantity, options } => o
            .set("sku", sku.as_str())
            .set("quantity", signed(*quantity))
            .set("options", options_js(options)),
        Command::SetQuantity { sku, options, quantity } => o
            .set("sku", sku.as_str())
            .set("options", options_js(options))
            .set("quantity", signed(*quantity)),
        Command::RemoveItem { sku, options } => o.set("sku", sku.as_str()).set("options", options_js(options)),
        Command::ApplyCoupon { code } | Command::RemoveCoupon { code } => o.set("code", code.as_str()),
        Command::SelectShipping { option } => o.set("option", option.as_str()),
        Command::Clear {} => o,
    }
    .done()
}

pub fn mutation(v: &Json) -> Read<Mutation> {
    Ok(Mutation {
        id: id(v, "id")?,
        base_version: opt_uint(v, "base_version")?,
        command: command(object(v, "command")?)?,
    })
}

pub fn mutation_js(m: &Mutation) -> Json {
    Obj::new()
        .set("id", id_js(&m.id))
        .set("base_version", m.base_version.map_or(Json::Null, num))
        .set("command", command_js(&m.command))
        .done()
}

/// `POST /carts` → 201.
pub fn created(v: &Json) -> Read<CreateCartResponse> {
    Ok(CreateCartResponse {
        token: string(v, "token")?,
        cart: cart_view(object(v, "cart")?)?,
    })
}

/// `POST /carts/{token}/mutations` → 200.
pub fn mutations_response(v: &Json) -> Read<MutationsResponse> {
    Ok(MutationsResponse {
        cart: cart_view(object(v, "cart")?)?,
        results: list(v, "results", true, mutation_result)?,
    })
}

/// `409 version_conflict`.
pub fn conflict(v: &Json) -> Read<ConflictResponse> {
    Ok(ConflictResponse {
        code: string(v, "code")?,
        message: string(v, "message")?,
        cart: cart_view(object(v, "cart")?)?,
        results: list(v, "results", false, mutation_result)?,
    })
}

/// `POST /carts/{token}/mutations` request body.
pub fn mutations_request_js(mutations: &[Mutation]) -> Json {
    Obj::new()
        .set("mutations", super::json::array(mutations, mutation_js))
        .done()
}

/// `POST /carts/{token}/checkout` request body.
pub fn checkout_request_js(expected_total: &Money) -> Json {
    Obj::new().set("expected_total", money_js(expected_total)).done()
}
