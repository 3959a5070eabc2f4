//! Storing a command before it counts, the view's changes, and the
//! operations a caller awaits: flush, login, logout, checkout.

use super::*;
use crate::money::{Money, Totals};
use crate::protocol::v1::{AttachResponse, CheckoutRejected, CheckoutResponse, Order, OrderStatus};
use crate::MergeReport;

fn priced(version: u64, lines: &[(&str, u32)]) -> CartView {
    let mut cart = cart_at(version, lines);
    let total = Money::new(1000, "EUR");
    cart.totals = Some(Box::new(Totals {
        subtotal: total.clone(),
        discount: Money::zero("EUR"),
        shipping: None,
        tax: None,
        estimated_total: total,
    }));
    cart
}

#[test]
fn a_command_whose_record_could_not_be_stored_does_not_count() {
    let (mut e, mut rng) = leader(3, &[("a", 1)]);
    let before = e.view();
    let rev = e.view_revision();
    let record = e.issue(Command::add("a", 2), 5, &mut rng).unwrap();
    e.not_stored(record.mutation.id);
    assert_eq!(e.view(), before);
    assert_eq!(e.view_revision(), rev, "nothing changed that anyone saw");
    assert!(e.pending().is_empty());
    // The next command is counted normally.
    let a = issue(&mut e, Command::add("a", 2), 6, &mut rng).unwrap();
    assert!(batch(&a).is_some());
    assert_eq!(e.view().cart.lines[0].quantity, 3);
    // A record never reported stored is forgotten by the next issue.
    e.issue(Command::add("b", 1), 7, &mut rng).unwrap();
    e.issue(Command::add("c", 1), 8, &mut rng).unwrap();
    assert_eq!(
        e.view().cart.lines.len(),
        2,
        "b was never stored: only c is in the view"
    );
}

#[test]
fn one_command_changes_one_line_and_announces_it_once() {
    let lines: Vec<(String, u32)> = (0..50).map(|i| (format!("s{i}"), 1)).collect();
    let refs: Vec<(&str, u32)> = lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let (mut e, mut rng) = leader(3, &refs);
    e.take_view_changes();
    let rev = e.view_revision();
    let a = issue(&mut e, Command::set("s17", 4), 5, &mut rng).unwrap();
    assert_eq!(a.iter().filter(|a| **a == Action::Emit(Event::Change)).count(), 1);
    assert!(e.view_revision() > rev);
    let changes = e.take_view_changes();
    assert_eq!(changes.lines, LineChanges::Set(17));
    assert!(changes.head, "pending and status moved");
    issue(&mut e, Command::add("new", 1), 6, &mut rng).unwrap();
    assert_eq!(e.take_view_changes().lines, LineChanges::Insert(50));
    issue(&mut e, Command::remove("s3"), 7, &mut rng).unwrap();
    assert_eq!(e.take_view_changes().lines, LineChanges::Remove(3));
    // Two changes before anyone looked: compare everything.
    issue(&mut e, Command::set("s1", 2), 8, &mut rng).unwrap();
    issue(&mut e, Command::set("s2", 2), 9, &mut rng).unwrap();
    assert_eq!(e.take_view_changes().lines, LineChanges::All);
    // Nothing new: nothing to redo.
    assert!(e.take_view_changes().is_empty());
}

#[test]
fn the_view_kept_in_place_equals_the_view_computed_from_scratch() {
    let (mut e, mut rng) = leader(3, &[("a", 1), ("b", 2), ("c", 3)]);
    let ops = [
        Command::add("a", 1),
        Command::remove("b"),
        Command::add("b", 4),
        Command::set("d", 2),
        Command::ApplyCoupon { code: "save".into() },
        Command::set("c", 0),
        Command::SelectShipping {
            option: "express".into(),
        },
        Command::add("a", 997),
        Command::Clear {},
        Command::add("e", 1),
    ];
    for (i, command) in ops.into_iter().enumerate() {
        let _ = issue(&mut e, command, 10 + i as u64, &mut rng);
        let scratch = optimistic_view(e.server_cart(), &e.pending().mutations(), &e.config().limits);
        assert_eq!(e.view().cart, scratch, "after command {i}");
    }
}

#[test]
fn flush_settles_when_nothing_is_pending_and_fails_only_on_a_later_failure() {
    let (mut e, mut rng) = leader(1, &[]);
    let (op, a) = e.flush(1);
    assert_eq!(settled(&a), vec![(op, &Outcome::Flushed)], "nothing pending: at once");

    let a = issue(&mut e, Command::add("a", 1), 2, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    // A failure before the flush started is not the flush's.
    let a = e.on_failure(req, transient(None), 3, &mut rng);
    assert!(settled(&a).is_empty());
    let (op, a) = e.flush(4);
    assert!(settled(&a).is_empty());
    let (req, _) = batch(&a).expect("flush skips the backoff");
    let a = e.on_failure(req, transient(None), 5, &mut rng);
    let [(id, Outcome::Failed(error))] = settled(&a)[..] else {
        panic!("rejected on its own attempt's failure: {a:?}")
    };
    assert_eq!((id, error.code.as_str()), (op, codes::NETWORK_ERROR));

    let (op, a) = e.flush(6);
    let (req, _) = batch(&a).unwrap();
    let ok = ok_response(
        cart_at(2, &[("a", 1)]),
        vec![result(sent[0].id, MutationStatus::Applied, 2, None)],
    );
    let a = e.on_response(req, ok, 7, &mut rng);
    assert_eq!(settled(&a), vec![(op, &Outcome::Flushed)]);

    e.set_online(false, 8);
    issue(&mut e, Command::add("b", 1), 9, &mut rng).unwrap();
    let (_, a) = e.flush(10);
    assert!(matches!(settled(&a)[..], [(_, Outcome::Failed(err))] if err.code == codes::NETWORK_ERROR));
    assert_eq!(e.pending().len(), 1, "nothing is lost");
}

#[test]
fn login_creates_a_cart_if_needed_attaches_and_signs_every_tab_in() {
    let mut rng = SplitMix64(3);
    let (mut e, _) = Engine::restore(Config::default(), Persisted::default(), 0);
    e.leadership_gained(Persisted::default(), 0);
    let (op, a) = e.login("user-1".into(), 1);
    let [Request {
        id,
        kind: RequestKind::CreateCart,
        ..
    }] = sends(&a)[..]
    else {
        panic!("no cart yet: create one: {a:?}")
    };
    let created = Response::Created(CreateCartResponse {
        token: "anon".into(),
        cart: cart_at(0, &[]),
    });
    let a = created_answer(&mut e, *id, created, TokenRecord::default(), 2, &mut rng);
    let [Request {
        id,
        auth: Some(auth),
        kind: RequestKind::Attach { token },
        ..
    }] = sends(&a)[..]
    else {
        panic!("then attach it: {a:?}")
    };
    assert_eq!(
        (token.as_str(), auth.as_str()),
        ("anon", "user-1"),
        "attached with the new credentials"
    );
    let attached = Response::Attached(AttachResponse {
        token: "account".into(),
        cart: cart_at(5, &[("z", 1)]),
        merge_report: MergeReport::default(),
    });
    let a = e.on_response(*id, attached, 3, &mut rng);
    let a = read_back(&mut e, a, 3);
    let user = a
        .iter()
        .position(|a| *a == Action::PersistUser(Some("user-1".into())))
        .unwrap();
    let token = a
        .iter()
        .position(|a| matches!(a, Action::PersistToken(t) if t.token.as_deref() == Some("account")));
    assert!(token.is_some_and(|t| user < t), "the user token is stored first: {a:?}");
    assert!(events(&a).iter().any(|e| matches!(e, Event::Merged { .. })));
    assert!(matches!(settled(&a)[..], [(o, Outcome::LoggedIn(_))] if o == op));
    // What is sent from now on carries the user token.
    let a = issue(&mut e, Command::add("y", 1), 4, &mut rng).unwrap();
    assert!(sends(&a).iter().all(|r| r.auth.as_deref() == Some("user-1")));
}

fn attach_sent(actions: &[Action]) -> Option<(RequestId, String)> {
    sends(actions).iter().find_map(|r| match &r.kind {
        RequestKind::Attach { token } => Some((r.id, token.clone())),
        _ => None,
    })
}

fn attached(token: &str) -> Response {
    Response::Attached(AttachResponse {
        token: token.into(),
        cart: cart_at(5, &[("a", 1)]),
        merge_report: MergeReport::default(),
    })
}

#[test]
fn a_sign_in_whose_answer_is_lost_is_resent_and_completes() {
    let (mut e, mut rng) = leader(1, &[]);
    let (op, a) = e.login("u".into(), 1);
    let (req, token) = attach_sent(&a).expect("attach");
    // The merge committed, its answer was lost: sent again, same cart.
    let a = e.on_failure(req, transient(None), 2, &mut rng);
    assert!(settled(&a).is_empty(), "not failed yet: {a:?}");
    let (req, again) = attach_sent(&a).expect("resent");
    assert_eq!(again, token);
    let a = e.on_failure(req, transient(None), 3, &mut rng);
    let (req, _) = attach_sent(&a).expect("resent twice");
    let a = e.on_response(req, attached("account"), 4, &mut rng);
    let a = read_back(&mut e, a, 4);
    assert!(matches!(settled(&a)[..], [(o, Outcome::LoggedIn(_))] if o == op));
    assert_eq!(e.token(), Some("account"));

    // A sign-in with no answer at all fails after five sends, nothing lost.
    let (op, a) = e.login("u".into(), 5);
    let (mut req, _) = attach_sent(&a).expect("attach");
    for now in 6..10 {
        let a = e.on_failure(req, transient(None), now, &mut rng);
        req = attach_sent(&a).expect("resent").0;
    }
    let a = e.on_failure(req, transient(None), 10, &mut rng);
    assert!(attach_sent(&a).is_none());
    assert!(matches!(settled(&a)[..], [(o, Outcome::Failed(err))] if o == op && err.code == codes::NETWORK_ERROR));
}

#[test]
fn a_cart_merged_under_pending_changes_is_attached_without_waiting_for_them() {
    let (mut e, mut rng) = leader(1, &[]);
    // A sign-in merged this cart; its answer never came, and a change sent
    // to the old token meets `cart_merged`.
    let a = issue(&mut e, Command::add("b", 1), 1, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    let a = e.on_failure(req, Failure::Permanent(body("cart_merged")), 2, &mut rng);
    let a = read_back(&mut e, a, 2);
    assert!(batch(&a).is_none(), "waits for the account cart's token");
    // A flush cannot drain into a merged cart: it says so instead of hanging.
    let (op, a) = e.flush(3);
    assert!(matches!(settled(&a)[..], [(o, Outcome::Failed(err))] if o == op && err.code == "cart_merged"));
    // Signing in again attaches at once and the change goes to the account cart.
    let (op, a) = e.login("u".into(), 4);
    let (req, token) = attach_sent(&a).expect("attached without waiting for the outbox");
    assert_eq!(token, T);
    let a = e.on_response(req, attached("account"), 5, &mut rng);
    let a = read_back(&mut e, a, 5);
    assert!(matches!(settled(&a)[..], [(o, Outcome::LoggedIn(_))] if o == op));
    let (_, resent) = batch(&a).expect("the pending change goes to the account cart");
    assert_eq!(resent[0].id, sent[0].id, "under its own id");
}

#[test]
fn a_sign_in_in_another_tab_is_used_at_once() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (req, _) = batch(&a).unwrap();
    let a = e.on_failure(req, Failure::Permanent(body("unauthorized")), 2, &mut rng);
    assert!(batch(&a).is_none(), "backing off");
    let a = e.on_storage(StorageChange::UserChanged(Some("u2".into())), 3);
    let sent = sends(&a);
    assert_eq!(sent.len(), 1, "retried at once with the new credentials");
    assert_eq!(sent[0].auth.as_deref(), Some("u2"));
}

/// A leader on the account cart of `u`, signed in.
fn signed_in_leader() -> (Engine, SplitMix64) {
    let mut account = cart_at(1, &[]);
    account.owner = Some("u".into());
    let persisted = Persisted {
        user: Some("u".into()),
        ..stored(T, account.clone(), vec![])
    };
    let mut rng = SplitMix64(42);
    let (mut e, _) = Engine::restore(Config::default(), persisted.clone(), 0);
    let a = e.leadership_gained(persisted, 0);
    let (id, _) = batch(&a).expect("refresh on leadership");
    e.on_response(id, ok_response(account, vec![]), 1, &mut rng);
    (e, rng)
}

/// Signs out; the read of storage it asks for finds `stored` (as the
/// binding carries out `ReadCart`).
fn logout_reading(e: &mut Engine, stored: Persisted, now: u64) -> (OpId, Vec<Action>) {
    let (op, mut a) = e.logout(now);
    assert!(
        a.contains(&Action::ReadCart),
        "storage is read before the cart is left: {a:?}"
    );
    a.extend(e.cart_read(stored, now));
    (op, a)
}

#[test]
fn logout_forgets_the_user_and_moves_pending_to_a_new_cart() {
    let (mut e, mut rng) = signed_in_leader();
    e.set_online(false, 2);
    issue(&mut e, Command::add("a", 1), 3, &mut rng).unwrap();
    let stored = e.persisted();
    let (op, a) = logout_reading(&mut e, stored, 4);
    assert!(a.contains(&Action::PersistUser(None)));
    assert!(a.contains(&Action::RemoveServerCart));
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::PersistToken(TokenRecord { token: None, .. }))));
    assert_eq!(settled(&a), vec![(op, &Outcome::LoggedOut)]);
    assert_eq!((e.token(), e.user(), e.pending().len()), (None, None, 1));
}

#[test]
fn logout_after_a_failed_flush_makes_the_new_cart_at_once() {
    // The sign-out's flush failed (the request timed out): the new
    // anonymous cart is asked for in the same step, not at some later input.
    let (mut e, mut rng) = signed_in_leader();
    let a = issue(&mut e, Command::add("a", 1), 3, &mut rng).unwrap();
    let (req, _) = batch(&a).unwrap();
    let (_, a) = e.logout(4);
    assert!(sends(&a).is_empty(), "the flush waits for the batch in flight");
    let mut a = e.on_failure(req, transient(None), 5, &mut rng);
    assert!(a.contains(&Action::ReadCart));
    a.extend(e.cart_read(e.persisted(), 5));
    assert!(
        sends(&a).iter().any(|r| matches!(r.kind, RequestKind::CreateCart)),
        "the new cart is made now: {a:?}"
    );
}

#[test]
fn logout_from_a_cart_that_never_was_the_accounts_keeps_it() {
    // Signed in, but on an anonymous cart (the account cart was checked
    // out elsewhere and a new one made): what it holds must not be lost.
    let (mut e, mut rng) = leader(1, &[("a", 2)]);
    e.set_user(Some("u".into()), 1);
    e.set_online(false, 2);
    issue(&mut e, Command::add("b", 1), 2, &mut rng).unwrap();
    let stored = e.persisted();
    let (op, a) = logout_reading(&mut e, stored, 3);
    assert!(a.contains(&Action::PersistUser(None)));
    assert!(!a
        .iter()
        .any(|a| matches!(a, Action::PersistToken(_) | Action::RemoveServerCart)));
    assert_eq!(settled(&a), vec![(op, &Outcome::LoggedOut)]);
    assert_eq!((e.token(), e.user()), (Some(T), None));
}

#[test]
fn logout_in_a_tab_behind_the_others_keeps_the_cart_they_moved_to() {
    // This tab still believes in no cart; another tab has meanwhile made an
    // anonymous one (its storage event is on the way). Signing out here
    // must not write over it.
    let (mut e, _) = Engine::restore(Config::default(), Persisted::default(), 0);
    e.set_user(Some("u".into()), 0);
    let mut theirs = stored("theirs", cart_at(2, &[("a", 1)]), vec![]);
    theirs.token.generation = 3;
    let (_, a) = logout_reading(&mut e, theirs, 1);
    assert!(!a.iter().any(|a| matches!(a, Action::PersistToken(_))), "{a:?}");
    assert_eq!(e.token(), Some("theirs"));
}

#[test]
fn checkout_keeps_one_key_per_attempt_across_retries() {
    let (mut e, mut rng) = leader(1, &[]);
    let ok = ok_response(priced(1, &[]), vec![]);
    let refresh = e.refresh(1);
    if let Some((req, _)) = batch(&refresh) {
        e.on_response(req, ok, 1, &mut rng);
    }
    let (op, a) = e.checkout(None, 2, &mut rng);
    let kept = a.iter().find_map(|a| match a {
        Action::PersistCheckoutKey(Some(k)) => Some(k.clone()),
        _ => None,
    });
    let kept = kept.expect("the attempt's key is stored before it is sent");
    assert_eq!((kept.token.as_str(), kept.version), (T, 1));
    let [Request {
        id,
        kind: RequestKind::Checkout { key, .. },
        ..
    }] = sends(&a)[..]
    else {
        panic!("checkout sent: {a:?}")
    };
    assert_eq!(key, &kept.key);
    // The answer is lost: the attempt fails, the key stays.
    let a = e.on_failure(*id, transient(None), 3, &mut rng);
    assert!(matches!(settled(&a)[..], [(o, Outcome::Failed(_))] if o == op));
    // A retry (even from a reloaded tab) sends the same key.
    let (mut reloaded, _) = Engine::restore(Config::default(), e.persisted(), 4);
    for engine in [&mut e, &mut reloaded] {
        let (_, a) = engine.checkout(None, 5, &mut rng);
        let [Request {
            kind: RequestKind::Checkout { key, .. },
            ..
        }] = sends(&a)[..]
        else {
            panic!("checkout sent: {a:?}")
        };
        assert_eq!(key, &kept.key);
    }
    // Ordered: the key is dropped and a fresh cart starts.
    let (op, a) = e.checkout(None, 6, &mut rng);
    let id = sends(&a)[0].id;
    let order = Order {
        id: "o1".into(),
        status: OrderStatus::PendingPayment,
        lines: vec![],
        coupons: vec![],
        shipping_option: None,
        destination: None,
        totals: *priced(1, &[]).totals.unwrap(),
        created_at: 6,
        hold_until: 6,
        payment: None,
    };
    let a = e.on_response(id, Response::Ordered(CheckoutResponse { order }), 7, &mut rng);
    assert!(a.contains(&Action::PersistCheckoutKey(None)));
    assert!(matches!(settled(&a)[..], [(o, Outcome::Ordered(order))] if o == op && order.id == "o1"));
    assert_eq!(e.token(), None);
}

#[test]
fn checkout_problems_adopt_the_revalidated_cart_and_a_new_attempt_gets_a_new_key() {
    let (mut e, mut rng) = leader(1, &[]);
    if let Some((req, _)) = batch(&e.refresh(1)) {
        e.on_response(req, ok_response(priced(1, &[("a", 1)]), vec![]), 1, &mut rng);
    }
    let (_, a) = e.checkout(None, 2, &mut rng);
    let first = sends(&a)[0].clone();
    let rejected = CheckoutRejected {
        code: "checkout_revalidation_failed".into(),
        message: String::new(),
        problems: vec![],
        cart: priced(2, &[("a", 1)]),
    };
    let a = e.on_response(first.id, Response::CheckoutRejected(rejected), 3, &mut rng);
    assert!(matches!(settled(&a)[..], [(_, Outcome::Problems(_))]));
    assert_eq!(e.view().cart.version, 2);
    let (_, a) = e.checkout(None, 4, &mut rng);
    let (RequestKind::Checkout { key: old, .. }, RequestKind::Checkout { key: new, .. }) =
        (&first.kind, &sends(&a)[0].kind)
    else {
        panic!("two checkouts")
    };
    assert_ne!(old, new, "the confirmed cart is a new attempt");
}

#[test]
fn checkout_without_a_synced_cart_fails_with_no_cart() {
    let mut rng = SplitMix64(1);
    let (mut e, _) = Engine::restore(Config::default(), Persisted::default(), 0);
    e.leadership_gained(Persisted::default(), 0);
    let (_, a) = e.checkout(None, 1, &mut rng);
    assert!(matches!(settled(&a)[..], [(_, Outcome::Failed(err))] if err.code == codes::NO_CART));
}

#[test]
fn a_refused_storage_write_is_an_event_and_close_fails_what_waits() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = e.write_failed(ErrorBody {
        code: codes::STORAGE_FULL.into(),
        message: "full".into(),
    });
    assert!(matches!(events(&a)[..], [Event::StorageError { code, .. }] if code == codes::STORAGE_FULL));
    issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (op, _) = e.flush(2);
    let a = e.close(3);
    assert!(matches!(settled(&a)[..], [(o, Outcome::Failed(err))] if o == op && err.code == codes::CLIENT_CLOSED));
    assert!(sends(&a).is_empty());
}

#[test]
fn a_hidden_page_sends_at_once_with_keepalive() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (req, _) = batch(&a).unwrap();
    let a = e.on_failure(req, transient(Some(60_000)), 2, &mut rng);
    assert!(batch(&a).is_none(), "backing off for a minute");
    let a = e.set_visible(false, 3);
    let sent = sends(&a);
    assert_eq!(sent.len(), 1, "hidden: sent at once");
    assert!(sent[0].keepalive, "so that it outlives the page");
    let a = e.set_visible(true, 4);
    assert!(sends(&a).is_empty(), "one request at a time");
    assert!(!e.hidden);
}

#[test]
fn offline_or_hidden_pending_asks_for_a_background_flush_once() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    assert!(
        !a.contains(&Action::RequestBackgroundFlush),
        "online and sending: not needed"
    );
    let a = e.set_online(false, 2);
    assert!(a.contains(&Action::RequestBackgroundFlush));
    let a = issue(&mut e, Command::add("b", 1), 3, &mut rng).unwrap();
    assert!(
        !a.contains(&Action::RequestBackgroundFlush),
        "once per stretch of pending mutations"
    );
}

#[test]
fn what_a_worker_settled_is_absorbed_like_another_tabs_writes() {
    let (mut e, mut rng) = leader(1, &[("a", 1)]);
    e.set_online(false, 1);
    let first = issue(&mut e, Command::add("a", 1), 2, &mut rng).unwrap();
    let second = issue(&mut e, Command::add("ghost", 1), 3, &mut rng).unwrap();
    let third = issue(&mut e, Command::add("c", 1), 4, &mut rng).unwrap();
    let id = |a: &[Action]| match &a[0] {
        Action::PersistMutation(r) => r.clone(),
        other => panic!("{other:?}"),
    };
    let (acked, refused, left) = (id(&first), id(&second), id(&third));
    let mut tombstone = refused.clone();
    tombstone.settled = Some(Settled::Rejected {
        error: body("unknown_sku"),
    });
    // The worker also moved the cart on (its acknowledgement's answer).
    let remote = stored(T, cart_at(2, &[("a", 2)]), vec![left.clone()]);
    let a = e.absorb_worker(
        remote,
        vec![
            WorkerSettled::Acknowledged(acked.mutation.id),
            WorkerSettled::Tombstone(tombstone),
        ],
        5,
    );
    assert!(a.contains(&Action::RemoveMutation(acked.mutation.id)));
    assert!(a.contains(&Action::RemoveMutation(refused.mutation.id)));
    assert!(matches!(events(&a)[..], [Event::Rejected { code, .. }] if code == "unknown_sku"));
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::PersistServerCart(c) if c.cart.version == 2)));
    assert_eq!(e.pending().len(), 1, "what the worker left stays pending");
    assert_eq!(e.view().cart.lines[0].quantity, 2, "the newer server cart is taken");
    // Absorbed twice (a page that heard it twice): nothing more happens
    // than removing an absent record again.
    let again = e.absorb_worker(
        Persisted::default(),
        vec![WorkerSettled::Acknowledged(acked.mutation.id)],
        6,
    );
    assert!(events(&again).is_empty());
    assert_eq!(e.pending().len(), 1);
}

#[test]
fn a_sign_in_that_made_a_cart_joins_the_one_another_tab_made_meanwhile() {
    // This tab signs in before hearing of the first add in another tab,
    // whose leader made a cart for it: the sign-in's new cart is left
    // unused and the other tab's cart (with the add) is the one attached.
    let mut rng = SplitMix64(3);
    let (mut e, _) = Engine::restore(Config::default(), Persisted::default(), 0);
    let (_, a) = e.login("user-1".into(), 1);
    let [Request { id, .. }] = sends(&a)[..] else {
        panic!("create first: {a:?}")
    };
    let created = Response::Created(CreateCartResponse {
        token: "mine".into(),
        cart: cart_at(0, &[]),
    });
    let theirs = TokenRecord {
        token: Some("theirs".into()),
        generation: 1,
        merged: false,
    };
    let a = created_answer(&mut e, *id, created, theirs, 2, &mut rng);
    assert!(
        !a.iter().any(|a| matches!(a, Action::PersistToken(_))),
        "the stored token is not written over: {a:?}"
    );
    let [Request {
        kind: RequestKind::Attach { token },
        ..
    }] = sends(&a)[..]
    else {
        panic!("attach: {a:?}")
    };
    assert_eq!(token, "theirs");
    assert_eq!(e.token(), Some("theirs"));
}

#[test]
fn a_sign_out_cancels_a_sign_in_under_way_and_its_late_answer_is_ignored() {
    let (mut e, mut rng) = leader(1, &[("a", 1)]);
    let (login, a) = e.login("user-1".into(), 1);
    let [Request { id: attach, .. }] = sends(&a)[..] else {
        panic!("attach: {a:?}")
    };
    let attach = *attach;
    let (logout, a) = e.logout(2);
    let a = read_back(&mut e, a, 2);
    assert!(
        matches!(&settled(&a)[..], [(l, Outcome::Failed(err)), (o, Outcome::LoggedOut)]
            if *l == login && err.code == codes::SIGNED_OUT && *o == logout),
        "{a:?}"
    );
    let a = e.on_response(attach, attached("account"), 3, &mut rng);
    let a = read_back(&mut e, a, 3);
    assert!(
        settled(&a).is_empty() && !a.iter().any(|a| matches!(a, Action::PersistToken(_))),
        "{a:?}"
    );
    assert_eq!((e.token(), e.user()), (Some(T), None), "the anonymous cart stays");
}
