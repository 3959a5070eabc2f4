//! Inputs the fuzz targets (fuzz/) found, kept as regression tests.

use cartsync_core::{decide_batch, rebase, Cart, Command, Limits, Mutation, MutationId, MutationStatus};
use std::collections::BTreeMap;

fn m(n: u8, command: Command) -> Mutation {
    Mutation {
        id: MutationId::from_random_bytes([n; 16]),
        base_version: None,
        command,
    }
}

/// decide_rebase, seed-edge-version-max: a cart at u64::MAX applied an
/// add and wrapped its version around to 0 (a panic with overflow checks).
/// Such a cart now takes no more changes: `cart_closed`, version kept.
#[test]
fn a_cart_at_the_last_version_takes_no_more_changes() {
    let cart = Cart {
        version: u64::MAX,
        ..Cart::default()
    };
    let limits = Limits::default();
    let d = decide_batch(
        &cart,
        &BTreeMap::new(),
        &[m(1, Command::add("tee", 1))],
        &limits,
        &(),
        7,
    )
    .unwrap();
    assert_eq!(d.results[0].status, MutationStatus::Rejected);
    assert_eq!(d.results[0].error.as_ref().unwrap().code, "cart_closed");
    assert_eq!(d.cart, cart);
    assert!(d.events.is_empty());
    // One version before the end still applies.
    let cart = Cart {
        version: u64::MAX - 1,
        ..Cart::default()
    };
    let d = decide_batch(
        &cart,
        &BTreeMap::new(),
        &[m(1, Command::add("tee", 1))],
        &limits,
        &(),
        7,
    )
    .unwrap();
    assert_eq!(d.results[0].version, u64::MAX);
    let (rebased, _) = rebase(&cart, &[m(2, Command::add("tee", 1))], &limits);
    assert_eq!(rebased.version, cart.version);
}
