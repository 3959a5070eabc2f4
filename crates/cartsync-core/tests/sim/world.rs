//! The simulated world: clients (browsers) with tabs sharing one storage,
//! a lossy network, timers, all on one seeded event queue.

use super::authority::{Authority, Reply};
use super::trace::short;
use cartsync_core::engine::{
    mutation_key, optimistic_view, Action, CheckoutKey, Config, Engine, Event, Failure, Lease, OpId, Outcome,
    Persisted, Request, RequestId, RequestKind, ServerCart, StorageChange, StoredMutation, TokenRecord, CHECKOUT_KEY,
    LEASE_KEY, SERVER_CART_KEY, TOKEN_KEY, USER_KEY,
};
use cartsync_core::{ErrorBody, MutationId, Random, SplitMix64};
use std::collections::{BTreeMap, BTreeSet};

/// A storage value, typed (the browser would hold JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Token(TokenRecord),
    Cart(ServerCart),
    Mutation(StoredMutation),
    User(String),
    Checkout(CheckoutKey),
    Lease(Lease),
}

pub struct Tab {
    pub engine: Engine,
    pub incarnation: u64,
    pub timer: Option<u64>,
    pub lease_timer: Option<u64>,
    /// Storage events reach a tab in write order.
    pub storage_clock: u64,
    /// The newest server cart this tab has known: (token, version).
    pub newest: Option<(String, u64)>,
}

pub struct Client {
    pub storage: BTreeMap<String, Value>,
    pub tabs: Vec<Option<Tab>>,
    /// The tab holding the Web Lock (clients with Web Locks).
    pub leader: Option<usize>,
    /// Without Web Locks the tabs lead by the storage lease.
    pub locks: bool,
    pub online: bool,
    /// localStorage is full: new keys are refused.
    pub full: bool,
    /// The account this client signs in as, if it shares an account cart.
    pub account: Option<String>,
    /// The engines' randomness (ids, jitter).
    pub rng: SplitMix64,
    pub stored_newest: Option<(String, u64)>,
    /// IndexedDB: the records' copy, the worker's markers, its flush.
    pub copy: super::worker::Copy,
}

/// Records (of localStorage or of the worker's copy), as the engine
/// persisted them.
pub fn persisted<'a>(values: impl Iterator<Item = &'a Value>) -> Persisted {
    let mut p = Persisted::default();
    for value in values {
        match value {
            Value::Token(t) => p.token = t.clone(),
            Value::Cart(c) => p.server_cart = Some(c.clone()),
            Value::Mutation(m) => p.pending.push(m.clone()),
            Value::User(u) => p.user = Some(u.clone()),
            Value::Checkout(k) => p.checkout = Some(k.clone()),
            Value::Lease(_) => {}
        }
    }
    p
}

/// Where a message goes: one incarnation of one tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Addr {
    pub client: usize,
    pub tab: usize,
    pub incarnation: u64,
}

#[derive(Debug, Clone)]
pub enum Ev {
    ToAuthority {
        from: Addr,
        epoch: u64,
        request: Request,
    },
    ToTab {
        to: Addr,
        epoch: u64,
        id: RequestId,
        reply: Reply,
    },
    Storage {
        to: Addr,
        change: StorageChange,
    },
    /// Another tab wrote or removed the lease.
    LeaseWritten {
        to: Addr,
    },
    Timer {
        to: Addr,
        at: u64,
    },
    LeaseCheck {
        to: Addr,
        at: u64,
    },
    /// Background Sync fires (or the worker starts).
    WorkerStart {
        client: usize,
    },
    /// The worker's request went unanswered for the transport's timeout.
    WorkerTimeout {
        client: usize,
        incarnation: u64,
        id: RequestId,
    },
    /// The worker's message on the `cartsync` channel reaches a tab.
    WorkerAnnounced {
        to: Addr,
    },
}

/// Network fault rates, in per-mille.
#[derive(Debug, Clone, Copy)]
pub struct Net {
    pub drop: u64,
    pub dup: u64,
    pub fail: u64,
    pub max_delay: u64,
    /// Storage events can lag too (background tabs are throttled).
    pub storage_delay: u64,
}

pub const CALM: Net = Net {
    drop: 0,
    dup: 0,
    fail: 0,
    max_delay: 50,
    storage_delay: 30,
};

/// An operation a tab awaits, and what is checked when it settles.
#[derive(Debug, Clone)]
pub enum Watch {
    /// The tab's pending mutations when the flush started.
    Flush {
        pending: Vec<MutationId>,
    },
    Checkout,
    /// Sign-in (attach) as this user.
    Login(String),
    Logout,
}

pub struct World {
    pub rng: SplitMix64,
    pub now: u64,
    pub queue: BTreeMap<(u64, u64), Ev>,
    pub seq: u64,
    pub clients: Vec<Client>,
    pub authority: Authority,
    pub epoch: u64,
    pub net: Net,
    pub next_incarnation: u64,
    pub config: Config,
    /// Ids of mutations issued (stored), with their client.
    pub issued: Vec<(usize, MutationId)>,
    /// Ids of commands whose record storage refused: they never count.
    pub unstored: BTreeSet<MutationId>,
    /// Ids some tab surfaced as rejected or expired.
    pub refused: BTreeSet<MutationId>,
    /// Ids some tab removed as acknowledged (no tombstone).
    pub acked: BTreeSet<MutationId>,
    pub tombstoned: BTreeSet<MutationId>,
    /// Operations awaited, by tab incarnation.
    pub ops: BTreeMap<(Addr, OpId), Watch>,
    pub trace: Option<Vec<String>>,
    /// The first invariant broken during the run, if any.
    pub violation: Option<String>,
    pub conflicts: usize,
    pub replaced: usize,
    pub flushed: usize,
    pub ordered: usize,
    pub signed_in: usize,
    pub worker_flushes: usize,
    pub worker_acked: usize,
}

impl World {
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.rng.next_u64() % 1000 < per_mille
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    pub fn log(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("{:>9} {}", self.now, line()));
        }
    }

    pub fn violated(&mut self, what: impl FnOnce() -> String) {
        if self.violation.is_none() {
            self.violation = Some(what());
        }
    }

    pub fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    pub fn tab(&mut self, a: Addr) -> Option<&mut Tab> {
        self.clients[a.client].tabs[a.tab]
            .as_mut()
            .filter(|t| t.incarnation == a.incarnation)
    }

    pub fn open_tabs(&self, client: usize) -> Vec<Addr> {
        self.clients[client]
            .tabs
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                t.as_ref().map(|t| Addr {
                    client,
                    tab: i,
                    incarnation: t.incarnation,
                })
            })
            .collect()
    }

    /// What the client's storage holds, as the engine persisted it.
    pub fn read_storage(&self, client: usize) -> Persisted {
        persisted(self.clients[client].storage.values())
    }

    pub fn stored_lease(&self, client: usize) -> Option<Lease> {
        match self.clients[client].storage.get(LEASE_KEY) {
            Some(Value::Lease(l)) => Some(l.clone()),
            _ => None,
        }
    }

    /// Runs an engine call on a tab with the client's rng and carries out
    /// the actions.
    pub fn call(&mut self, a: Addr, f: impl FnOnce(&mut Engine, &mut SplitMix64, u64) -> Vec<Action>) {
        let now = self.now;
        let client = &mut self.clients[a.client];
        let Some(tab) = client.tabs[a.tab].as_mut().filter(|t| t.incarnation == a.incarnation) else {
            return;
        };
        let actions = f(&mut tab.engine, &mut client.rng, now);
        // The view kept in place is the view computed from scratch.
        let engine = &tab.engine;
        let scratch = optimistic_view(
            engine.server_cart(),
            &engine.pending().mutations(),
            &engine.config().limits,
        );
        let kept = engine.view().cart;
        // A tab's server cart only moves forward on one cart: a late answer
        // must never roll it back (and resurrect a removed line).
        let known = engine
            .token()
            .map(str::to_string)
            .zip(engine.server_cart().map(|c| c.version));
        let newest = tab.newest.clone();
        if let Some(known) = &known {
            tab.newest = Some(known.clone());
        }
        if kept != scratch {
            self.violated(|| {
                format!(
                    "c{}t{}: view kept in place {kept:?} != from scratch {scratch:?}",
                    a.client, a.tab
                )
            });
        }
        if let (Some((token, version)), Some((old_token, old_version))) = (known, newest) {
            if token == old_token && version < old_version {
                let (c, t) = (a.client, a.tab);
                self.violated(|| {
                    format!("c{c}t{t}: server cart of {token} went back from v{old_version} to v{version}")
                });
            }
        }
        self.carry_out(a, actions);
        self.check_storage(a.client);
    }

    /// A client leaves a cart only when it is gone (closed by a checkout,
    /// merged at sign-in) or is an account's (signing out leaves it to the
    /// account): abandoning an anonymous open cart would lose what was
    /// acknowledged there.
    fn check_token_change(&mut self, client: usize, new: Option<&str>) {
        let Some(Value::Token(TokenRecord { token: Some(old), .. })) = self.clients[client].storage.get(TOKEN_KEY)
        else {
            return;
        };
        let open = self
            .authority
            .carts
            .get(old)
            .is_some_and(|c| !c.closed && c.owner.is_none());
        if open && new != Some(old.as_str()) {
            let old = old.clone();
            self.violated(|| format!("c{client} abandoned the open cart {old} for {new:?}"));
        }
    }

    /// The stored server cart never goes back either.
    fn check_storage(&mut self, client: usize) {
        let c = &mut self.clients[client];
        let Some(Value::Cart(ServerCart { token, cart, .. })) = c.storage.get(SERVER_CART_KEY) else {
            return;
        };
        let went_back = matches!(&c.stored_newest, Some((old_token, old)) if old_token == token && cart.version < *old);
        c.stored_newest = Some((token.clone(), cart.version));
        if went_back {
            let (token, version) = (token.clone(), cart.version);
            self.violated(|| format!("c{client}: stored cart of {token} went back to v{version}"));
        }
    }

    pub fn carry_out(&mut self, a: Addr, actions: Vec<Action>) {
        for action in actions {
            self.log(|| format!("c{}t{} {}", a.client, a.tab, short(&action)));
            match action {
                Action::PersistMutation(r) => {
                    if r.settled.is_some() {
                        self.tombstoned.insert(r.mutation.id);
                    }
                    let key = mutation_key(&r.mutation.id);
                    self.write(
                        a,
                        key,
                        Some(Value::Mutation(r.clone())),
                        StorageChange::MutationAdded(r),
                    );
                }
                Action::RemoveMutation(id) => {
                    if !self.tombstoned.contains(&id) {
                        self.acked.insert(id);
                    }
                    self.write(a, mutation_key(&id), None, StorageChange::MutationRemoved(id));
                }
                Action::PersistToken(t) => {
                    self.check_token_change(a.client, t.token.as_deref());
                    let change = StorageChange::TokenChanged(t.clone());
                    self.write(a, TOKEN_KEY.into(), Some(Value::Token(t)), change);
                }
                Action::PersistServerCart(c) => {
                    let change = StorageChange::ServerCartChanged(c.clone());
                    self.write(a, SERVER_CART_KEY.into(), Some(Value::Cart(c)), change);
                }
                Action::RemoveServerCart => {
                    // No other tab needs an event: the token change follows.
                    self.clients[a.client].storage.remove(SERVER_CART_KEY);
                    super::worker::touch(self, a.client, a.tab, SERVER_CART_KEY);
                }
                Action::PersistUser(u) => {
                    let change = StorageChange::UserChanged(u.clone());
                    self.write(a, USER_KEY.into(), u.map(Value::User), change);
                }
                Action::PersistCheckoutKey(k) => {
                    let change = StorageChange::CheckoutKeyChanged(k.clone());
                    self.write(a, CHECKOUT_KEY.into(), k.map(Value::Checkout), change);
                }
                Action::PersistLease(l) => self.write_lease(a, Some(l)),
                Action::RemoveLease => self.write_lease(a, None),
                Action::Lead => {
                    let storage = self.read_storage(a.client);
                    self.log(|| format!("c{}t{} leads", a.client, a.tab));
                    self.call(a, |e, _, now| e.leadership_gained(storage, now));
                }
                Action::Send(request) => {
                    // Once settled (rejected, expired), never sent again by
                    // the one tab that leads. (Two tabs may both hold a lease
                    // for a moment, and the second may send what the first
                    // just settled: the authority answers it as a duplicate.)
                    let locks = self.clients[a.client].locks;
                    if let (true, RequestKind::Mutations { body, .. }) = (locks, &request.kind) {
                        if let Some(m) = body.mutations.iter().find(|m| self.refused.contains(&m.id)) {
                            let id = m.id;
                            self.violated(|| format!("c{}t{} resent settled {id}", a.client, a.tab));
                        }
                    }
                    self.send(a, request)
                }
                Action::ScheduleTimer { at } => {
                    if let Some(tab) = self.tab(a) {
                        tab.timer = Some(at);
                    }
                    self.push(at, Ev::Timer { to: a, at });
                }
                Action::ScheduleLeaseCheck { at } => {
                    if let Some(tab) = self.tab(a) {
                        tab.lease_timer = Some(at);
                    }
                    self.push(at, Ev::LeaseCheck { to: a, at });
                }
                Action::Emit(Event::Rejected { mutation_id, code, .. }) => {
                    if code == "unauthorized" {
                        self.violated(|| format!("{mutation_id} rejected for a credentials problem"));
                    }
                    self.refused.insert(mutation_id);
                }
                Action::Emit(Event::Expired { mutation_id, .. }) => {
                    self.refused.insert(mutation_id);
                }
                // Background Sync: the worker flushes once the browser is
                // online (see `sim/worker.rs`).
                Action::RequestBackgroundFlush => {
                    let at = self.now + 1 + self.below(5_000);
                    self.push(at, Ev::WorkerStart { client: a.client });
                }
                Action::Emit(Event::Conflict { .. }) => self.conflicts += 1,
                Action::Emit(Event::CartReplaced { .. }) => self.replaced += 1,
                Action::Emit(_) => {}
                Action::Settle { op, outcome } => self.settled(a, op, outcome),
                // Storage here is never cleared under a tab: the read finds
                // it whole (a write-back would be a false alarm).
                Action::ReadWorkerCopy => super::worker::absorb(self, a),
                Action::ReadCart => {
                    let stored = self.read_storage(a.client);
                    self.call(a, |e, _, now| e.cart_read(stored, now));
                }
                Action::ReadStorage => {
                    let storage = self.read_storage(a.client);
                    self.call(a, |e, _, now| e.storage_read(storage, now));
                }
                Action::StepDown => {
                    self.violated(|| format!("c{}t{} stepped down with no newer format", a.client, a.tab))
                }
            }
        }
    }

    /// An operation settled: check what it promised.
    fn settled(&mut self, a: Addr, op: OpId, outcome: Outcome) {
        let Some(watch) = self.ops.remove(&(a, op)) else {
            let (c, t) = (a.client, a.tab);
            return self.violated(|| format!("c{c}t{t}: {op:?} settled twice or never started"));
        };
        match (watch, outcome) {
            (Watch::Flush { pending }, Outcome::Flushed) => {
                self.flushed += 1;
                // Flushed: each mutation it waited for is applied, or was
                // surfaced as refused.
                let applied: BTreeSet<MutationId> = self
                    .authority
                    .carts
                    .values()
                    .flat_map(|c| c.events.iter().map(|e| e.mutation_id))
                    .collect();
                if let Some(id) = pending
                    .iter()
                    .find(|id| !applied.contains(id) && !self.refused.contains(id))
                {
                    let id = *id;
                    self.violated(|| format!("c{}t{}: flush settled before {id} was applied", a.client, a.tab));
                }
            }
            (Watch::Login(user), Outcome::LoggedIn(_)) => {
                self.signed_in += 1;
                // Signed in: this tab is on an open cart of that account.
                let token = self.tab(a).and_then(|t| t.engine.token().map(str::to_string));
                let owner = token
                    .as_ref()
                    .and_then(|t| self.authority.carts.get(t))
                    .and_then(|c| c.owner.clone());
                if owner.as_ref() != Some(&user) {
                    let (c, t) = (a.client, a.tab);
                    self.violated(|| format!("c{c}t{t}: signed in as {user} on {token:?}, owned by {owner:?}"));
                }
            }
            (Watch::Checkout, Outcome::Ordered(order)) => {
                self.ordered += 1;
                let owners: Vec<String> = self
                    .authority
                    .orders
                    .values()
                    .filter(|p| p.order.id == order.id)
                    .map(|p| p.token.clone())
                    .collect();
                if owners.len() != 1 {
                    self.violated(|| format!("order {} answered but not placed once: {owners:?}", order.id));
                }
            }
            _ => {}
        }
    }

    /// A storage write; other tabs of the client hear of it (the writer
    /// does not, and an unchanged value fires no event, as in browsers).
    pub fn write(&mut self, from: Addr, key: String, value: Option<Value>, change: StorageChange) {
        super::worker::touch(self, from.client, from.tab, &key);
        if !self.store(from.client, key, value) {
            return;
        }
        for to in self.open_tabs(from.client) {
            if to.tab == from.tab {
                continue;
            }
            let at = self.storage_event_time(to);
            self.push(
                at,
                Ev::Storage {
                    to,
                    change: change.clone(),
                },
            );
        }
    }

    fn write_lease(&mut self, from: Addr, lease: Option<Lease>) {
        if !self.store(from.client, LEASE_KEY.into(), lease.map(Value::Lease)) {
            return;
        }
        for to in self.open_tabs(from.client) {
            if to.tab != from.tab {
                let at = self.storage_event_time(to);
                self.push(at, Ev::LeaseWritten { to });
            }
        }
    }

    /// Writes or removes a key; whether it changed.
    fn store(&mut self, client: usize, key: String, value: Option<Value>) -> bool {
        let storage = &mut self.clients[client].storage;
        match value {
            Some(v) => storage.insert(key, v.clone()).as_ref() != Some(&v),
            None => storage.remove(&key).is_some(),
        }
    }

    fn storage_event_time(&mut self, to: Addr) -> u64 {
        let at = self.now + self.below(self.net.storage_delay);
        match self.tab(to) {
            Some(tab) => {
                let at = at.max(tab.storage_clock);
                tab.storage_clock = at;
                at
            }
            None => at,
        }
    }

    pub fn send(&mut self, from: Addr, request: Request) {
        if !self.clients[from.client].online {
            let reply = Reply::Failed(Failure::Transient {
                retry_after_ms: None,
                error: cartsync_core::engine::network_error(),
            });
            let (id, epoch) = (request.id, self.epoch);
            self.push(
                self.now + 1,
                Ev::ToTab {
                    to: from,
                    epoch,
                    id,
                    reply,
                },
            );
            return;
        }
        let copies = if self.chance(self.net.dup) { 2 } else { 1 };
        for _ in 0..copies {
            if self.chance(self.net.drop) {
                self.log(|| format!("net drops r{}", request.id.0));
                continue;
            }
            let at = self.now + 1 + self.below(self.net.max_delay);
            let epoch = self.epoch;
            self.push(
                at,
                Ev::ToAuthority {
                    from,
                    epoch,
                    request: request.clone(),
                },
            );
        }
    }

    /// The authority answers (unless it restarted since the request left).
    pub fn serve(&mut self, from: Addr, epoch: u64, request: Request) {
        if epoch != self.epoch {
            return;
        }
        let id = request.id;
        let transient = |retry_after_ms| {
            Reply::Failed(Failure::Transient {
                retry_after_ms,
                error: ErrorBody {
                    code: "server_error".into(),
                    message: "the server answered 503".into(),
                },
            })
        };
        let reply = if self.chance(self.net.fail) {
            let retry_after_ms = if self.chance(500) {
                Some(self.below(5_000))
            } else {
                None
            };
            transient(retry_after_ms)
        } else {
            let reply = self.authority.handle(&request, self.now);
            // The connection may still break after the commit.
            if self.chance(self.net.fail) {
                transient(None)
            } else {
                reply
            }
        };
        self.log(|| format!("authority r{} -> {}", id.0, super::trace::short_reply(&reply)));
        let copies = if self.chance(self.net.dup) { 2 } else { 1 };
        for _ in 0..copies {
            if self.chance(self.net.drop) {
                continue;
            }
            let at = self.now + 1 + self.below(self.net.max_delay);
            self.push(
                at,
                Ev::ToTab {
                    to: from,
                    epoch,
                    id,
                    reply: reply.clone(),
                },
            );
        }
    }
}
