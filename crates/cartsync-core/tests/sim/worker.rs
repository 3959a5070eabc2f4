//! The service worker (`cartsync/sw`) in the simulation: each client has
//! an IndexedDB copy of its records, kept by its pages (a write is copied
//! in the page's next microtask, so a tab that crashes may leave the copy
//! behind; the whole copy is made again when a page opens), and a worker
//! that runs the core's [`WorkerFlush`] on that copy when Background Sync
//! fires or the worker starts, under the flush lock (only while no tab
//! holds it; a browser without Web Locks gets no worker flush). Pages take
//! in what the worker did when they open, before they lead, and when the
//! worker announces it.

use super::authority::Reply;
use super::world::{Addr, Ev, Value, World};
use cartsync_core::engine::{
    mutation_key, Action, CopyWrite, Persisted, Request, RequestId, WorkerFlush, WorkerSettled, CHECKOUT_KEY,
    LEASE_KEY, SERVER_CART_KEY, TOKEN_KEY, USER_KEY,
};
use cartsync_core::MutationId;
use std::collections::{BTreeMap, VecDeque};

/// The worker's slot in an [`Addr`] (tabs are 0..3).
pub const WORKER: usize = usize::MAX;

/// A worker's flush under way.
pub struct WorkerRun {
    pub flush: WorkerFlush,
    pub incarnation: u64,
    /// Left to send in this round, one after another.
    pub sends: VecDeque<Request>,
    /// The request awaiting its answer.
    pub in_flight: Option<RequestId>,
    /// Its timeout's place in the queue (dropped when the answer comes).
    pub timeout: Option<(u64, u64)>,
    /// The flush lock is the worker's (browsers with Web Locks).
    pub holds_lock: bool,
}

/// The client's IndexedDB side.
#[derive(Default)]
pub struct Copy {
    pub records: BTreeMap<String, Value>,
    /// Keys a tab wrote whose copy is still to come (its microtask), by tab.
    pub dirty: Vec<(usize, String)>,
    /// The worker's markers.
    pub markers: BTreeMap<MutationId, WorkerSettled>,
    pub run: Option<WorkerRun>,
}

/// A page (`slot`) wrote `key`: copied in its next microtask.
pub fn touch(w: &mut World, client: usize, slot: usize, key: &str) {
    if key != LEASE_KEY {
        w.clients[client].copy.dirty.push((slot, key.to_string()));
    }
}

/// The pages' microtasks run: the copy takes localStorage's current values
/// of the keys written.
pub fn run_microtasks(w: &mut World) {
    for c in &mut w.clients {
        for (_, key) in std::mem::take(&mut c.copy.dirty) {
            match c.storage.get(&key) {
                Some(v) => c.copy.records.insert(key, v.clone()),
                None => c.copy.records.remove(&key),
            };
        }
    }
}

/// A tab crashed: its writes not yet copied may never be.
pub fn crash(w: &mut World, client: usize, slot: usize) {
    if w.chance(500) {
        w.clients[client].copy.dirty.retain(|(s, _)| *s != slot);
    }
}

/// What the copy holds, as the engine persisted it.
fn read_copy(w: &World, client: usize) -> Persisted {
    super::world::persisted(w.clients[client].copy.records.values())
}

/// A page takes in what the worker settled (`Engine::absorb_worker`), then
/// deletes the markers it read.
pub fn absorb(w: &mut World, a: Addr) {
    let remote = read_copy(w, a.client);
    let settled: Vec<WorkerSettled> = w.clients[a.client].copy.markers.values().cloned().collect();
    w.log(|| format!("c{}t{} absorbs {} worker markers", a.client, a.tab, settled.len()));
    w.call(a, |e, _, now| e.absorb_worker(remote, settled, now));
    w.clients[a.client].copy.markers.clear();
}

/// After `absorb` at a page's open: the copy is made equal to localStorage
/// (markers stay).
pub fn copy_all(w: &mut World, client: usize) {
    let c = &mut w.clients[client];
    c.copy.records = c
        .storage
        .iter()
        .filter(|(k, _)| *k != LEASE_KEY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
}

/// Background Sync fires, the worker starts, or a page asks: the worker
/// flushes unless a flush is under way or a tab holds the flush lock.
pub fn start(w: &mut World, client: usize) {
    if w.clients[client].copy.run.is_some() {
        return;
    }
    let locks = w.clients[client].locks;
    if !locks || w.clients[client].leader.is_some() {
        w.log(|| format!("c{client} worker: no lock (a tab holds it, or no Web Locks)"));
        return;
    }
    let stored = read_copy(w, client);
    let flush = WorkerFlush::start(w.config.clone(), stored, w.now);
    w.next_incarnation += 1;
    let incarnation = w.next_incarnation;
    w.log(|| format!("c{client} worker starts a flush"));
    if locks {
        w.clients[client].leader = Some(WORKER);
    }
    w.clients[client].copy.run = Some(WorkerRun {
        flush,
        incarnation,
        sends: VecDeque::new(),
        in_flight: None,
        timeout: None,
        holds_lock: locks,
    });
    step(w, client);
}

/// Sends the next request of the round, or polls for the next round.
fn step(w: &mut World, client: usize) {
    loop {
        let now = w.now;
        let Some(run) = w.clients[client].copy.run.as_mut() else {
            return;
        };
        if let Some(request) = run.sends.pop_front() {
            let (id, incarnation) = (request.id, run.incarnation);
            run.in_flight = Some(id);
            let from = Addr {
                client,
                tab: WORKER,
                incarnation,
            };
            w.log(|| format!("c{client} worker sends r{}", id.0));
            w.send(from, request);
            let at = now + w.config.request_timeout_ms;
            w.push(
                at,
                Ev::WorkerTimeout {
                    client,
                    incarnation,
                    id,
                },
            );
            let key = (at, w.seq);
            if let Some(run) = w.clients[client].copy.run.as_mut() {
                run.timeout = Some(key);
            }
            return;
        }
        match run.flush.poll(now) {
            Some(round) => {
                run.sends = round.sends.into();
                for write in round.writes {
                    apply(w, client, write);
                }
            }
            None => return finish(w, client),
        }
    }
}

/// Carries out a write on the copy.
fn apply(w: &mut World, client: usize, write: CopyWrite) {
    match write {
        CopyWrite::Settled(s) => {
            let id = match &s {
                WorkerSettled::Acknowledged(id) => *id,
                WorkerSettled::Tombstone(r) => r.mutation.id,
            };
            if let WorkerSettled::Tombstone(_) = s {
                w.tombstoned.insert(id);
            } else if !w.tombstoned.contains(&id) {
                w.acked.insert(id);
            }
            w.clients[client].copy.markers.insert(id, s);
        }
        CopyWrite::Record(action) => {
            let (key, value) = match *action {
                Action::PersistMutation(r) => (mutation_key(&r.mutation.id), Some(Value::Mutation(r))),
                Action::RemoveMutation(id) => (mutation_key(&id), None),
                Action::PersistToken(t) => (TOKEN_KEY.to_string(), Some(Value::Token(t))),
                Action::PersistServerCart(c) => (SERVER_CART_KEY.to_string(), Some(Value::Cart(c))),
                Action::RemoveServerCart => (SERVER_CART_KEY.to_string(), None),
                Action::PersistUser(u) => (USER_KEY.to_string(), u.map(Value::User)),
                Action::PersistCheckoutKey(k) => (CHECKOUT_KEY.to_string(), k.map(Value::Checkout)),
                other => unreachable!("not a copy write: {other:?}"),
            };
            let records = &mut w.clients[client].copy.records;
            match value {
                Some(v) => records.insert(key, v),
                None => records.remove(&key),
            };
        }
    }
}

/// The flush is over: the lock passes on, and every open tab hears of it
/// (the `cartsync` channel) when something was settled. A flush that
/// failed is retried by Background Sync, later.
fn finish(w: &mut World, client: usize) {
    let Some(run) = w.clients[client].copy.run.take() else {
        return;
    };
    let report = run.flush.report();
    w.worker_flushes += 1;
    w.worker_acked += report.acknowledged as usize;
    w.log(|| format!("c{client} worker done: {report:?}"));
    if report.acknowledged + report.rejected > 0 {
        for to in w.open_tabs(client) {
            let at = w.now + 1 + w.below(w.net.storage_delay);
            w.push(at, Ev::WorkerAnnounced { to });
        }
    }
    if run.holds_lock && w.clients[client].leader == Some(WORKER) {
        w.clients[client].leader = None;
        super::pass_lead(w, client);
    }
    if report.retry {
        let at = w.now + 1_000 + w.below(30_000);
        w.push(at, Ev::WorkerStart { client });
    }
}

/// An answer (or the transport's timeout) for the worker's request.
pub fn answered(w: &mut World, to: Addr, id: RequestId, reply: Reply) {
    let now = w.now;
    let c = &mut w.clients[to.client];
    let Some(run) = c.copy.run.as_mut() else { return };
    if run.incarnation != to.incarnation || run.in_flight != Some(id) {
        return;
    }
    run.in_flight = None;
    let timeout = run.timeout.take();
    if let Some(key) = timeout {
        w.queue.remove(&key);
    }
    let c = &mut w.clients[to.client];
    let Some(run) = c.copy.run.as_mut() else { return };
    let answer = match reply {
        Reply::Answer(r) => Ok(*r),
        Reply::Failed(f) => Err(f),
    };
    run.flush.on_answer(id, answer, now, &mut c.rng);
    step(w, to.client);
}
