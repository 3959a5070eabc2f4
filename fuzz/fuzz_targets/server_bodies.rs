//! The server's request bodies and headers, through the code the handlers
//! run: the shape check and the field-path parser (`http::json`), then for
//! a mutations body the core's `decide_batch` with the server's catalog
//! check on a cart with lines and records, and pricing; for a checkout body
//! the expected total; for attach the bearer token (`auth::Jwt::verify`)
//! and the cart token (`tokens::hash`); the admin bodies. Input: one
//! selector byte, then the body (or header) bytes.
//!
//! Invariants beyond "no panic": a body that parses also passes the shape
//! check's contract (an object); a decision answers at most one result per
//! mutation, its applied versions count up by one from the cart's, its
//! events replay from the cart to the decided cart, and pricing never
//! mixes currencies.
#![no_main]

use cartsync_core::protocol::v1::{CheckoutRequest, MutationsRequest};
use cartsync_core::{decide_batch, replay, Cart, Command, IdempotencyRecord, Limits, MutationId, MutationStatus};
use cartsync_server::auth::Jwt;
use cartsync_server::catalog::{price_cart, CatalogCheck, DemoCatalog, Pricing};
use cartsync_server::http::json::{check_shape, parse, Body};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::OnceLock;

struct Fixture {
    catalog: DemoCatalog,
    limits: Limits,
    cart: Cart,
    log: BTreeMap<MutationId, IdempotencyRecord>,
    jwt: Jwt,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let limits = Limits::default();
        let mut cart = Cart::default();
        for (sku, q) in [("tee-black", 2), ("mug-enamel", 1)] {
            cart = cartsync_core::apply(&cart, &Command::add(sku, q), &limits).expect("fixture");
            cart.version += 1;
        }
        let mut log = BTreeMap::new();
        // A recorded id (the seed corpus resends it: a duplicate).
        let id = MutationId::parse("00000000-0000-4000-8000-000000000001").expect("uuid");
        log.insert(
            id,
            IdempotencyRecord {
                command: Command::add("tee-black", 1),
                result: cartsync_core::MutationResult {
                    id,
                    status: MutationStatus::Applied,
                    version: 1,
                    error: None,
                },
            },
        );
        Fixture {
            catalog: DemoCatalog::bundled().expect("bundled catalog"),
            limits,
            cart,
            log,
            jwt: Jwt::new("fuzz-secret"),
        }
    })
}

/// What the extractor does: the shape check, then the parser.
fn body<T: Body>(bytes: &[u8]) -> Option<T> {
    check_shape(bytes, T::OBJECT_FIELDS, T::ARRAYS_OF_OBJECTS).ok()?;
    let parsed = parse::<T>(bytes);
    if parsed.is_ok() {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        assert_eq!(first, Some(&b'{'), "a body that is not an object parsed");
    }
    parsed.ok()
}

fn mutations(f: &Fixture, bytes: &[u8]) {
    let Some(req) = body::<MutationsRequest>(bytes) else { return };
    let check = CatalogCheck(&f.catalog, &f.limits);
    let Ok(d) = decide_batch(&f.cart, &f.log, &req.mutations, &f.limits, &check, 1_000) else {
        assert!(req.mutations.len() > f.limits.max_batch);
        return;
    };
    assert!(d.results.len() <= req.mutations.len());
    let mut version = f.cart.version;
    for r in &d.results {
        if r.status == MutationStatus::Applied {
            version += 1;
            assert_eq!(r.version, version, "applied versions count up by one");
        }
    }
    assert_eq!(d.cart.version, version);
    assert_eq!(d.events.len() as u64, version - f.cart.version);
    let replayed = replay(&f.cart, &d.events, &f.limits).expect("decided events replay");
    assert_eq!(replayed.lines, d.cart.lines);
    assert_eq!(replayed.coupons, d.cart.coupons);
    assert!(d.cart.lines.len() <= f.limits.max_lines);
    let priced = price_cart(&d.cart, &f.catalog);
    let currency = f.catalog.currency();
    for m in [&priced.totals.subtotal, &priced.totals.discount, &priced.totals.estimated_total] {
        assert_eq!(m.currency, currency);
    }
    let _ = serde_json::to_vec(&priced.view).expect("the view serialises");
}

fn attach(f: &Fixture, bytes: &[u8]) {
    // "<cart token>\n<Authorization header value>"
    let text = String::from_utf8_lossy(bytes);
    let (token, auth) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(hash) = cartsync_server::tokens::hash(token) {
        assert_eq!(token.len(), cartsync_server::tokens::TOKEN_LEN);
        assert_eq!(hash, cartsync_server::tokens::sha256(token.as_bytes()));
    }
    if let Some(bearer) = auth.strip_prefix("Bearer ") {
        if let Ok(claims) = f.jwt.verify(bearer.trim(), 1_000) {
            // Only what the key signed verifies: the same claims issue
            // the same token.
            assert_eq!(f.jwt.issue(&claims.sub, claims.exp), bearer.trim());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let f = fixture();
    match selector % 6 {
        0 | 1 => mutations(f, rest),
        2 => {
            if let Some(req) = body::<CheckoutRequest>(rest) {
                let _ = req.expected_total == price_cart(&f.cart, &f.catalog).totals.estimated_total;
            }
        }
        3 => attach(f, rest),
        4 => {
            let _ = body::<cartsync_server::http::admin::LoginRequest>(rest);
        }
        _ => {
            let _ = body::<cartsync_server::http::admin::CouponBody>(rest);
            let _ = body::<cartsync_server::catalog::ProductUpdate>(rest);
        }
    }
});
