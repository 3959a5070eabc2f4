//! Conformance checks of replay and repair, racing writers, paging for the
//! recovery worker and its lock.

use super::*;

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
