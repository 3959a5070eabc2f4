//! The conformance suite every [`CartStore`] backend must pass (the model is
//! object_store's `integration.rs`): each check is a public async function
//! taking a fresh, empty store and panicking with a message on failure, and
//! each backend's test file runs every one as its own `#[test]` through
//! [`store_conformance_tests!`](crate::store_conformance_tests), so one
//! failure never hides the rest.

use super::{BatchCommit, CartStore, MergeCommit, MergeTarget, Quote, Revision, StoreError, TokenHash};
use crate::store::CartState;
use cartsync_core::protocol::v1::Order;
use cartsync_core::{decide_batch, merge, replay, Cart, Command, Limits, Money, Mutation, MutationId, Sku, Totals};
use std::collections::BTreeMap;

mod accounts;
mod concurrency;
mod orders;
mod payments;

pub use accounts::*;
pub use concurrency::*;
pub use orders::*;
use orders::{order, place};
pub use payments::*;

/// One `#[tokio::test]` per conformance check. `$make` is an async block
/// or expression evaluating to a fresh, empty `Arc<dyn CartStore>`-like
/// value (anything whose `as_ref()` is a `&dyn CartStore`), built anew for
/// every check.
///
/// ```ignore
/// cartsync_server::store_conformance_tests!(async { fresh_store().await });
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@each $make;
            create_and_load,
            batch_commits_together,
            stale_commit_conflicts,
            commit_on_a_revision,
            merge_into_new_account_cart,
            merge_into_existing_is_conditional,
            reattach_mints_a_token_for_the_account_cart,
            order_closes_once,
            order_holds_its_stock_all_or_nothing,
            concurrent_orders_of_the_last_unit,
            payment_intent_is_kept_per_key,
            captured_payment_marks_paid_and_keeps_the_stock,
            failed_payment_releases_the_stock_at_once,
            payment_events_apply_once,
            expired_holds_are_released,
            payment_racing_expiry_keeps_stock_consistent,
            expiry,
            replay_and_repair,
            updated_carts_page_in_order,
            recovery_lock_is_exclusive,
            concurrent_writers,
            one_mutation_id_applies_once_under_concurrency,
        );
    };
    (@each $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = $make;
                $crate::store::conformance::$check(store.as_ref()).await;
            }
        )*
    };
}

fn token(n: u8) -> TokenHash {
    [n; 32]
}

fn mid(n: u128) -> MutationId {
    MutationId(uuid::Uuid::from_u128(n))
}

fn add(n: u128, sku: &str, q: i64) -> Mutation {
    Mutation {
        id: mid(n),
        base_version: None,
        command: Command::add(sku, q),
    }
}

fn quote(sku: &str, amount: i64) -> Quote {
    Quote {
        sku: Sku::new(sku),
        options: Default::default(),
        unit_price: Money::new(amount, "EUR"),
    }
}

/// Reads, decides with the core and commits one batch.
async fn commit(store: &dyn CartStore, id: i64, batch: &[Mutation], now: u64) -> Result<Cart, StoreError> {
    let record = store.load(id).await?;
    let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
    let log = store.idempotency_records(id, &ids).await?;
    let d = decide_batch(&record.cart, &log, batch, &Limits::default(), &(), now).expect("batch within limits");
    store
        .commit_batch(BatchCommit::new(id, record.cart.version, &d, &[quote("tee", 100)], now))
        .await?;
    Ok(d.cart)
}

pub async fn create_and_load(s: &dyn CartStore) {
    s.ping().await.expect("ping");
    let r = s.create_cart(&token(1), 10).await.expect("create");
    assert_eq!(r.cart.version, 0);
    assert_eq!(r.state, CartState::Open);
    assert_eq!(s.load_by_token(&token(1)).await.expect("load by token").id, r.id);
    assert_eq!(s.load(r.id).await.expect("load").cart, r.cart);
    assert!(matches!(s.load_by_token(&token(2)).await, Err(StoreError::NotFound)));
    assert!(matches!(s.load(r.id + 1000).await, Err(StoreError::NotFound)));
    let head = s.head(&token(1)).await.expect("head");
    assert_eq!((head.id, head.version, head.merged), (r.id, 0, false));
    assert!(matches!(s.head(&token(2)).await, Err(StoreError::NotFound)));
    let other = s.create_cart(&token(2), 10).await.expect("second cart");
    assert_ne!(other.id, r.id);
    assert!(
        s.create_cart(&token(1), 10).await.is_err(),
        "a token hash opens one cart"
    );
}

pub async fn batch_commits_together(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    let cart = commit(s, r.id, &[add(1, "tee", 2), add(2, "mug", 1), add(3, "bad sku", 1)], 20)
        .await
        .expect("commit");
    assert_eq!(cart.version, 2);
    let loaded = s.load(r.id).await.expect("load");
    assert_eq!(loaded.cart, cart);
    assert_eq!(loaded.quotes, vec![quote("tee", 100)]);
    let events = s.events(r.id, 0, 100).await.expect("events");
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(events[0].mutation_id, Some(mid(1)));
    assert_eq!(events[1].command, Some(Command::add("mug", 1)));
    assert_eq!(s.events(r.id, 1, 100).await.expect("events after").len(), 1);
    assert_eq!(s.events(r.id, 0, 1).await.expect("limit").len(), 1);
    let records = s
        .idempotency_records(r.id, &[mid(1), mid(2), mid(3), mid(4)])
        .await
        .expect("records");
    assert_eq!(records.len(), 3, "applied and rejected are both recorded");
    assert!(records[&mid(3)].result.error.is_some());
    // The same ids again are duplicates: nothing to write.
    let again = commit(s, r.id, &[add(1, "tee", 2)], 30).await.expect("duplicate");
    assert_eq!(again.version, 2);
    // Idempotency records are per cart.
    let other = s.create_cart(&token(2), 10).await.expect("create");
    assert!(s
        .idempotency_records(other.id, &[mid(1)])
        .await
        .expect("records")
        .is_empty());
}

pub async fn stale_commit_conflicts(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    let stale = s.load(r.id).await.expect("load");
    commit(s, r.id, &[add(1, "tee", 1)], 20).await.expect("first");
    let d = decide_batch(
        &stale.cart,
        &BTreeMap::new(),
        &[add(2, "mug", 1)],
        &Limits::default(),
        &(),
        30,
    )
    .expect("decide");
    match s.commit_batch(BatchCommit::new(r.id, 0, &d, &[], 30)).await {
        Err(StoreError::VersionConflict { expected: 0, found: 1 }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(s.events(r.id, 0, 100).await.expect("events").len(), 1);
    assert!(s
        .idempotency_records(r.id, &[mid(2)])
        .await
        .expect("records")
        .is_empty());
    assert_eq!(s.load(r.id).await.expect("load").cart.version, 1);
    // Two batches decided on the same state record the same id; the first
    // only rejects (the version does not move). The second must not fail
    // with a backend error: it is a conflict, to be decided again.
    let state = s.load(r.id).await.expect("load").cart;
    let bad = add(9, "bad sku", 1);
    let first = decide_batch(
        &state,
        &BTreeMap::new(),
        std::slice::from_ref(&bad),
        &Limits::default(),
        &(),
        40,
    )
    .expect("decide");
    let second = decide_batch(&state, &BTreeMap::new(), &[bad], &Limits::default(), &(), 40).expect("decide");
    s.commit_batch(BatchCommit::new(r.id, 1, &first, &[], 40))
        .await
        .expect("first records the rejection");
    assert!(matches!(
        s.commit_batch(BatchCommit::new(r.id, 1, &second, &[], 40)).await,
        Err(StoreError::VersionConflict { .. })
    ));
}

/// Decides `batch` on `cart` without reading the records and commits it on
/// exactly `rev`.
async fn on_revision(
    s: &dyn CartStore,
    id: i64,
    cart: &Cart,
    batch: &[Mutation],
    rev: &Revision,
) -> Result<(Cart, Revision), StoreError> {
    let d = decide_batch(cart, &BTreeMap::new(), batch, &Limits::default(), &(), 20).expect("decide");
    let rev = s
        .commit_batch(BatchCommit::new(id, cart.version, &d, &[], 20).on_revision(rev))
        .await?;
    Ok((d.cart, rev))
}

/// A commit that names a revision (decided on an in-process copy, without
/// reading the records) lands only on exactly that stored state, and a
/// resent mutation id is a conflict, not a second record.
pub async fn commit_on_a_revision(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    let id = r.id;
    let (cart, rev) = on_revision(s, id, &r.cart, &[add(1, "tee", 1)], &r.revision)
        .await
        .expect("on the created revision");
    assert_eq!(
        s.load(r.id).await.expect("load").revision,
        rev,
        "the revision a commit returns is the stored one"
    );
    assert!(matches!(
        on_revision(s, id, &cart, &[add(1, "tee", 1)], &rev).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(
        s.events(r.id, 0, 100).await.expect("events").len(),
        1,
        "a resend writes nothing"
    );
    // A repair rewrites the snapshot at the same version: the old revision
    // no longer matches, the repaired one does.
    let mut repaired = cart.clone();
    repaired.lines.clear();
    s.repair_snapshot(r.id, 1, &repaired).await.expect("repair");
    assert!(matches!(
        on_revision(s, id, &cart, &[add(2, "mug", 1)], &rev).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let now = s.load(r.id).await.expect("load");
    let (after, _) = on_revision(s, id, &now.cart, &[add(2, "mug", 1)], &now.revision)
        .await
        .expect("on the repaired revision");
    assert_eq!((after.version, after.lines.len()), (2, 1));
}
