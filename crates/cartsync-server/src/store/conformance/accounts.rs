//! Conformance checks of attach (merges), orders and expiry.

use super::*;

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

pub async fn reattach_mints_a_token_for_the_account_cart(s: &dyn CartStore) {
    let anon = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, anon.id, &[add(1, "tee", 2)], 20).await.expect("commit");
    // Not merged: nothing to reattach, no token written.
    assert!(matches!(
        s.reattach(anon.id, &token(8), 30).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(s.load_by_token(&token(8)).await, Err(StoreError::NotFound)));
    let base = Cart {
        owner: Some("cy".into()),
        ..Cart::default()
    };
    let m = merge_commit(s, anon.id, MergeTarget::New { owner: "cy".into() }, &base, "cy", 9).await;
    assert!(!m.report.added.is_empty());
    let account = s.commit_merge(&m).await.expect("merge");
    let (record, report) = s.reattach(anon.id, &token(8), 60).await.expect("reattach");
    assert_eq!(record.id, account);
    assert_eq!(record.state, CartState::Open);
    assert_eq!(record.cart.lines, m.merged.lines);
    assert_eq!(report, m.report, "the report the merge got");
    // Both the merge's token and the new one open the account cart.
    assert_eq!(s.load_by_token(&token(8)).await.expect("new token").id, account);
    assert_eq!(s.load_by_token(&token(9)).await.expect("merge token").id, account);
    assert_eq!(
        s.load(anon.id).await.expect("anon").state,
        CartState::Merged { into: account },
        "the anonymous cart stays merged"
    );
}

pub async fn expiry(s: &dyn CartStore) {
    let old = s.create_cart(&token(1), 10).await.expect("create");
    commit(s, old.id, &[add(1, "tee", 1)], 10).await.expect("commit");
    let fresh = s.create_cart(&token(2), 1_000).await.expect("create");
    let closed = s.create_cart(&token(3), 10).await.expect("create");
    commit(s, closed.id, &[add(2, "tee", 1)], 10).await.expect("commit");
    place(s, closed.id, 1, "k", &order("o", 0), &[]).await;
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
