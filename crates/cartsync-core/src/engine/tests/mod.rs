//! Unit tests of the engine, one behaviour each.

use super::*;
use crate::authority::{MutationResult, MutationStatus};
use crate::error::ErrorBody;
use crate::model::Cart;
use crate::protocol::v1::{ConflictResponse, CreateCartResponse, MutationsResponse};
use crate::rebase::Reconciliation;
use crate::seams::SplitMix64;

const T: &str = "tok-1";

fn cart_at(version: u64, lines: &[(&str, u32)]) -> CartView {
    let mut cart = Cart {
        version,
        ..Cart::default()
    };
    for (sku, q) in lines {
        crate::apply::apply_in_place(&mut cart, &Command::add(sku, i64::from(*q)), &Limits::default()).unwrap();
    }
    CartView::bare(&cart)
}

/// A leader engine on cart `T` at `version`, refresh already answered.
fn leader(version: u64, lines: &[(&str, u32)]) -> (Engine, SplitMix64) {
    let persisted = stored(T, cart_at(version, lines), vec![]);
    let mut rng = SplitMix64(42);
    let (mut e, _) = Engine::restore(Config::default(), persisted.clone(), 0);
    let a = e.leadership_gained(persisted, 0);
    let (id, _) = batch(&a).expect("refresh on leadership");
    let ok = ok_response(cart_at(version, lines), vec![]);
    e.on_response(id, ok, 1, &mut rng);
    (e, rng)
}

/// Issues a command and reports its record stored, as the binding does:
/// the record's write first, then what the engine does with it.
fn issue(e: &mut Engine, command: Command, now: u64, rng: &mut SplitMix64) -> Result<Vec<Action>, CartError> {
    let record = e.issue(command, now, rng)?;
    let mut actions = vec![Action::PersistMutation(record.clone())];
    actions.extend(e.stored(record.mutation.id, now));
    Ok(actions)
}

/// Carries out the `ReadCart` in `a` as the binding does, storage holding
/// what this engine wrote (no other tab wrote meanwhile).
fn read_back(e: &mut Engine, mut a: Vec<Action>, now: u64) -> Vec<Action> {
    if a.contains(&Action::ReadCart) {
        let stored = e.persisted();
        a.extend(e.cart_read(stored, now));
    }
    a
}

/// A `Created` answer, then the read of storage it asks for (as the
/// binding carries out `ReadCart`): `stored` is the token storage holds then.
fn created_answer(
    e: &mut Engine,
    id: RequestId,
    response: Response,
    stored: TokenRecord,
    now: u64,
    rng: &mut SplitMix64,
) -> Vec<Action> {
    let mut a = e.on_response(id, response, now, rng);
    assert!(a.contains(&Action::ReadCart), "storage is read first: {a:?}");
    assert!(sends(&a).is_empty(), "nothing is sent before the read: {a:?}");
    let stored = Persisted {
        token: stored,
        ..Persisted::default()
    };
    a.extend(e.cart_read(stored, now));
    a
}

fn transient(retry_after_ms: Option<u64>) -> Failure {
    Failure::Transient {
        retry_after_ms,
        error: network_error(),
    }
}

fn stored(token: &str, cart: CartView, pending: Vec<StoredMutation>) -> Persisted {
    Persisted {
        token: TokenRecord {
            token: Some(token.into()),
            generation: 1,
            merged: false,
        },
        server_cart: Some(ServerCart::new(token.into(), cart)),
        pending,
        ..Persisted::default()
    }
}

fn sends(actions: &[Action]) -> Vec<&Request> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn batch(actions: &[Action]) -> Option<(RequestId, Vec<Mutation>)> {
    sends(actions).into_iter().find_map(|r| match r {
        Request {
            id,
            kind: RequestKind::Mutations { body, .. },
            ..
        } => Some((*id, body.mutations.clone())),
        _ => None,
    })
}

/// The operations settled, with their outcomes.
fn settled(actions: &[Action]) -> Vec<(OpId, &Outcome)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Settle { op, outcome } => Some((*op, outcome)),
            _ => None,
        })
        .collect()
}

/// The events other than `Change` (which tells that the view moved).
fn events(actions: &[Action]) -> Vec<&Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(Event::Change) => None,
            Action::Emit(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn ok_response(cart: CartView, results: Vec<MutationResult>) -> Response {
    Response::Mutations(MutationsResponse { cart, results })
}

fn result(id: MutationId, status: MutationStatus, version: u64, error: Option<&str>) -> MutationResult {
    MutationResult {
        id,
        status,
        version,
        error: error.map(|code| ErrorBody {
            code: code.into(),
            message: code.into(),
        }),
    }
}

fn body(code: &str) -> ErrorBody {
    ErrorBody {
        code: code.into(),
        message: code.into(),
    }
}

#[test]
fn an_invalid_command_is_refused_and_persists_nothing() {
    let (mut e, mut rng) = leader(3, &[("a", 998)]);
    assert_eq!(
        issue(&mut e, Command::add("a", 0), 5, &mut rng).unwrap_err().code(),
        "quantity_out_of_range"
    );
    assert_eq!(
        issue(&mut e, Command::add("a", 2), 5, &mut rng).unwrap_err().code(),
        "quantity_out_of_range"
    );
    assert!(e.pending().is_empty());
    assert_eq!(e.persisted().pending.len(), 0);
}

#[test]
fn a_command_is_persisted_first_and_keeps_its_id_across_resends() {
    let (mut e, mut rng) = leader(3, &[]);
    let a = issue(&mut e, Command::add("a", 1), 5, &mut rng).unwrap();
    let Action::PersistMutation(record) = &a[0] else {
        panic!("persist first: {a:?}")
    };
    let (req, sent) = batch(&a).unwrap();
    assert_eq!(sent[0].id, record.mutation.id);
    let a = e.on_failure(req, transient(None), 10, &mut rng);
    let Some(Action::ScheduleTimer { at }) = a.iter().find(|a| matches!(a, Action::ScheduleTimer { .. })) else {
        panic!("a retry is scheduled: {a:?}")
    };
    let a = e.on_timer(*at, &mut rng);
    assert_eq!(batch(&a).unwrap().1[0].id, record.mutation.id);
}

#[test]
fn commutative_commands_go_without_base_others_with_the_known_version() {
    let (mut e, mut rng) = leader(7, &[("a", 1)]);
    let first = issue(&mut e, Command::add("b", 1), 5, &mut rng).unwrap();
    issue(&mut e, Command::set("a", 4), 6, &mut rng).unwrap();
    issue(&mut e, Command::ApplyCoupon { code: "x".into() }, 7, &mut rng).unwrap();
    let (req, sent) = batch(&first).unwrap();
    assert_eq!(sent.len(), 1, "one request in flight at a time");
    let v = cart_at(8, &[("a", 1), ("b", 1)]);
    let a = e.on_response(
        req,
        ok_response(v, vec![result(sent[0].id, MutationStatus::Applied, 8, None)]),
        9,
        &mut rng,
    );
    let (_, sent) = batch(&a).unwrap();
    let bases: Vec<Option<u64>> = sent.iter().map(|m| m.base_version).collect();
    assert_eq!(bases, vec![Some(8), None]);
}

#[test]
fn the_cart_is_created_lazily_once_by_the_leader_only() {
    let mut rng = SplitMix64(1);
    let (mut follower, _) = Engine::restore(Config::default(), Persisted::default(), 0);
    let a = issue(&mut follower, Command::add("a", 1), 1, &mut rng).unwrap();
    assert!(sends(&a).is_empty());

    let (mut e, a) = Engine::restore(Config::default(), Persisted::default(), 0);
    assert!(sends(&a).is_empty());
    assert!(
        sends(&e.leadership_gained(Persisted::default(), 0)).is_empty(),
        "nothing to create for"
    );
    let a = issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let [Request {
        id,
        kind: RequestKind::CreateCart,
        ..
    }] = sends(&a)[..]
    else {
        panic!("create-cart: {a:?}")
    };
    let id = *id;
    assert!(sends(&issue(&mut e, Command::add("b", 1), 2, &mut rng).unwrap()).is_empty());
    let created = Response::Created(CreateCartResponse {
        token: T.into(),
        cart: cart_at(0, &[]),
    });
    let a = created_answer(&mut e, id, created, TokenRecord::default(), 3, &mut rng);
    assert!(
        matches!(&a[1], Action::PersistToken(TokenRecord { token: Some(t), generation: 1, merged: false }) if t == T)
    );
    assert!(matches!(a[2], Action::PersistServerCart(_)));
    assert_eq!(batch(&a).unwrap().1.len(), 2);
    assert_eq!(e.token(), Some(T));
}

#[test]
fn acknowledged_mutations_are_dropped_and_the_view_syncs() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 2), 5, &mut rng).unwrap();
    assert_eq!(e.view().status, Status::Syncing);
    let (req, sent) = batch(&a).unwrap();
    let id = sent[0].id;
    let a = e.on_response(
        req,
        ok_response(
            cart_at(2, &[("a", 2)]),
            vec![result(id, MutationStatus::Duplicate, 2, None)],
        ),
        6,
        &mut rng,
    );
    let persist_cart = a
        .iter()
        .position(|a| matches!(a, Action::PersistServerCart(_)))
        .unwrap();
    let remove = a.iter().position(|a| *a == Action::RemoveMutation(id)).unwrap();
    assert!(
        persist_cart < remove,
        "the cart is stored before the mutation leaves storage"
    );
    let view = e.view();
    assert_eq!(
        (view.status, view.pending, view.cart.lines[0].quantity),
        (Status::Synced, 0, 2)
    );
}

#[test]
fn rejections_are_events_with_the_line_never_silent() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("ghost", 1), 5, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    let id = sent[0].id;
    let a = e.on_response(
        req,
        ok_response(
            cart_at(1, &[]),
            vec![result(id, MutationStatus::Rejected, 1, Some("unknown_sku"))],
        ),
        6,
        &mut rng,
    );
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::PersistMutation(r) if r.settled.is_some())));
    assert!(a.contains(&Action::RemoveMutation(id)));
    let ev = events(&a);
    assert!(
        matches!(ev[..], [Event::Rejected { code, line: Some(LineKey { sku, .. }), .. }] if code == "unknown_sku" && sku.as_str() == "ghost")
    );
    assert!(e.view().cart.lines.is_empty());

    let a = issue(&mut e, Command::add("b", 1), 7, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    let dup = result(sent[0].id, MutationStatus::Duplicate, 1, Some("too_many_lines"));
    let a = e.on_response(req, ok_response(cart_at(1, &[]), vec![dup]), 8, &mut rng);
    assert!(matches!(events(&a)[..], [Event::Rejected { .. }]));
}

#[test]
fn a_conflict_rebases_reports_and_resends_with_the_new_base() {
    let (mut e, mut rng) = leader(1, &[("a", 1)]);
    let a = issue(&mut e, Command::set("a", 5), 5, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    assert_eq!(sent[0].base_version, Some(1));
    // Another device removed line a: the server is at 2 without it.
    let conflict = Response::Conflict(ConflictResponse {
        code: "version_conflict".into(),
        message: String::new(),
        cart: cart_at(2, &[]),
        results: vec![],
    });
    let a = e.on_response(req, conflict, 6, &mut rng);
    let ev = events(&a);
    assert!(matches!(ev[0], Event::Conflict { server_version: 2 }));
    assert!(
        matches!(ev[1], Event::Reconciled { changes: r } if matches!(r[0], Reconciliation::Restored { quantity: 5, .. }))
    );
    let (_, sent) = batch(&a).unwrap();
    assert_eq!(sent[0].base_version, Some(2));
    assert_eq!(e.view().cart.lines[0].quantity, 5);
}

#[test]
fn transient_failures_back_off_with_jitter_and_honour_retry_after() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 1_000, &mut rng).unwrap();
    let (req, _) = batch(&a).unwrap();
    let a = e.on_failure(req, transient(None), 1_000, &mut rng);
    assert!(sends(&a).is_empty());
    let at = a.iter().find_map(|a| match a {
        Action::ScheduleTimer { at } => Some(*at),
        _ => None,
    });
    assert!(at.is_some_and(|t| (1_000..=1_500).contains(&t)), "{at:?}");
    assert_eq!(e.view().status, Status::Error);
    assert!(matches!(
        e.view().last_error,
        Some(SyncError::Unreachable { attempts: 1 })
    ));
    assert!(sends(&e.on_timer(999, &mut rng)).is_empty());
    let a = e.on_timer(1_500, &mut rng);
    let (req, _) = batch(&a).unwrap();
    let a = e.on_failure(req, transient(Some(20_000)), 2_000, &mut rng);
    assert!(
        a.contains(&Action::ScheduleTimer { at: 22_000 })
            || a.iter()
                .any(|a| matches!(a, Action::ScheduleTimer { at } if *at >= 22_000))
    );
}

#[test]
fn offline_waits_and_online_retries_at_once() {
    let (mut e, mut rng) = leader(1, &[]);
    e.set_online(false, 1);
    let a = issue(&mut e, Command::add("a", 1), 2, &mut rng).unwrap();
    assert!(sends(&a).is_empty());
    assert_eq!(e.view().status, Status::Offline);
    let a = e.set_online(true, 3);
    let (req, _) = batch(&a).unwrap();
    e.on_failure(req, transient(Some(50_000)), 4, &mut rng);
    e.set_online(false, 5);
    assert!(
        batch(&e.set_online(true, 6)).is_some(),
        "back online: no waiting for the backoff"
    );
}

#[test]
fn a_timed_out_request_is_resent_and_its_late_answer_still_counts() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 0, &mut rng).unwrap();
    let (first, sent) = batch(&a).unwrap();
    let timeout = e.config().request_timeout_ms;
    assert!(a.contains(&Action::ScheduleTimer { at: timeout }));
    let a = e.on_timer(timeout, &mut rng);
    assert!(batch(&a).is_none(), "backing off first");
    let at = a.iter().find_map(|a| match a {
        Action::ScheduleTimer { at } => Some(*at),
        _ => None,
    });
    let a = e.on_timer(at.unwrap_or(timeout), &mut rng);
    assert!(batch(&a).is_some());
    let late = ok_response(
        cart_at(2, &[("a", 1)]),
        vec![result(sent[0].id, MutationStatus::Applied, 2, None)],
    );
    let a = e.on_response(first, late, timeout + 1_000, &mut rng);
    assert!(a.contains(&Action::RemoveMutation(sent[0].id)));
    assert_eq!(e.view().pending, 0);
}

#[test]
fn a_late_answer_never_resurrects_a_removed_line() {
    let (mut e, mut rng) = leader(5, &[("a", 1)]);
    let a = issue(&mut e, Command::remove("a"), 1, &mut rng).unwrap();
    let (req, sent) = batch(&a).unwrap();
    e.on_timer(e.config().request_timeout_ms, &mut rng);
    // A newer answer (via another request) already removed the line...
    let newer = ServerCart::new(T.into(), cart_at(6, &[]));
    e.on_storage(StorageChange::ServerCartChanged(newer), 20_000);
    // ...then the old request answers with an older cart.
    let stale = ok_response(cart_at(5, &[("a", 1)]), vec![]);
    let a = e.on_response(req, stale, 20_001, &mut rng);
    assert!(!a.iter().any(|a| matches!(a, Action::PersistServerCart(_))));
    assert_eq!(e.server_cart().map(|c| c.version), Some(6));
    assert!(e.view().cart.lines.is_empty());
    let _ = sent;
}

mod faults;
mod lifecycle;
mod ops;
mod terms;
mod worker;

#[test]
fn commands_are_sent_in_the_order_they_were_issued() {
    let (mut e, mut rng) = leader(1, &[]);
    e.set_online(false, 0);
    let mut ids = Vec::new();
    for sku in ["a", "b", "c", "d", "e", "f"] {
        let a = issue(&mut e, Command::add(sku, 1), 5, &mut rng).unwrap();
        let Action::PersistMutation(r) = &a[0] else { panic!() };
        ids.push(r.mutation.id);
    }
    let (_, sent) = batch(&e.set_online(true, 6)).unwrap();
    assert_eq!(sent.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
}
