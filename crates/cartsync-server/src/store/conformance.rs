//! The conformance suite every [`CartStore`] backend must pass (the model is
//! object_store's `integration.rs`). A backend's test calls [`run_all`] with
//! a factory of fresh, empty stores; each check panics with a message on
//! failure.

use super::{BatchCommit, CartStore, MergeCommit, MergeTarget, Quote, StoreError, TokenHash};
use crate::store::CartState;
use cartsync_core::protocol::v1::Order;
use cartsync_core::{decide_batch, merge, replay, Cart, Command, Limits, Money, Mutation, MutationId, Sku, Totals};
use std::collections::BTreeMap;

/// One conformance check: panics on failure.
pub type Check = fn(&dyn CartStore);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("create_and_load", create_and_load),
    (
        "batch_commits_snapshot_events_and_records_together",
        batch_commits_together,
    ),
    ("stale_commit_conflicts_and_writes_nothing", stale_commit_conflicts),
    ("commit_on_a_revision_is_exact", commit_on_a_revision),
    ("merge_into_new_account_cart", merge_into_new_account_cart),
    (
        "merge_into_existing_account_cart_is_conditional",
        merge_into_existing_is_conditional,
    ),
    ("order_closes_the_cart_once", order_closes_once),
    ("expiry_spares_account_and_closed_carts", expiry),
    ("replay_source_and_repair", replay_and_repair),
    ("concurrent_writers_lose_nothing", concurrent_writers),
];

/// Runs every check, each on a fresh store from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn CartStore>) {
    for (name, check) in CHECKS {
        let store = make();
        eprintln!("conformance: {name}");
        check(store.as_ref());
    }
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
fn commit(store: &dyn CartStore, id: i64, batch: &[Mutation], now: u64) -> Result<Cart, StoreError> {
    let record = store.load(id)?;
    let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
    let log = store.idempotency_records(id, &ids)?;
    let d = decide_batch(&record.cart, &log, batch, &Limits::default(), &(), now).expect("batch within limits");
    store.commit_batch(BatchCommit::new(id, record.cart.version, &d, &[quote("tee", 100)], now))?;
    Ok(d.cart)
}

fn create_and_load(s: &dyn CartStore) {
    s.ping().expect("ping");
    let r = s.create_cart(&token(1), 10).expect("create");
    assert_eq!(r.cart.version, 0);
    assert_eq!(r.state, CartState::Open);
    assert_eq!(s.load_by_token(&token(1)).expect("load by token").id, r.id);
    assert_eq!(s.load(r.id).expect("load").cart, r.cart);
    assert!(matches!(s.load_by_token(&token(2)), Err(StoreError::NotFound)));
    assert!(matches!(s.load(r.id + 1000), Err(StoreError::NotFound)));
    let head = s.head(&token(1)).expect("head");
    assert_eq!((head.id, head.version, head.merged), (r.id, 0, false));
    assert!(matches!(s.head(&token(2)), Err(StoreError::NotFound)));
    let other = s.create_cart(&token(2), 10).expect("second cart");
    assert_ne!(other.id, r.id);
    assert!(s.create_cart(&token(1), 10).is_err(), "a token hash opens one cart");
}

fn batch_commits_together(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    let cart = commit(s, r.id, &[add(1, "tee", 2), add(2, "mug", 1), add(3, "bad sku", 1)], 20).expect("commit");
    assert_eq!(cart.version, 2);
    let loaded = s.load(r.id).expect("load");
    assert_eq!(loaded.cart, cart);
    assert_eq!(loaded.quotes, vec![quote("tee", 100)]);
    let events = s.events(r.id, 0, 100).expect("events");
    assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(events[0].mutation_id, Some(mid(1)));
    assert_eq!(events[1].command, Some(Command::add("mug", 1)));
    assert_eq!(s.events(r.id, 1, 100).expect("events after").len(), 1);
    assert_eq!(s.events(r.id, 0, 1).expect("limit").len(), 1);
    let records = s
        .idempotency_records(r.id, &[mid(1), mid(2), mid(3), mid(4)])
        .expect("records");
    assert_eq!(records.len(), 3, "applied and rejected are both recorded");
    assert!(records[&mid(3)].result.error.is_some());
    // The same ids again are duplicates: nothing to write.
    let again = commit(s, r.id, &[add(1, "tee", 2)], 30).expect("duplicate");
    assert_eq!(again.version, 2);
    // Idempotency records are per cart.
    let other = s.create_cart(&token(2), 10).expect("create");
    assert!(s.idempotency_records(other.id, &[mid(1)]).expect("records").is_empty());
}

fn stale_commit_conflicts(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    let stale = s.load(r.id).expect("load");
    commit(s, r.id, &[add(1, "tee", 1)], 20).expect("first");
    let d = decide_batch(
        &stale.cart,
        &BTreeMap::new(),
        &[add(2, "mug", 1)],
        &Limits::default(),
        &(),
        30,
    )
    .expect("decide");
    match s.commit_batch(BatchCommit::new(r.id, 0, &d, &[], 30)) {
        Err(StoreError::VersionConflict { expected: 0, found: 1 }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(s.events(r.id, 0, 100).expect("events").len(), 1);
    assert!(s.idempotency_records(r.id, &[mid(2)]).expect("records").is_empty());
    assert_eq!(s.load(r.id).expect("load").cart.version, 1);
    // Two batches decided on the same state record the same id; the first
    // only rejects (the version does not move). The second must not fail
    // with a backend error: it is a conflict, to be decided again.
    let state = s.load(r.id).expect("load").cart;
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
        .expect("first records the rejection");
    assert!(matches!(
        s.commit_batch(BatchCommit::new(r.id, 1, &second, &[], 40)),
        Err(StoreError::VersionConflict { .. })
    ));
}

/// A commit that names a revision (decided on an in-process copy, without
/// reading the records) lands only on exactly that stored state, and a
/// resent mutation id is a conflict, not a second record.
fn commit_on_a_revision(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    let on = |cart: &Cart, batch: &[Mutation], rev| {
        let d = decide_batch(cart, &BTreeMap::new(), batch, &Limits::default(), &(), 20).expect("decide");
        s.commit_batch(BatchCommit::new(r.id, cart.version, &d, &[], 20).on_revision(rev))
            .map(|rev| (d.cart, rev))
    };
    let (cart, rev) = on(&r.cart, &[add(1, "tee", 1)], &r.revision).expect("on the created revision");
    assert_eq!(
        s.load(r.id).expect("load").revision,
        rev,
        "the revision a commit returns is the stored one"
    );
    assert!(matches!(
        on(&cart, &[add(1, "tee", 1)], &rev),
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(
        s.events(r.id, 0, 100).expect("events").len(),
        1,
        "a resend writes nothing"
    );
    // A repair rewrites the snapshot at the same version: the old revision
    // no longer matches, the repaired one does.
    let mut repaired = cart.clone();
    repaired.lines.clear();
    s.repair_snapshot(r.id, 1, &repaired).expect("repair");
    assert!(matches!(
        on(&cart, &[add(2, "mug", 1)], &rev),
        Err(StoreError::VersionConflict { .. })
    ));
    let now = s.load(r.id).expect("load");
    let (after, _) = on(&now.cart, &[add(2, "mug", 1)], &now.revision).expect("on the repaired revision");
    assert_eq!((after.version, after.lines.len()), (2, 1));
}

fn merge_commit(s: &dyn CartStore, anon: i64, target: MergeTarget, base: &Cart, owner: &str, tok: u8) -> MergeCommit {
    let anonymous = s.load(anon).expect("anonymous");
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

fn merge_into_new_account_cart(s: &dyn CartStore) {
    let anon = s.create_cart(&token(1), 10).expect("create");
    commit(s, anon.id, &[add(1, "tee", 2)], 20).expect("commit");
    assert!(s.find_account_cart("ada").expect("find").is_none());
    let base = Cart {
        owner: Some("ada".into()),
        ..Cart::default()
    };
    let m = merge_commit(s, anon.id, MergeTarget::New { owner: "ada".into() }, &base, "ada", 9);
    let account = s.commit_merge(&m).expect("merge");
    assert_eq!(
        s.load(anon.id).expect("anon").state,
        CartState::Merged { into: account }
    );
    let acc = s.load_by_token(&token(9)).expect("new token opens the account cart");
    assert_eq!(acc.id, account);
    assert_eq!(acc.cart.owner.as_deref(), Some("ada"));
    assert_eq!(acc.cart.lines, m.merged.lines);
    assert_eq!(s.find_account_cart("ada").expect("find").map(|c| c.id), Some(account));
    let events = s.events(account, 0, 10).expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "merge");
    // A second attach that also tries to create the account cart loses.
    let anon2 = s.create_cart(&token(2), 10).expect("create");
    let m2 = merge_commit(s, anon2.id, MergeTarget::New { owner: "ada".into() }, &base, "ada", 10);
    assert!(matches!(s.commit_merge(&m2), Err(StoreError::VersionConflict { .. })));
    assert_eq!(s.load(anon2.id).expect("anon2").state, CartState::Open);
}

fn merge_into_existing_is_conditional(s: &dyn CartStore) {
    let anon = s.create_cart(&token(1), 10).expect("create");
    commit(s, anon.id, &[add(1, "tee", 2)], 20).expect("commit");
    let first = s.create_cart(&token(3), 10).expect("create");
    let base = Cart {
        owner: Some("bo".into()),
        ..Cart::default()
    };
    let m = merge_commit(s, first.id, MergeTarget::New { owner: "bo".into() }, &base, "bo", 4);
    let account = s.commit_merge(&m).expect("first merge");
    let acc = s.load(account).expect("account");
    commit(s, account, &[add(7, "mug", 1)], 30).expect("account moves on");
    let stale = MergeTarget::Existing {
        id: account,
        expected_version: acc.cart.version,
    };
    let m = merge_commit(s, anon.id, stale, &acc.cart, "bo", 5);
    assert!(matches!(s.commit_merge(&m), Err(StoreError::VersionConflict { .. })));
    assert_eq!(
        s.load(anon.id).expect("anon").state,
        CartState::Open,
        "nothing half-merged"
    );
    assert!(matches!(s.load_by_token(&token(5)), Err(StoreError::NotFound)));
    let acc = s.load(account).expect("account");
    let fresh = MergeTarget::Existing {
        id: account,
        expected_version: acc.cart.version,
    };
    let m = merge_commit(s, anon.id, fresh, &acc.cart, "bo", 5);
    s.commit_merge(&m).expect("merge");
    let merged = s.load(account).expect("account");
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

fn order_closes_once(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    commit(s, r.id, &[add(1, "tee", 1)], 20).expect("commit");
    assert!(matches!(
        s.commit_order(r.id, 0, "k", &order("o0")),
        Err(StoreError::VersionConflict { .. })
    ));
    s.commit_order(r.id, 1, "k", &order("o1")).expect("order");
    assert_eq!(s.order_for_key(r.id, "k").expect("lookup"), Some(order("o1")));
    assert_eq!(s.order_for_key(r.id, "other").expect("lookup"), None);
    assert_eq!(
        s.load(r.id).expect("load").state,
        CartState::Closed { order_id: "o1".into() }
    );
    assert!(matches!(
        s.commit_order(r.id, 1, "k2", &order("o2")),
        Err(StoreError::VersionConflict { .. })
    ));
    let d = decide_batch(
        &s.load(r.id).expect("load").cart,
        &BTreeMap::new(),
        &[add(2, "mug", 1)],
        &Limits::default(),
        &(),
        30,
    )
    .expect("decide");
    assert!(
        matches!(
            s.commit_batch(BatchCommit::new(r.id, 1, &d, &[], 30)),
            Err(StoreError::VersionConflict { .. })
        ),
        "closed carts take no mutations"
    );
}

fn expiry(s: &dyn CartStore) {
    let old = s.create_cart(&token(1), 10).expect("create");
    commit(s, old.id, &[add(1, "tee", 1)], 10).expect("commit");
    let fresh = s.create_cart(&token(2), 1_000).expect("create");
    let closed = s.create_cart(&token(3), 10).expect("create");
    commit(s, closed.id, &[add(2, "tee", 1)], 10).expect("commit");
    s.commit_order(closed.id, 1, "k", &order("o")).expect("order");
    let base = Cart {
        owner: Some("cy".into()),
        ..Cart::default()
    };
    let anon = s.create_cart(&token(4), 10).expect("create");
    let m = merge_commit(s, anon.id, MergeTarget::New { owner: "cy".into() }, &base, "cy", 5);
    let account = s.commit_merge(&m).expect("merge");
    let expired = s.expire_anonymous_carts(500).expect("expire");
    assert_eq!(expired, 2, "the old open cart and the merged one");
    assert!(matches!(s.load_by_token(&token(1)), Err(StoreError::NotFound)));
    assert!(matches!(s.load_by_token(&token(4)), Err(StoreError::NotFound)));
    assert_eq!(s.load_by_token(&token(2)).expect("fresh").id, fresh.id);
    assert_eq!(s.load_by_token(&token(3)).expect("closed").id, closed.id);
    assert_eq!(s.load_by_token(&token(5)).expect("account").id, account);
    let r = s.create_cart(&token(6), 10).expect("create");
    commit(s, r.id, &[add(3, "tee", 1)], 100).expect("commit");
    commit(s, r.id, &[add(4, "tee", 1)], 2_000).expect("commit");
    assert_eq!(s.expire_idempotency_records(1_000).expect("expire records"), 1 + 1);
    assert_eq!(
        s.idempotency_records(r.id, &[mid(3), mid(4)]).expect("records").len(),
        1
    );
}

fn replay_and_repair(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    commit(s, r.id, &[add(1, "tee", 1), add(2, "mug", 3)], 20).expect("commit");
    let src = s.replay_source(r.id).expect("source");
    assert_eq!(src.events.len(), 2);
    let replayed = replay(&src.base, &src.events, &Limits::default()).expect("replay");
    assert_eq!(replayed, src.snapshot);
    let mut wrong = replayed.clone();
    wrong.lines.clear();
    assert!(matches!(
        s.repair_snapshot(r.id, 1, &wrong),
        Err(StoreError::VersionConflict { .. })
    ));
    s.repair_snapshot(r.id, 2, &replayed).expect("repair");
    assert_eq!(s.load(r.id).expect("load").cart, replayed);
    let mut ids = s.cart_ids(0, 1).expect("ids");
    ids.extend(s.cart_ids(ids[0], 10).expect("ids"));
    assert_eq!(ids, vec![r.id]);
}

fn concurrent_writers(s: &dyn CartStore) {
    let r = s.create_cart(&token(1), 10).expect("create");
    let threads = 4;
    let per_thread = 25u128;
    std::thread::scope(|scope| {
        for t in 0..threads as u128 {
            scope.spawn(move || {
                for i in 0..per_thread {
                    let m = add(1 + t * 1000 + i, "tee", 1);
                    loop {
                        match commit(s, r.id, std::slice::from_ref(&m), 20) {
                            Ok(_) => break,
                            Err(StoreError::VersionConflict { .. }) => continue,
                            Err(e) => panic!("commit failed: {e}"),
                        }
                    }
                }
            });
        }
    });
    let cart = s.load(r.id).expect("load").cart;
    let total = threads as u64 * per_thread as u64;
    assert_eq!(cart.version, total);
    assert_eq!(cart.total_quantity(), total);
    assert_eq!(s.events(r.id, 0, 1000).expect("events").len() as u64, total);
}
