//! The engine's storage records as JSON text in localStorage. The shapes
//! are the core's serde shapes: records written by earlier versions of the
//! SDK still load.

use super::json::{field, num, object, opt_str, opt_string, string, uint, Bad, Obj, Read};
use super::wire::{cart_view, cart_view_js, error_body, error_body_js, mutation, mutation_js};
use crate::json::Json;
use cartsync_core::engine::{ServerCart, Settled, StoredMutation, TokenRecord};

/// A stored JSON string read with `read` (`None` if it does not parse: a
/// corrupt entry is skipped, never a panic).
pub fn from_json<T>(text: &str, read: fn(&Json) -> Read<T>) -> Option<T> {
    read(&Json::parse(text)?).ok()
}

/// `{mutation, created_at, settled?}`.
pub fn stored_mutation(v: &Json) -> Read<StoredMutation> {
    let settled = match field(v, "settled") {
        None => None,
        Some(s) => Some(match string(s, "kind")?.as_str() {
            "rejected" => Settled::Rejected {
                error: error_body(object(s, "error")?)?,
            },
            "expired" => Settled::Expired,
            _ => return Err(Bad("settled")),
        }),
    };
    Ok(StoredMutation {
        mutation: mutation(object(v, "mutation")?)?,
        created_at: uint(v, "created_at")?,
        settled,
    })
}

pub fn stored_mutation_js(r: &StoredMutation) -> Json {
    let o = Obj::new()
        .set("mutation", mutation_js(&r.mutation))
        .set("created_at", num(r.created_at));
    let settled = match &r.settled {
        None => return o.done(),
        Some(Settled::Rejected { error }) => Obj::new().set("kind", "rejected").set("error", error_body_js(error)),
        Some(Settled::Expired) => Obj::new().set("kind", "expired"),
    };
    o.set("settled", settled).done()
}

/// `{token, generation}` (`token: null` while a new cart is coming).
pub fn token_record(v: &Json) -> Read<TokenRecord> {
    Ok(TokenRecord {
        token: opt_string(v, "token")?,
        generation: uint(v, "generation")?,
    })
}

pub fn token_record_js(r: &TokenRecord) -> Json {
    Obj::new()
        .set("token", opt_str(r.token.as_deref()))
        .set("generation", num(r.generation))
        .done()
}

/// `{token, cart}`: the last server cart, tagged with its token.
pub fn server_cart(v: &Json) -> Read<ServerCart> {
    Ok(ServerCart {
        token: string(v, "token")?,
        cart: cart_view(object(v, "cart")?)?,
    })
}

pub fn server_cart_js(s: &ServerCart) -> Json {
    Obj::new()
        .set("token", s.token.as_str())
        .set("cart", cart_view_js(&s.cart))
        .done()
}
