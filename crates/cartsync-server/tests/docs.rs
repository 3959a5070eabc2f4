//! The protocol docs name every route and every error code the server can
//! send, so a new code cannot ship undocumented.

const ROUTES: &[&str] = &[
    "/api/v1/carts",
    "/api/v1/carts/{token}",
    "/api/v1/carts/{token}/mutations",
    "/api/v1/carts/{token}/events",
    "/api/v1/carts/{token}/attach",
    "/api/v1/carts/{token}/checkout",
    "/api/v1/catalog",
    "/api/v1/orders/{id}",
    "/api/v1/payments/{provider}/callback",
    "/api/v1/dev/login",
    "/api/v1/admin/catalog/{sku}",
    "/api/v1/admin/coupons/{code}",
    "/api/v1/admin/cache/flush",
    "/api/v1/admin/tax/{country}",
    "/api/v1/admin/orders/{id}/transfer",
    "/healthz",
    "/metrics",
];

const SERVER_CODES: &[&str] = &[
    "bad_request",
    "too_many_mutations",
    "payload_too_large",
    "unauthorized",
    "forbidden",
    "cart_not_found",
    "not_found",
    "unknown_sku",
    "cart_merged",
    "version_conflict",
    "cart_closed",
    "cart_empty",
    "checkout_revalidation_failed",
    "busy",
    "store_unavailable",
    "cache_unavailable",
    "internal",
    "method_not_allowed",
    "request_timeout",
    "payment_unavailable",
    "order_not_found",
    "payment_intent_not_found",
    "signature_invalid",
    "signature_expired",
    "callback_replayed",
    "event_id_reused",
];

/// The core's codes the server sends (all but `mutation_expired`, which
/// only the browser SDK raises, for a mutation it never sent).
fn core_codes() -> impl Iterator<Item = &'static str> {
    cartsync_core::CartError::CODES
        .iter()
        .copied()
        .filter(|c| *c != "mutation_expired")
}

fn doc(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn protocol_md_and_openapi_cover_every_route_and_code() {
    for name in ["protocol.md", "openapi.yaml"] {
        let text = doc(name);
        for route in ROUTES {
            let needle = if name == "openapi.yaml" {
                format!("{route}:")
            } else {
                route.to_string()
            };
            assert!(text.contains(&needle), "{name} lacks route {route}");
        }
        for code in SERVER_CODES.iter().copied().chain(core_codes()) {
            assert!(text.contains(code), "{name} lacks code {code}");
        }
        for code in [
            "price_changed",
            "out_of_stock",
            "coupon_rejected",
            "total_changed",
            "shipping_unavailable",
            "tax_changed",
            "pending_payment",
            "payment_failed",
            "expired",
            "requires_action",
            "refund_due",
        ] {
            assert!(text.contains(code), "{name} lacks {code}");
        }
    }
}
