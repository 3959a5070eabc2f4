//! The core's authority decision and rebase on arbitrary carts and
//! batches. The input is JSON `{"cart", "batch", "log"}` (the seed corpus
//! comes from the golden vectors in tests/fixtures/v1); a cart read from
//! JSON need not satisfy the model's invariants (unsorted options, a
//! version at the top of u64, 500 lines), which is the point.
//!
//! Invariants: neither panics; a decision's applied versions count up by
//! one; its events replay to its cart; what it records is one record per
//! decided new mutation; rebase keeps the server's version and time.
#![no_main]

use cartsync_core::{
    decide_batch, rebase, replay, Cart, IdempotencyRecord, Limits, Mutation, MutationId, MutationStatus,
};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
struct Input {
    cart: Cart,
    #[serde(default)]
    batch: Vec<Mutation>,
    #[serde(default)]
    log: Vec<(MutationId, IdempotencyRecord)>,
    #[serde(default)]
    now: u64,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else { return };
    let limits = Limits::default();
    let log: BTreeMap<_, _> = input.log.into_iter().collect();
    if let Ok(d) = decide_batch(&input.cart, &log, &input.batch, &limits, &(), input.now) {
        assert!(d.results.len() <= input.batch.len());
        let mut version = input.cart.version;
        for r in &d.results {
            if r.status == MutationStatus::Applied {
                version = version.checked_add(1).expect("a version past u64::MAX was applied");
                assert_eq!(r.version, version);
            }
        }
        assert_eq!(d.cart.version, version);
        assert_eq!(d.records.len(), d.results.iter().filter(|r| r.status != MutationStatus::Duplicate).count()
            - d.results.iter().filter(|r| r.error.as_ref().is_some_and(|e| e.code == "idempotency_key_reused")).count());
        if let Ok(replayed) = replay(&input.cart, &d.events, &limits) {
            assert_eq!(replayed.lines, d.cart.lines);
            assert_eq!(replayed.coupons, d.cart.coupons);
            assert_eq!(replayed.version, d.cart.version);
        }
    }
    let (rebased, _) = rebase(&input.cart, &input.batch, &limits);
    assert_eq!(rebased.version, input.cart.version);
    assert_eq!(rebased.updated_at, input.cart.updated_at);
});
