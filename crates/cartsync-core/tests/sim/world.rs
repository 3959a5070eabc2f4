//! The simulated world: clients (browsers) with tabs sharing one storage,
//! a lossy network, timers, all on one seeded event queue.

use super::authority::{Authority, Reply};
use super::trace::short;
use cartsync_core::engine::{
    mutation_key, Action, Config, Engine, Event, Failure, Persisted, Request, RequestId, ServerCart, StorageChange,
    StoredMutation, TokenRecord, SERVER_CART_KEY, TOKEN_KEY,
};
use cartsync_core::{MutationId, Random, SplitMix64};
use std::collections::{BTreeMap, BTreeSet};

/// A storage value, typed (the browser would hold JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Token(TokenRecord),
    Cart(ServerCart),
    Mutation(StoredMutation),
}

pub struct Tab {
    pub engine: Engine,
    pub incarnation: u64,
    pub timer: Option<u64>,
    /// Storage events reach a tab in write order.
    pub storage_clock: u64,
    /// The newest server cart this tab has known: (token, version).
    pub newest: Option<(String, u64)>,
}

pub struct Client {
    pub storage: BTreeMap<String, Value>,
    pub tabs: Vec<Option<Tab>>,
    pub leader: Option<usize>,
    pub online: bool,
    /// The engines' randomness (ids, jitter).
    pub rng: SplitMix64,
    pub stored_newest: Option<(String, u64)>,
}

/// Where a message goes: one incarnation of one tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Timer {
        to: Addr,
        at: u64,
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
    /// Ids of mutations issued, with their client.
    pub issued: Vec<(usize, MutationId)>,
    /// Ids some tab surfaced as rejected or expired.
    pub refused: BTreeSet<MutationId>,
    /// Ids some tab removed as acknowledged (no tombstone).
    pub acked: BTreeSet<MutationId>,
    pub tombstoned: BTreeSet<MutationId>,
    pub trace: Option<Vec<String>>,
    /// The first invariant broken during the run, if any.
    pub violation: Option<String>,
    pub conflicts: usize,
    pub replaced: usize,
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
        let mut p = Persisted::default();
        for value in self.clients[client].storage.values() {
            match value {
                Value::Token(t) => p.token = t.clone(),
                Value::Cart(c) => p.server_cart = Some(c.clone()),
                Value::Mutation(m) => p.pending.push(m.clone()),
            }
        }
        p
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
        // A tab's server cart only moves forward on one cart: a late answer
        // must never roll it back (and resurrect a removed line).
        let known = tab.engine.token().zip(tab.engine.server_cart().map(|c| c.version));
        if let (Some((token, version)), Some((old_token, old_version))) = (known, &tab.newest) {
            if token == old_token && version < *old_version && self.violation.is_none() {
                self.violation = Some(format!(
                    "c{}t{}: server cart of {token} went back from v{old_version} to v{version}",
                    a.client, a.tab
                ));
            }
        }
        if let Some((token, version)) = known {
            tab.newest = Some((token.to_string(), version));
        }
        self.carry_out(a, actions);
        self.check_storage(a.client);
    }

    /// A client leaves a cart only when it is gone (closed by a checkout):
    /// abandoning an open cart would lose what was acknowledged there.
    fn check_token_change(&mut self, client: usize, new: Option<&str>) {
        let Some(Value::Token(TokenRecord { token: Some(old), .. })) = self.clients[client].storage.get(TOKEN_KEY)
        else {
            return;
        };
        let open = self.authority.carts.get(old).is_some_and(|c| !c.closed);
        if open && new != Some(old.as_str()) && self.violation.is_none() {
            self.violation = Some(format!("c{client} abandoned the open cart {old} for {new:?}"));
        }
    }

    /// The stored server cart never goes back either.
    fn check_storage(&mut self, client: usize) {
        let c = &mut self.clients[client];
        let Some(Value::Cart(ServerCart { token, cart })) = c.storage.get(SERVER_CART_KEY) else {
            return;
        };
        if let Some((old_token, old)) = &c.stored_newest {
            if old_token == token && cart.version < *old && self.violation.is_none() {
                self.violation = Some(format!(
                    "c{client}: stored cart of {token} went back to v{}",
                    cart.version
                ));
            }
        }
        c.stored_newest = Some((token.clone(), cart.version));
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
                Action::Send(request) => {
                    // Once settled (rejected, expired), never sent again.
                    if let Request::Mutations { body, .. } = &request {
                        let again = body.mutations.iter().find(|m| self.refused.contains(&m.id));
                        if let (Some(m), None) = (again, &self.violation) {
                            self.violation = Some(format!("c{}t{} resent settled {}", a.client, a.tab, m.id));
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
                Action::ViewChanged(_) => {}
                Action::Emit(Event::Rejected { mutation, .. }) | Action::Emit(Event::Expired { mutation, .. }) => {
                    self.refused.insert(mutation.id);
                }
                Action::Emit(Event::Conflict { .. }) => self.conflicts += 1,
                Action::Emit(Event::CartReplaced { .. }) => self.replaced += 1,
                Action::Emit(_) => {}
            }
        }
    }

    /// A storage write; other tabs of the client hear of it (the writer
    /// does not, and an unchanged value fires no event, as in browsers).
    fn write(&mut self, from: Addr, key: String, value: Option<Value>, change: StorageChange) {
        let storage = &mut self.clients[from.client].storage;
        let changed = match value {
            Some(v) => storage.insert(key, v.clone()).as_ref() != Some(&v),
            None => storage.remove(&key).is_some(),
        };
        if !changed {
            return;
        }
        for to in self.open_tabs(from.client) {
            if to.tab == from.tab {
                continue;
            }
            let at = self.now + self.below(self.net.storage_delay);
            let Some(tab) = self.tab(to) else { continue };
            let at = at.max(tab.storage_clock);
            tab.storage_clock = at;
            self.push(
                at,
                Ev::Storage {
                    to,
                    change: change.clone(),
                },
            );
        }
    }

    fn send(&mut self, from: Addr, request: Request) {
        if !self.clients[from.client].online {
            let reply = Reply::Failed(Failure::Transient { retry_after_ms: None });
            let (id, epoch) = (request.id(), self.epoch);
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
                self.log(|| format!("net drops {}", request.id()));
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
        let id = request.id();
        let reply = if self.chance(self.net.fail) {
            let retry_after_ms = if self.chance(500) {
                Some(self.below(5_000))
            } else {
                None
            };
            Reply::Failed(Failure::Transient { retry_after_ms })
        } else {
            let reply = self.authority.handle(&request, self.now);
            // The connection may still break after the commit.
            if self.chance(self.net.fail) {
                Reply::Failed(Failure::Transient { retry_after_ms: None })
            } else {
                reply
            }
        };
        self.log(|| format!("authority {id} -> {}", super::trace::short_reply(&reply)));
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
