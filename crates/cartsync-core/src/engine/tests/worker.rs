//! The service worker's flush (`WorkerFlush`) and what a page takes in
//! from it (`Engine::absorb_worker`).

use super::*;

/// A record issued by a page that never got to send it.
fn pending(command: Command, now: u64, rng: &mut SplitMix64) -> StoredMutation {
    let (mut page, _) = Engine::restore(Config::default(), stored(T, cart_at(1, &[]), vec![]), 0);
    page.issue(command, now, rng).unwrap()
}

/// Answers every send of a round with `answer` and returns the next round.
fn answer_round(
    f: &mut WorkerFlush,
    round: &Round,
    now: u64,
    rng: &mut SplitMix64,
    answer: impl Fn(&Request) -> Result<Response, Failure>,
) {
    for request in &round.sends {
        f.on_answer(request.id, answer(request), now, rng);
    }
}

/// Every mutation of a request, answered with `status`.
fn answered(request: &Request, status: MutationStatus, error: Option<&str>) -> Result<Response, Failure> {
    let RequestKind::Mutations { body, .. } = &request.kind else {
        panic!("the worker sends only mutations: {request:?}")
    };
    let results = body.mutations.iter().map(|m| result(m.id, status, 2, error)).collect();
    Ok(ok_response(cart_at(2, &[("a", 1)]), results))
}

fn markers(round: &Round) -> Vec<&WorkerSettled> {
    round
        .writes
        .iter()
        .filter_map(|w| match w {
            CopyWrite::Settled(s) => Some(s),
            CopyWrite::Record(_) => None,
        })
        .collect()
}

fn runs_to_the_end(f: &mut WorkerFlush, now: u64) -> Vec<Round> {
    let mut rounds = Vec::new();
    while let Some(round) = f.poll(now) {
        assert!(round.sends.is_empty(), "no answers given: no more sends");
        rounds.push(round);
    }
    rounds
}

#[test]
fn a_worker_flush_sends_with_the_same_ids_and_marks_what_was_acknowledged() {
    let mut rng = SplitMix64(7);
    let record = pending(Command::add("a", 1), 1, &mut rng);
    let id = record.mutation.id;
    let mut f = WorkerFlush::start(Config::default(), stored(T, cart_at(1, &[]), vec![record]), 2);
    let round = f.poll(2).expect("something to send");
    let (_, sent) = batch(&round.sends.iter().cloned().map(Action::Send).collect::<Vec<_>>()).unwrap();
    assert_eq!(sent[0].id, id, "the page's mutation id");
    answer_round(&mut f, &round, 3, &mut rng, |r| {
        answered(r, MutationStatus::Applied, None)
    });
    let rest = runs_to_the_end(&mut f, 3);
    let writes: Vec<&CopyWrite> = rest.iter().flat_map(|r| &r.writes).collect();
    assert!(writes.contains(&&CopyWrite::Settled(WorkerSettled::Acknowledged(id))));
    assert!(writes.contains(&&CopyWrite::Record(Box::new(Action::RemoveMutation(id)))));
    let report = f.report();
    assert_eq!((report.acknowledged, report.remaining, report.retry), (1, 0, false));
    assert!(report.requests >= 1);
}

#[test]
fn a_worker_makes_the_cart_when_the_first_adds_were_made_offline() {
    let mut rng = SplitMix64(8);
    let record = pending(Command::add("a", 1), 1, &mut rng);
    let id = record.mutation.id;
    let copy = Persisted {
        pending: vec![record],
        ..Persisted::default()
    };
    let mut f = WorkerFlush::start(Config::default(), copy, 2);
    let round = f.poll(2).expect("a cart to make");
    let [Request {
        id: create,
        kind: RequestKind::CreateCart,
        ..
    }] = round.sends[..]
    else {
        panic!("create first: {round:?}")
    };
    let created = Response::Created(CreateCartResponse {
        token: T.into(),
        cart: cart_at(0, &[]),
    });
    f.on_answer(create, Ok(created), 3, &mut rng);
    let round = f.poll(3).expect("then the mutation");
    assert!(
        round.writes.iter().any(|w| matches!(w, CopyWrite::Record(a)
            if matches!(&**a, Action::PersistToken(TokenRecord { token: Some(t), .. }) if t == T))),
        "the token is written to the copy for the pages: {round:?}"
    );
    let (_, sent) = batch(&round.sends.iter().cloned().map(Action::Send).collect::<Vec<_>>()).unwrap();
    assert_eq!(sent[0].id, id);
}

#[test]
fn a_failed_send_ends_the_flush_for_background_sync_to_retry() {
    let mut rng = SplitMix64(9);
    let record = pending(Command::add("a", 1), 1, &mut rng);
    let mut f = WorkerFlush::start(Config::default(), stored(T, cart_at(1, &[]), vec![record]), 2);
    let round = f.poll(2).unwrap();
    answer_round(&mut f, &round, 3, &mut rng, |_| Err(transient(None)));
    runs_to_the_end(&mut f, 3);
    let report = f.report();
    assert_eq!((report.acknowledged, report.remaining, report.retry), (0, 1, true));
}

#[test]
fn a_refused_mutation_leaves_its_tombstone_as_the_marker_not_an_acknowledgement() {
    let mut rng = SplitMix64(10);
    let record = pending(Command::add("ghost", 1), 1, &mut rng);
    let id = record.mutation.id;
    let mut f = WorkerFlush::start(Config::default(), stored(T, cart_at(1, &[]), vec![record]), 2);
    let round = f.poll(2).unwrap();
    answer_round(&mut f, &round, 3, &mut rng, |r| {
        answered(r, MutationStatus::Rejected, Some("unknown_sku"))
    });
    let rest = runs_to_the_end(&mut f, 3);
    let marks: Vec<&WorkerSettled> = rest.iter().flat_map(markers).collect();
    assert!(matches!(marks[..], [WorkerSettled::Tombstone(r)] if r.mutation.id == id && r.settled.is_some()));
    let report = f.report();
    assert_eq!((report.acknowledged, report.rejected, report.remaining), (0, 1, 0));
}

#[test]
fn a_tombstone_left_in_the_copy_is_passed_on_as_a_tombstone() {
    let mut rng = SplitMix64(11);
    let mut record = pending(Command::add("ghost", 1), 1, &mut rng);
    record.settled = Some(Settled::Rejected {
        error: body("unknown_sku"),
    });
    let id = record.mutation.id;
    let mut f = WorkerFlush::start(Config::default(), stored(T, cart_at(1, &[]), vec![record]), 2);
    let mut marks = Vec::new();
    while let Some(round) = f.poll(2) {
        marks.extend(markers(&round).into_iter().cloned());
        answer_round(&mut f, &round, 3, &mut rng, |r| {
            answered(r, MutationStatus::Applied, None)
        });
    }
    assert!(matches!(&marks[..], [WorkerSettled::Tombstone(r)] if r.mutation.id == id));
    assert_eq!(f.report().acknowledged, 0);
}

#[test]
fn a_page_removes_what_the_worker_acknowledged_even_before_it_heard_of_it() {
    // Another tab's mutation whose storage event has not reached this tab
    // yet: the record must still leave storage (this tab would ignore the
    // late event for an id it removed, and nobody would send it).
    let (mut e, mut rng) = leader(1, &[]);
    let other = pending(Command::add("a", 1), 2, &mut rng);
    let id = other.mutation.id;
    let a = e.absorb_worker(Persisted::default(), vec![WorkerSettled::Acknowledged(id)], 3);
    assert!(a.contains(&Action::RemoveMutation(id)));
    let a = e.on_storage(StorageChange::MutationAdded(other), 4);
    assert!(
        sends(&a).is_empty() && e.pending().is_empty(),
        "the late event is ignored"
    );
}

#[test]
fn a_page_tells_once_of_a_refusal_the_worker_settled_for_another_tab() {
    let (mut e, mut rng) = leader(1, &[]);
    let mut tombstone = pending(Command::add("ghost", 1), 2, &mut rng);
    tombstone.settled = Some(Settled::Rejected {
        error: body("unknown_sku"),
    });
    let id = tombstone.mutation.id;
    let marker = || vec![WorkerSettled::Tombstone(tombstone.clone())];
    let a = e.absorb_worker(Persisted::default(), marker(), 3);
    assert!(matches!(events(&a)[..], [Event::Rejected { code, .. }] if code == "unknown_sku"));
    assert!(a.contains(&Action::RemoveMutation(id)));
    let again = e.absorb_worker(Persisted::default(), marker(), 4);
    assert!(events(&again).is_empty(), "heard twice, told once");
}

#[test]
fn a_tab_granted_the_lock_takes_in_what_the_worker_did_before_it_leads() {
    // The worker held the lock and made the cart for adds made offline; the
    // tab that gets the lock next must go on with that cart, not make one.
    let mut rng = SplitMix64(12);
    let record = pending(Command::add("a", 1), 1, &mut rng);
    let mine = Persisted {
        pending: vec![record.clone()],
        ..Persisted::default()
    };
    let (mut e, _) = Engine::restore(Config::default(), mine, 2);
    assert_eq!(e.lock_granted(), vec![Action::ReadWorkerCopy], "the copy first");
    let worker = stored(T, cart_at(1, &[("a", 1)]), vec![]);
    let a = e.absorb_worker(worker, vec![WorkerSettled::Acknowledged(record.mutation.id)], 3);
    assert_eq!(a.last(), Some(&Action::Lead), "then it leads: {a:?}");
    assert_eq!(e.token(), Some(T));
    assert!(e.pending().is_empty());
    // Taken in again later (the worker's announcement): no second lead.
    let a = e.absorb_worker(Persisted::default(), Vec::new(), 4);
    assert!(!a.contains(&Action::Lead));
}
