//! Storage faults: cleared under the page, unreadable records, a newer
//! format (see `engine/faults.rs`).

use super::*;

fn storage_errors(actions: &[Action]) -> Vec<(&str, Option<&str>)> {
    events(actions)
        .into_iter()
        .filter_map(|e| match e {
            Event::StorageError { code, key, .. } => Some((code.as_str(), key.as_deref())),
            _ => None,
        })
        .collect()
}

fn writes(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::PersistMutation(_)
                    | Action::RemoveMutation(_)
                    | Action::PersistToken(_)
                    | Action::PersistServerCart(_)
                    | Action::RemoveServerCart
                    | Action::PersistUser(_)
                    | Action::PersistCheckoutKey(_)
            )
        })
        .count()
}

/// A leader with one pending mutation (offline, so it stays) and a user.
fn holding() -> (Engine, StoredMutation, SplitMix64) {
    let (mut e, mut rng) = leader(1, &[("a", 1)]);
    e.set_user(Some("user-1".into()), 2);
    e.set_online(false, 3);
    let a = issue(&mut e, Command::add("b", 1), 4, &mut rng).unwrap();
    let Action::PersistMutation(record) = &a[0] else {
        panic!("persist first: {a:?}")
    };
    (e, record.clone(), rng)
}

fn unreadable(key: &str, why: Unreadable) -> UnreadableRecord {
    UnreadableRecord { key: key.into(), why }
}

#[test]
fn a_clear_in_another_tab_writes_back_what_the_page_holds_and_says_so_once() {
    let (mut e, record, _) = holding();
    let a = e.on_storage(StorageChange::Cleared(Box::default()), 5);
    assert!(
        a.contains(&Action::PersistMutation(record.clone())),
        "intent is never lost"
    );
    assert!(a.contains(&Action::PersistToken(TokenRecord {
        token: Some(T.into()),
        generation: 1,
        merged: false,
    })));
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::PersistServerCart(c) if c.token == T)));
    assert!(
        a.contains(&Action::PersistUser(Some("user-1".into()))),
        "a clear is not a sign-out"
    );
    assert_eq!(storage_errors(&a), vec![(codes::STORAGE_CLEARED, None)]);
    assert_eq!(e.pending().len(), 1);
    assert_eq!(e.user(), Some("user-1"));
    // Another tab already wrote everything back: nothing to write, nothing to say.
    let a = e.on_storage(StorageChange::Cleared(Box::new(e.persisted())), 6);
    assert_eq!((writes(&a), storage_errors(&a).len()), (0, 0));
}

#[test]
fn a_write_back_never_goes_over_a_newer_token_another_tab_wrote() {
    let (mut e, _, _) = holding();
    let newer = Persisted {
        token: TokenRecord {
            token: Some("tok-2".into()),
            generation: 2,
            merged: false,
        },
        ..Persisted::default()
    };
    let a = e.on_storage(StorageChange::Cleared(Box::new(newer)), 5);
    assert!(!a.iter().any(|a| matches!(a, Action::PersistToken(_))));
    assert_eq!(e.token(), Some("tok-2"), "the newer token is taken");
    assert_eq!(e.pending().len(), 1, "and what is pending goes to it");
}

#[test]
fn a_clear_in_this_tab_is_found_after_the_next_send_and_when_taking_the_lead() {
    let (mut e, mut rng) = leader(1, &[]);
    let a = issue(&mut e, Command::add("a", 1), 5, &mut rng).unwrap();
    let send = a.iter().position(|a| matches!(a, Action::Send(_))).unwrap();
    assert!(
        a[send..].contains(&Action::ReadStorage),
        "a send looks at storage: {a:?}"
    );
    let Action::PersistMutation(record) = &a[0] else {
        panic!()
    };
    // "Clear site data": no event, storage found empty.
    let a = e.storage_read(Persisted::default(), 6);
    assert!(a.contains(&Action::PersistMutation(record.clone())));
    assert_eq!(storage_errors(&a), vec![(codes::STORAGE_CLEARED, None)]);
    // Found whole again: nothing more.
    let a = e.storage_read(e.persisted(), 7);
    assert_eq!((writes(&a), storage_errors(&a).len()), (0, 0));

    // A follower that takes the lead after a clear keeps what it holds
    // (it used to replace its outbox with the empty storage).
    let held = stored(T, cart_at(1, &[]), vec![record.clone()]);
    let (mut f, _) = Engine::restore(Config::default(), held, 0);
    let a = f.leadership_gained(Persisted::default(), 10);
    assert_eq!(f.pending().len(), 1);
    assert!(a.contains(&Action::PersistMutation(record.clone())));
    assert_eq!(batch(&a).map(|(_, ms)| ms.len()), Some(1), "and sends it");
}

#[test]
fn a_mutation_another_tab_acknowledged_is_not_taken_for_a_clear() {
    let (_, record, _) = holding();
    let held = stored(T, cart_at(1, &[]), vec![record.clone()]);
    let (mut f, _) = Engine::restore(Config::default(), held, 0);
    // The token record is there; the mutation is gone: acknowledged, its
    // removal's event not arrived yet.
    let now = stored(T, cart_at(2, &[("b", 1)]), vec![]);
    let a = f.leadership_gained(now, 10);
    assert!(f.pending().is_empty());
    assert!(!a.contains(&Action::PersistMutation(record)));
    assert!(storage_errors(&a).is_empty());
}

#[test]
fn an_unreadable_record_is_told_once_by_key_and_nothing_else_is_lost() {
    let (_, record, _) = holding();
    let garbage = "cartsync:v1:m:not-a-record";
    let mut persisted = stored(T, cart_at(1, &[]), vec![record.clone()]);
    persisted.unreadable = vec![unreadable(garbage, Unreadable::Corrupt)];
    let (mut e, a) = Engine::restore(Config::default(), persisted.clone(), 0);
    assert_eq!(storage_errors(&a), vec![(codes::STORAGE_CORRUPT, Some(garbage))]);
    assert_eq!(writes(&a), 0, "left in place: not removed, not written");
    assert_eq!((e.pending().len(), e.token()), (1, Some(T)));
    // Once per key: not again at leadership, nor by a storage event.
    let a = e.leadership_gained(persisted, 1);
    assert!(storage_errors(&a).is_empty());
    let a = e.on_storage(StorageChange::Unreadable(unreadable(garbage, Unreadable::Corrupt)), 2);
    assert!(storage_errors(&a).is_empty());
    // A record this page holds, turned into garbage: written back over it.
    let key = mutation_key(&record.mutation.id);
    let a = e.on_storage(StorageChange::Unreadable(unreadable(&key, Unreadable::Corrupt)), 3);
    assert!(a.contains(&Action::PersistMutation(record.clone())));
    assert_eq!(storage_errors(&a), vec![(codes::STORAGE_CORRUPT, Some(key.as_str()))]);
    assert_eq!(e.pending().len(), 1);
    // At leadership too: the held record survives its garbage in storage.
    let mut garbled = stored(T, cart_at(1, &[]), vec![]);
    garbled.unreadable = vec![unreadable(&key, Unreadable::Corrupt)];
    let a = e.leadership_gained(garbled, 4);
    assert_eq!(e.pending().len(), 1);
    assert!(a.contains(&Action::PersistMutation(record)));
    // A garbage token record reads as absent: the cart is not forgotten.
    let a = e.on_storage(StorageChange::Unreadable(unreadable(TOKEN_KEY, Unreadable::Corrupt)), 5);
    assert_eq!(e.token(), Some(T));
    assert!(a.iter().any(|a| matches!(a, Action::PersistToken(_))));
}

#[test]
fn a_newer_format_makes_the_page_step_aside_without_writing_over_it() {
    let (mut e, mut rng) = leader(1, &[]);
    // A flush waits on a batch in flight.
    issue(&mut e, Command::add("a", 1), 1, &mut rng).unwrap();
    let (op, _) = e.flush(1);
    let newer = unreadable(SERVER_CART_KEY, Unreadable::Newer);
    let a = e.on_storage(StorageChange::Unreadable(newer.clone()), 2);
    assert_eq!(
        storage_errors(&a),
        vec![(codes::STORAGE_NEWER_FORMAT, Some(SERVER_CART_KEY))]
    );
    assert!(a.contains(&Action::StepDown));
    assert!(!e.is_leader());
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Settle { op: o, outcome: Outcome::Failed(err) } if *o == op && err.code == codes::STORAGE_NEWER_FORMAT
    )), "what waited fails");
    // Commands still count (their own records, which a newer SDK reads),
    // but nothing is sent and no shared record is written.
    let a = issue(&mut e, Command::add("b", 1), 3, &mut rng).unwrap();
    assert!(sends(&a).is_empty());
    assert_eq!(e.pending().len(), 2);
    let (op, a) = e.flush(4);
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Settle { op: o, outcome: Outcome::Failed(err) } if *o == op && err.code == codes::STORAGE_NEWER_FORMAT
    )));
    let a = e.on_storage(StorageChange::Cleared(Box::default()), 5);
    assert_eq!(writes(&a), 0, "no write-back over what a newer SDK did");
    let a = e.leadership_gained(Persisted::default(), 6);
    assert!(a.contains(&Action::StepDown) && sends(&a).is_empty());
    assert!(!e.is_leader());
    let a = e.on_storage(
        StorageChange::Unreadable(unreadable("cartsync:v2:token", Unreadable::Newer)),
        7,
    );
    assert!(storage_errors(&a).is_empty(), "told once");
}

#[test]
fn a_newer_format_at_open_keeps_the_page_from_leading_by_lock_or_lease() {
    let mut persisted = stored(T, cart_at(1, &[]), vec![]);
    persisted.unreadable = vec![unreadable("cartsync:v2:m:x", Unreadable::Newer)];
    let (mut e, a) = Engine::restore(Config::default(), persisted.clone(), 0);
    assert_eq!(
        storage_errors(&a),
        vec![(codes::STORAGE_NEWER_FORMAT, Some("cartsync:v2:m:x"))]
    );
    let a = e.leadership_gained(persisted, 1);
    assert_eq!(a.iter().filter(|a| **a != Action::Emit(Event::Change)).count(), 1);
    assert!(a.contains(&Action::StepDown));
    let a = e.use_lease("tab-a".into(), None, 2);
    assert!(a.is_empty(), "never takes the lease: {a:?}");
    assert!(!e.is_leader());
}
