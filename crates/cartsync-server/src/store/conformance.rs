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
            order_closes_once,
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

async fn merge_commit(
    s: &dyn CartStore,
    anon: i64,
    target: MergeTarget,
    base: &Cart,
    owner: &str,
    tok: u8,
) -> MergeCommit {
    let anonymous = s.load(anon).await.expect("anonymous");
    let (mut merged, report) = merge(base, &anonymous.cart, &Limits::default());
    merged.version = base.version + 1;
    merged.owner = Some(owner.into());
    merged.updated_at = 50;
    MergeCommit {
        anonymous: anon,
        anonymous_version: anonymous.cart.version,
        target,
        merged,
        report,
        quotes: vec![],
        token_hash: token(tok),
        now: 50,
    }
}

pub async fn merge_into_new_account_cart(s: &dyn CartStore) {
    let anon = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, anon.id, &[add(1, "tee", 2)], 20).await.expect("commit");
    assert!(s.find_account_cart("ada").await.expect("find").is_none());
    let base = Cart {
        owner: Some("ada".into()),
        ..Cart::default()
    };
    let m = merge_commit(s, anon.id, MergeTarget::New { owner: "ada".into() }, &base, "ada", 9).await;
    let account = s.commit_merge(&m).await.expect("merge");
    assert_eq!(
        s.load(anon.id).await.expect("anon").state,
        CartState::Merged { into: account }
    );
    let acc = s
        .load_by_token(&token(9))
        .await
        .expect("new token opens the account cart");
    assert_eq!(acc.id, account);
    assert_eq!(acc.cart.owner.as_deref(), Some("ada"));
    assert_eq!(acc.cart.lines, m.merged.lines);
    assert_eq!(
        s.find_account_cart("ada").await.expect("find").map(|c| c.id),
        Some(account)
    );
    let events = s.events(account, 0, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "merge");
    // A second attach that also tries to create the account cart loses.
    let anon2 = s.create_cart(&token(2), 10).await.expect("create");
    let m2 = merge_commit(s, anon2.id, MergeTarget::New { owner: "ada".into() }, &base, "ada", 10).await;
    assert!(matches!(
        s.commit_merge(&m2).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(s.load(anon2.id).await.expect("anon2").state, CartState::Open);
}

pub async fn merge_into_existing_is_conditional(s: &dyn CartStore) {
    let anon = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, anon.id, &[add(1, "tee", 2)], 20).await.expect("commit");
    let first = s.create_cart(&token(3), 10).await.expect("create");
    let base = Cart {
        owner: Some("bo".into()),
        ..Cart::default()
    };
    let m = merge_commit(s, first.id, MergeTarget::New { owner: "bo".into() }, &base, "bo", 4).await;
    let account = s.commit_merge(&m).await.expect("first merge");
    let acc = s.load(account).await.expect("account");
    commit(s, account, &[add(7, "mug", 1)], 30)
        .await
        .expect("account moves on");
    let stale = MergeTarget::Existing {
        id: account,
        expected_version: acc.cart.version,
    };
    let m = merge_commit(s, anon.id, stale, &acc.cart, "bo", 5).await;
    assert!(matches!(
        s.commit_merge(&m).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(
        s.load(anon.id).await.expect("anon").state,
        CartState::Open,
        "nothing half-merged"
    );
    assert!(matches!(s.load_by_token(&token(5)).await, Err(StoreError::NotFound)));
    let acc = s.load(account).await.expect("account");
    let fresh = MergeTarget::Existing {
        id: account,
        expected_version: acc.cart.version,
    };
    let m = merge_commit(s, anon.id, fresh, &acc.cart, "bo", 5).await;
    s.commit_merge(&m).await.expect("merge");
    let merged = s.load(account).await.expect("account");
    assert_eq!(merged.cart.version, acc.cart.version + 1);
    assert_eq!(merged.cart.lines.len(), 2);
}

fn order(id: &str) -> Order {
    Order {
        id: id.into(),
        status: "pending_payment".into(),
        lines: vec![],
        coupons: vec![],
        shipping_option: None,
        totals: Totals {
            subtotal: Money::zero("EUR"),
            discount: Money::zero("EUR"),
            estimated_total: Money::zero("EUR"),
        },
        created_at: 1,
    }
}

pub async fn order_closes_once(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, r.id, &[add(1, "tee", 1)], 20).await.expect("commit");
    assert!(matches!(
        s.commit_order(r.id, 0, "k", &order("o0")).await,
        Err(StoreError::VersionConflict { .. })
    ));
    s.commit_order(r.id, 1, "k", &order("o1")).await.expect("order");
    assert_eq!(s.order_for_key(r.id, "k").await.expect("lookup"), Some(order("o1")));
    assert_eq!(s.order_for_key(r.id, "other").await.expect("lookup"), None);
    assert_eq!(
        s.load(r.id).await.expect("load").state,
        CartState::Closed { order_id: "o1".into() }
    );
    assert!(matches!(
        s.commit_order(r.id, 1, "k2", &order("o2")).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let d = decide_batch(
        &s.load(r.id).await.expect("load").cart,
        &BTreeMap::new(),
        &[add(2, "mug", 1)],
        &Limits::default(),
        &(),
        30,
    )
    .expect("decide");
    assert!(
        matches!(
            s.commit_batch(BatchCommit::new(r.id, 1, &d, &[], 30)).await,
            Err(StoreError::VersionConflict { .. })
        ),
        "closed carts take no mutations"
    );
}

pub async fn expiry(s: &dyn CartStore) {
    let old = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, old.id, &[add(1, "tee", 1)], 10).await.expect("commit");
    let fresh = s.create_cart(&token(2), 1_000).await.expect("create");
    let closed = s.create_cart(&token(3), 10).await.expect("create");
    commit(s, closed.id, &[add(2, "tee", 1)], 10).await.expect("commit");
    s.commit_order(closed.id, 1, "k", &order("o")).await.expect("order");
    let base = Cart {
        owner: Some("cy".into()),
        ..Cart::default()
    };
    let anon = s.create_cart(&token(4), 10).await.expect("create");
    let m = merge_commit(s, anon.id, MergeTarget::New { owner: "cy".into() }, &base, "cy", 5).await;
    let account = s.commit_merge(&m).await.expect("merge");
    let expired = s.expire_anonymous_carts(500).await.expect("expire");
    assert_eq!(expired, 2, "the old open cart and the merged one");
    assert!(matches!(s.load_by_token(&token(1)).await, Err(StoreError::NotFound)));
    assert!(matches!(s.load_by_token(&token(4)).await, Err(StoreError::NotFound)));
    assert_eq!(s.load_by_token(&token(2)).await.expect("fresh").id, fresh.id);
    assert_eq!(s.load_by_token(&token(3)).await.expect("closed").id, closed.id);
    assert_eq!(s.load_by_token(&token(5)).await.expect("account").id, account);
    let r = s.create_cart(&token(6), 10).await.expect("create");
    commit(s, r.id, &[add(3, "tee", 1)], 100).await.expect("commit");
    commit(s, r.id, &[add(4, "tee", 1)], 2_000).await.expect("commit");
    assert_eq!(
        s.expire_idempotency_records(1_000).await.expect("expire records"),
        1 + 1
    );
    assert_eq!(
        s.idempotency_records(r.id, &[mid(3), mid(4)])
            .await
            .expect("records")
            .len(),
        1
    );
}

pub async fn replay_and_repair(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, r.id, &[add(1, "tee", 1), add(2, "mug", 3)], 20)
        .await
        .expect("commit");
    let src = s.replay_source(r.id).await.expect("source");
    assert_eq!(src.events.len(), 2);
    let replayed = replay(&src.base, &src.events, &Limits::default()).expect("replay");
    assert_eq!(replayed, src.snapshot);
    let mut wrong = replayed.clone();
    wrong.lines.clear();
    assert!(matches!(
        s.repair_snapshot(r.id, 1, &wrong).await,
        Err(StoreError::VersionConflict { .. })
    ));
    s.repair_snapshot(r.id, 2, &replayed).await.expect("repair");
    assert_eq!(s.load(r.id).await.expect("load").cart, replayed);
    let ids = s.carts_updated_since(0, None, 10).await.expect("ids");
    assert_eq!(ids.iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![r.id]);
}

/// Four writers append to one cart at once, each retrying its conflicts:
/// every mutation lands exactly once, versions have no gaps.
pub async fn concurrent_writers(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    let per_writer = 25u128;
    let writer = |t: u128| async move {
        for i in 0..per_writer {
            let m = add(1 + t * 1000 + i, "tee", 1);
            loop {
                match commit(s, r.id, std::slice::from_ref(&m), 20).await {
                    Ok(_) => break,
                    Err(StoreError::VersionConflict { .. }) => continue,
                    Err(e) => panic!("commit failed: {e}"),
                }
            }
        }
    };
    tokio::join!(writer(0), writer(1), writer(2), writer(3));
    let cart = s.load(r.id).await.expect("load").cart;
    let total = 4 * per_writer as u64;
    assert_eq!(cart.version, total);
    assert_eq!(cart.total_quantity(), total);
    let events = s.events(r.id, 0, 1000).await.expect("events");
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
}

/// The same mutation id decided twice on the same state and committed at
/// once (a client's retry racing its first send on two instances): one
/// commit lands, the other is a conflict, and the id is recorded once.
pub async fn one_mutation_id_applies_once_under_concurrency(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).await.expect("create");
    for round in 0..10u128 {
        let state = s.load(r.id).await.expect("load");
        let m = add(500 + round, "tee", 1);
        let d1 = decide_batch(
            &state.cart,
            &BTreeMap::new(),
            std::slice::from_ref(&m),
            &Limits::default(),
            &(),
            30,
        )
        .expect("decide");
        let d2 = d1.clone();
        let v = state.cart.version;
        let (a, b) = tokio::join!(
            s.commit_batch(BatchCommit::new(r.id, v, &d1, &[], 30)),
            s.commit_batch(BatchCommit::new(r.id, v, &d2, &[], 30)),
        );
        let landed = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(landed, 1, "exactly one commit of a mutation id lands: {a:?} {b:?}");
        for e in [a, b].into_iter().filter_map(Result::err) {
            assert!(
                matches!(e, StoreError::VersionConflict { .. }),
                "the loser conflicts: {e}"
            );
        }
    }
    let events = s.events(r.id, 0, 100).await.expect("events");
    assert_eq!(events.len(), 10);
    assert_eq!(s.load(r.id).await.expect("load").cart.version, 10);
}

/// The verification pass pages through carts by `(updated_at, id)` from a
/// point in time, and sees a cart again once it is written.
pub async fn updated_carts_page_in_order(s: &dyn CartStore) {
    let a = s.create_cart(&token(1), 100).await.expect("create");
    let b = s.create_cart(&token(2), 200).await.expect("create");
    let c = s.create_cart(&token(3), 200).await.expect("create");
    let all = s.carts_updated_since(0, None, 10).await.expect("page");
    assert_eq!(all, vec![(100, a.id), (200, b.id), (200, c.id)]);
    let first = s.carts_updated_since(150, None, 1).await.expect("page");
    assert_eq!(first, vec![(200, b.id)]);
    let next = s
        .carts_updated_since(150, first.last().copied(), 10)
        .await
        .expect("page");
    assert_eq!(next, vec![(200, c.id)]);
    assert!(s
        .carts_updated_since(150, next.last().copied(), 10)
        .await
        .expect("page")
        .is_empty());
    commit(s, a.id, &[add(1, "tee", 1)], 300).await.expect("commit");
    assert_eq!(
        s.carts_updated_since(250, None, 10).await.expect("page"),
        vec![(300, a.id)]
    );
}

/// One recovery pass at a time: the lock is refused while held and free
/// again once its guard is dropped.
pub async fn recovery_lock_is_exclusive(s: &dyn CartStore) {
    let first = s.recovery_lock().await.expect("lock").expect("free at first");
    assert!(s.recovery_lock().await.expect("lock").is_none(), "held");
    drop(first);
    // Releasing may take a moment (a closed connection's session ends).
    for _ in 0..100 {
        if s.recovery_lock().await.expect("lock").is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the recovery lock was not released");
}
