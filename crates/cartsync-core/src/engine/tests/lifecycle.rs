//! Expiry, cart replacement, storage changes, restore and leadership.

use super::*;

#[test]
fn old_mutations_expire_as_events_and_are_never_sent() {
    let week = Config::default().expiry_ms;
    let old = StoredMutation {
        mutation: Mutation {
            id: MutationId::from_random_bytes([9; 16]),
            base_version: None,
            command: Command::add("a", 1),
        },
        created_at: 1,
        settled: None,
    };
    let persisted = stored(T, cart_at(1, &[]), vec![old.clone()]);
    let (mut e, _) = Engine::restore(Config::default(), persisted.clone(), week + 2);
    let a = e.leadership_gained(persisted, week + 2);
    assert!(matches!(events(&a)[..], [Event::Expired { created_at: 1, .. }]));
    assert!(a.contains(&Action::RemoveMutation(old.mutation.id)));
    assert!(
        batch(&a).is_some_and(|(_, ms)| ms.is_empty()),
        "only the refresh goes out"
    );
}

#[test]
fn a_missing_or_closed_cart_is_replaced_and_pending_is_resent() {
    for code in ["cart_not_found", "cart_closed"] {
        let (mut e, mut rng) = leader(1, &[]);
        let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
        let (req, sent) = batch(&a).unwrap();
        let a = e.on_failure(req, Failure::Permanent(body(code)), 2, &mut rng);
        assert!(a.contains(&Action::PersistToken(TokenRecord {
            token: None,
            generation: 2,
            merged: false,
        })));
        assert!(matches!(events(&a)[..], [Event::CartReplaced { code: c, .. }] if c == code));
        let [Request {
            id,
            kind: RequestKind::CreateCart,
            ..
        }] = sends(&a)[..]
        else {
            panic!("fresh cart: {a:?}")
        };
        let created = Response::Created(CreateCartResponse {
            token: "tok-2".into(),
            cart: cart_at(0, &[]),
        });
        let stored = e.persisted().token;
        let a = created_answer(&mut e, *id, created, stored, 3, &mut rng);
        assert_eq!(batch(&a).unwrap().1[0].id, sent[0].id);
        assert_eq!(e.token(), Some("tok-2"));
    }
}

#[test]
fn a_merged_cart_waits_for_the_account_cart() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (req, _) = batch(&a).unwrap();
    let a = e.on_failure(req, Failure::Permanent(body("cart_merged")), 2, &mut rng);
    let a = read_back(&mut e, a, 2);
    assert!(sends(&a).is_empty());
    assert_eq!(e.view().status, Status::Error);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::PersistToken(TokenRecord { token: Some(t), merged: true, .. }) if t == T)),
        "every tab is told: {a:?}"
    );
    // Another tab signed in: the account cart's token arrives through storage.
    let record = TokenRecord {
        token: Some("account".into()),
        generation: 7,
        merged: false,
    };
    let a = e.on_storage(StorageChange::TokenChanged(record), 3);
    let Some(Request {
        kind: RequestKind::Mutations { token, .. },
        ..
    }) = sends(&a).first().copied()
    else {
        panic!("resent to the account cart: {a:?}")
    };
    assert_eq!(token, "account");
}

#[test]
fn another_tab_learns_the_cart_was_merged_and_signs_in_at_once() {
    // Only the leader's send can learn `cart_merged`; a sign-in in another
    // tab must not wait for an outbox that cannot drain (it would hang).
    let (mut leader_tab, mut rng) = leader(1, &[]);
    let (mut other, _) = Engine::restore(Config::default(), leader_tab.persisted(), 0);
    let a = issue(&mut leader_tab, Command::add("a", 1), 1, &mut rng).unwrap();
    let Action::PersistMutation(record) = a[0].clone() else {
        panic!()
    };
    other.on_storage(StorageChange::MutationAdded(record), 1);
    let (req, _) = batch(&a).unwrap();
    let a = leader_tab.on_failure(req, Failure::Permanent(body("cart_merged")), 2, &mut rng);
    let a = read_back(&mut leader_tab, a, 2);
    let Some(Action::PersistToken(told)) = a.iter().find(|a| matches!(a, Action::PersistToken(_))).cloned() else {
        panic!("told: {a:?}")
    };
    other.on_storage(StorageChange::TokenChanged(told), 3);
    let (flush, a) = other.flush(4);
    assert!(
        matches!(&settled(&a)[..], [(op, Outcome::Failed(e))] if *op == flush && e.code == "cart_merged"),
        "a flush there fails at once: {a:?}"
    );
    let (_, a) = other.login("user-1".into(), 5);
    assert!(
        matches!(sends(&a)[..], [Request { kind: RequestKind::Attach { token }, .. }] if token == T),
        "attached at once: {a:?}"
    );
}

#[test]
fn a_merged_cart_whose_account_cart_is_gone_moves_to_a_new_cart_at_sign_in() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    let a = e.on_failure(req, Failure::Permanent(body("cart_merged")), 2, &mut rng);
    read_back(&mut e, a, 2);
    let (_, a) = e.login("user-1".into(), 3);
    let [Request { id, .. }] = sends(&a)[..] else {
        panic!("attach: {a:?}")
    };
    // The account cart it went into was checked out: attaching answers 410.
    let a = e.on_failure(*id, Failure::Permanent(body("cart_merged")), 4, &mut rng);
    assert!(matches!(events(&a)[..], [Event::CartReplaced { code, .. }] if code == "cart_merged"));
    let [Request {
        id,
        kind: RequestKind::CreateCart,
        ..
    }] = sends(&a)[..]
    else {
        panic!("a new cart: {a:?}")
    };
    let created = Response::Created(CreateCartResponse {
        token: "fresh".into(),
        cart: cart_at(0, &[]),
    });
    let stored = e.persisted().token;
    let a = created_answer(&mut e, *id, created, stored, 5, &mut rng);
    assert!(
        sends(&a)
            .iter()
            .any(|r| matches!(&r.kind, RequestKind::Attach { token } if token == "fresh")),
        "the new cart is attached: {a:?}"
    );
    assert_eq!(
        e.pending().iter().next().unwrap().mutation.id,
        sent[0].id,
        "still pending, same id"
    );
}

#[test]
fn a_refused_batch_is_isolated_to_find_the_culprit() {
    let (mut e, mut rng) = leader(1, &[]);
    let first = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    issue(&mut e, Command::add("b", 1), 2, &mut rng).unwrap();
    let (req, _) = batch(&first).unwrap();
    let a = e.on_failure(req, transient(None), 3, &mut rng);
    assert!(batch(&a).is_none());
    let a = e.on_timer(10_000, &mut rng);
    let (req, sent) = batch(&a).unwrap();
    assert_eq!(sent.len(), 2);
    let a = e.on_failure(req, Failure::Permanent(body("bad_request")), 10_001, &mut rng);
    let (req, sent) = batch(&a).unwrap();
    assert_eq!(sent.len(), 1);
    let a = e.on_failure(req, Failure::Permanent(body("bad_request")), 10_002, &mut rng);
    assert!(matches!(events(&a)[..], [Event::Rejected { .. }]));
    assert_eq!(batch(&a).unwrap().1.len(), 1);
}

#[test]
fn other_tabs_changes_arrive_through_storage() {
    let mut rng = SplitMix64(5);
    let (mut leader_tab, mut rng2) = leader(1, &[]);
    let (mut other, _) = Engine::restore(Config::default(), leader_tab.persisted(), 0);
    let a = issue(&mut other, Command::add("a", 1), 5, &mut rng).unwrap();
    let Action::PersistMutation(record) = a[0].clone() else {
        panic!()
    };
    let a = leader_tab.on_storage(StorageChange::MutationAdded(record.clone()), 6);
    let (req, _) = batch(&a).unwrap();
    let res = vec![result(
        record.mutation.id,
        MutationStatus::Rejected,
        1,
        Some("unknown_sku"),
    )];
    let a = leader_tab.on_response(req, ok_response(cart_at(1, &[]), res), 7, &mut rng2);
    // The other tab hears of the rejection through the tombstone.
    for action in a {
        let change = match action {
            Action::PersistMutation(r) => StorageChange::MutationAdded(r),
            Action::RemoveMutation(id) => StorageChange::MutationRemoved(id),
            _ => continue,
        };
        let out = other.on_storage(change, 8);
        if let Some(e) = events(&out).first() {
            assert!(matches!(e, Event::Rejected { .. }));
        }
    }
    assert_eq!(other.view().pending, 0);
    let token = |t: &str, generation| {
        StorageChange::TokenChanged(TokenRecord {
            token: Some(t.into()),
            generation,
            merged: false,
        })
    };
    let cart = |t: &str, v, q| StorageChange::ServerCartChanged(ServerCart::new(t.into(), cart_at(v, &[("q", q)])));
    other.on_storage(token("tok-9", 2), 9);
    other.on_storage(cart("tok-9", 3, 2), 9);
    assert_eq!(other.view().cart.lines[0].quantity, 2);
    assert_eq!(other.token(), Some("tok-9"));
    // Late events about older writes change nothing.
    other.on_storage(cart("tok-9", 2, 5), 10);
    other.on_storage(token(T, 1), 10);
    other.on_storage(cart(T, 8, 7), 10);
    assert_eq!(other.token(), Some("tok-9"));
    assert_eq!(other.view().cart.lines[0].quantity, 2);
}

#[test]
fn an_engine_restores_completely_from_what_it_persisted() {
    let (mut e, mut rng) = leader(4, &[("a", 2)]);
    e.set_online(false, 1);
    issue(&mut e, Command::set("a", 3), 2, &mut rng).unwrap();
    issue(&mut e, Command::add("b", 1), 3, &mut rng).unwrap();
    let (restored, a) = Engine::restore(Config::default(), e.persisted(), 4);
    assert_eq!(restored.persisted(), e.persisted());
    assert_eq!(restored.view().cart, e.view().cart);
    assert_eq!(restored.view().pending, 2);
    assert!(
        !a.contains(&Action::Emit(Event::Change)),
        "a new engine's view is news to nobody"
    );
}

#[test]
fn a_tab_that_lost_leadership_stops_sending_and_ignores_answers() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    e.leadership_lost(2);
    let ok = ok_response(
        cart_at(2, &[("a", 1)]),
        vec![result(sent[0].id, MutationStatus::Applied, 2, None)],
    );
    let a = e.on_response(req, ok, 3, &mut rng);
    assert!(a
        .iter()
        .all(|a| !matches!(a, Action::RemoveMutation(_) | Action::Send(_))));
    assert!(sends(&issue(&mut e, Command::add("b", 1), 4, &mut rng).unwrap()).is_empty());
}

#[test]
fn a_failed_refresh_is_retried_after_the_backoff() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = e.refresh(5);
    let (req, sent) = batch(&a).unwrap();
    assert!(sent.is_empty());
    let a = e.on_failure(req, transient(None), 6, &mut rng);
    assert_eq!(e.view().status, Status::Error, "the view may be stale");
    let at = a.iter().find_map(|a| match a {
        Action::ScheduleTimer { at } => Some(*at),
        _ => None,
    });
    let a = e.on_timer(at.expect("a retry is scheduled"), &mut rng);
    let (req, _) = batch(&a).unwrap();
    e.on_response(req, ok_response(cart_at(2, &[("z", 1)]), vec![]), 600, &mut rng);
    assert_eq!((e.view().status, e.view().cart.version), (Status::Synced, 2));
}

#[test]
fn an_auth_failure_keeps_every_mutation_and_retries() {
    for code in ["unauthorized", "forbidden"] {
        let (mut e, mut rng) = leader(1, &[]);
        let first = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
        issue(&mut e, Command::add("b", 1), 2, &mut rng).unwrap();
        let (req, _) = batch(&first).unwrap();
        let a = e.on_failure(req, Failure::Permanent(body(code)), 3, &mut rng);
        assert!(events(&a).is_empty(), "nothing is rejected for a credentials problem");
        assert!(sends(&a).is_empty(), "backing off");
        assert_eq!((e.view().pending, e.view().status), (2, Status::Error));
        let (_, sent) = batch(&e.retry_now(4)).expect("new credentials: retry at once");
        assert_eq!(sent.len(), 2);
    }
}

#[test]
fn another_tab_never_counts_an_acknowledged_change_twice() {
    // The leader writes the new cart, then removes what it acknowledged:
    // two storage events. Between them the other tab would show the cart
    // (which holds the add) plus its outbox (which still holds it): 2.
    let (mut leader_tab, mut rng) = leader(1, &[]);
    let a = issue(&mut leader_tab, Command::add("a", 1), 1, &mut rng).unwrap();
    let Action::PersistMutation(record) = a[0].clone() else {
        panic!()
    };
    let (mut other, _) = Engine::restore(Config::default(), leader_tab.persisted(), 1);
    assert_eq!(other.view().cart.lines[0].quantity, 1);
    let (req, sent) = batch(&a).unwrap();
    let res = vec![result(sent[0].id, MutationStatus::Applied, 2, None)];
    let a = leader_tab.on_response(req, ok_response(cart_at(2, &[("a", 1)]), res), 2, &mut rng);
    let Some(Action::PersistServerCart(written)) =
        a.iter().find(|a| matches!(a, Action::PersistServerCart(_))).cloned()
    else {
        panic!("{a:?}")
    };
    assert_eq!(written.acked, vec![record.mutation.id]);
    other.on_storage(StorageChange::ServerCartChanged(written), 3);
    assert_eq!(
        other.view().cart.lines[0].quantity,
        1,
        "the cart's add, not the outbox's too"
    );
    assert!(other.pending().is_empty());
    other.on_storage(StorageChange::MutationRemoved(record.mutation.id), 4);
    assert_eq!(other.view().cart.lines[0].quantity, 1);
}
