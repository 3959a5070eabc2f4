//! The sans-IO client sync engine, in the style of quinn-proto: it takes
//! inputs (a command issued and then persisted, a response or failure, a
//! timer, a storage change from another tab, online/offline, flush
//! leadership, the lease, an operation a caller awaits) and returns
//! [`Action`]s for the binding to carry out in order. It never sleeps,
//! fetches, reads a clock or draws randomness of its own: time comes in as
//! `now` (ms since the epoch), randomness as `&mut dyn Random`.
//!
//! Every client policy is decided here, where the simulation reaches it:
//! what a command does and when it counts, what is stored and sent, how an
//! answer is read, backoff, rebase, expiry, which tab sends (Web Lock, or
//! the storage lease where Web Locks are missing), when `flush()` settles,
//! the checkout's idempotency key, what a refused storage write means, and
//! what a sign-in in another tab changes.
//!
//! Invariants:
//! - a command counts only once its record is in storage: [`Engine::issue`]
//!   validates it and gives the record to write, [`Engine::stored`]
//!   counts it, [`Engine::not_stored`] forgets it (the binding throws);
//! - every mutation keeps the id it was issued with, for life;
//! - a mutation leaves storage only when the authority acknowledged it
//!   (applied, or duplicate without error), or with a tombstone and an event
//!   (`Rejected`, `Expired`): never a silent rollback;
//! - only the leader tab sends mutations and writes what the server said
//!   (token, server cart), never a cart older than the one it knows; token
//!   writes carry a generation and cart writes their token, so a storage
//!   event that arrives late never rolls a tab back;
//! - a tab moves to another cart (a new one, a sign-in's account cart,
//!   leaving one at sign-out, marking one merged) only after reading which
//!   cart storage names at that moment ([`Action::ReadCart`], `moves.rs`),
//!   so that no cart with something applied to it is left to no one;
//! - at most one mutations request is in flight; a late answer is still used
//!   for what it proves (per-mutation results) but its cart only if it is
//!   newer.
//!
//! ```
//! use cartsync_core::engine::{Action, Config, Engine, Persisted};
//! use cartsync_core::{Command, SplitMix64};
//! let mut rng = SplitMix64(1);
//! let (mut engine, _) = Engine::restore(Config::default(), Persisted::default(), 0);
//! engine.leadership_gained(Persisted::default(), 0);
//! let record = engine.issue(Command::add("tee", 1), 10, &mut rng).unwrap();
//! // ... the binding writes `record` to storage, then:
//! let actions = engine.stored(record.mutation.id, 10);
//! assert!(actions.iter().any(|a| matches!(a, Action::Send(_)))); // create-cart
//! assert_eq!(engine.view().cart.lines[0].quantity, 1);
//! ```

mod answer;
mod backoff;
pub mod codes;
mod faults;
mod flush;
mod handle;
mod lease;
mod moves;
mod ops;
mod outbox;
mod storage;
mod types;
mod view;
mod view_terms;
mod worker;
mod worker_flush;

#[cfg(test)]
mod tests;

pub use answer::{network_error, AnswerBody};
pub use backoff::Backoff;
pub use outbox::Outbox;
pub use types::{
    key_format, mutation_key, Action, CheckoutKey, Event, Failure, FormatMarker, Lease, LineKey, OpId, Outcome,
    Persisted, Request, RequestId, RequestKind, Response, ServerCart, Settled, StorageChange, StoredMutation,
    TokenRecord, Unreadable, UnreadableRecord, CHECKOUT_KEY, FORMAT, LEASE_KEY, MUTATION_KEY_PREFIX, SERVER_CART_KEY,
    TOKEN_KEY, USER_KEY,
};
pub use view::{
    optimistic_cart, optimistic_view, rederive, LineChanges, Status, SyncError, View, ViewChanges, ViewHead,
};
pub use worker::WorkerSettled;
pub use worker_flush::{CopyWrite, Round, WorkerFlush, WorkerReport, MAX_ROUNDS};

use crate::apply::{apply_in_place, validate, Applied};
use crate::command::{Command, Mutation};
use crate::error::{CartError, ErrorBody};
use crate::limits::Limits;
use crate::model::CouponState;
use crate::prelude::*;
use crate::protocol::v1::CartView;
use crate::seams::Random;
use view::Optimistic;

/// Tuning. [`Config::default`] is the product's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub limits: Limits,
    /// First backoff ceiling (full jitter below it), doubled per failure.
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    /// A request unanswered this long counts as a transient failure.
    pub request_timeout_ms: u64,
    /// Mutations older than this are surfaced as expired, never sent.
    pub expiry_ms: u64,
    /// How long a lease lasts unless renewed (renewed every third of it).
    pub lease_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            backoff_base_ms: 500,
            backoff_cap_ms: 60_000,
            request_timeout_ms: 15_000,
            expiry_ms: 7 * 24 * 60 * 60 * 1000,
            lease_ms: 5_000,
        }
    }
}

/// What an in-flight request was about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Create,
    Batch {
        token: String,
        ids: Vec<MutationId>,
    },
    /// A request of an operation (sign-in's create and attach, checkout).
    Op(OpId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    id: RequestId,
    sent: Sent,
    deadline: u64,
}

use crate::model::MutationId;

/// How many timed-out requests are remembered so that their late answers
/// can still acknowledge mutations.
const RECENT: usize = 8;
/// Conflicts in a row after which resending waits for a backoff delay.
const CONFLICT_STREAK: u32 = 3;

/// A command issued but not yet in storage (see [`Engine::issue`]).
#[derive(Debug, Clone)]
struct Uncommitted {
    record: StoredMutation,
    applied: Applied,
}

/// What the view showed of the sync state when it was last reported.
type Shown = (usize, Status, Option<SyncError>);

/// The client's sync state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    token: Option<String>,
    /// Orders token writes across tabs (see [`TokenRecord`]).
    generation: u64,
    server: Option<CartView>,
    /// Counts changes of `server` (see `basis`).
    server_rev: u64,
    outbox: Outbox,
    /// The signed-in shopper's token, sent as `Authorization`.
    user: Option<String>,
    checkout_key: Option<CheckoutKey>,
    leader: bool,
    online: bool,
    /// The page is hidden (it may be closed any moment): requests go with
    /// `keepalive`.
    hidden: bool,
    /// A background flush was asked for this stretch of pending mutations.
    background_asked: bool,
    in_flight: Option<InFlight>,
    recent: Vec<InFlight>,
    /// Requests of operations (at most one per operation).
    op_requests: Vec<InFlight>,
    next_request: u64,
    backoff: Backoff,
    retry_at: Option<u64>,
    last_error: Option<SyncError>,
    /// Failed attempts of the mutations channel so far (`flush()` rejects
    /// on a failure after it started waiting).
    failures: u64,
    /// `cart_merged`: hold sends until a new token arrives.
    waiting_for_token: bool,
    /// After a permanent failure of a batch, send one mutation at a time to
    /// find the one the server refuses.
    isolate: bool,
    refresh_wanted: bool,
    conflict_streak: u32,
    scheduled: Option<u64>,
    /// The optimistic cart, kept current (see `view.rs`).
    optimistic: CartView,
    /// The `(server_rev, outbox revision)` `optimistic` reflects.
    basis: (u64, u64),
    /// What changed in the view since the binding last took the changes.
    changes: ViewChanges,
    /// Counts view changes; a `Change` event goes out when it moves.
    view_rev: u64,
    announced_rev: u64,
    shown: Shown,
    uncommitted: Option<Uncommitted>,
    ops: Vec<ops::Op>,
    next_op: u64,
    lease: Option<lease::LeaseState>,
    /// The selected shipping option the shopper was last told cannot take
    /// the cart, and why (told once per option and reason).
    shipping_notice: Option<(String, crate::shipping::ShippingReason)>,
    /// Storage faults (see `faults.rs`).
    faults: faults::Faults,
    /// The flush lock was granted: this tab leads once the worker's copy is
    /// taken in ([`Action::ReadWorkerCopy`]).
    lead_after_copy: bool,
    /// Cart moves waiting for [`Action::ReadCart`] (see `moves.rs`).
    moves: moves::Moves,
}

impl Engine {
    /// Restores an engine from what it (or another tab) persisted. Settled
    /// records left behind are surfaced again and removed. The engine starts
    /// online and not leader.
    pub fn restore(config: Config, persisted: Persisted, now: u64) -> (Engine, Vec<Action>) {
        let backoff = Backoff::new(config.backoff_base_ms, config.backoff_cap_ms);
        let mut engine = Engine {
            config,
            token: None,
            generation: 0,
            server: None,
            server_rev: 0,
            outbox: Outbox::new(),
            user: None,
            checkout_key: None,
            leader: false,
            online: true,
            hidden: false,
            background_asked: false,
            in_flight: None,
            recent: Vec::new(),
            op_requests: Vec::new(),
            next_request: 1,
            backoff,
            retry_at: None,
            last_error: None,
            failures: 0,
            waiting_for_token: false,
            isolate: false,
            refresh_wanted: false,
            conflict_streak: 0,
            scheduled: None,
            optimistic: CartView::bare(&crate::model::Cart::default()),
            basis: (0, 0),
            changes: ViewChanges::default(),
            view_rev: 0,
            announced_rev: 0,
            shown: (0, Status::Synced, None),
            uncommitted: None,
            ops: Vec::new(),
            next_op: 1,
            lease: None,
            shipping_notice: None,
            moves: moves::Moves::default(),
            lead_after_copy: false,
            faults: faults::Faults::default(),
        };
        let mut actions = Vec::new();
        engine.load(persisted, true, &mut actions);
        engine.finish(now, &mut actions);
        // A new engine's first view is news to nobody (nor is a shipping
        // option it already shows as unavailable).
        engine.announced_rev = engine.view_rev;
        actions.retain(|a| !matches!(a, Action::Emit(Event::Change | Event::Reconciled { .. })));
        (engine, actions)
    }

    /// A snapshot of what is persisted (equal to what storage holds once
    /// the returned actions are carried out).
    pub fn persisted(&self) -> Persisted {
        Persisted {
            token: self.held_token(),
            server_cart: self
                .token
                .clone()
                .zip(self.server.clone())
                .map(|(token, cart)| ServerCart::new(token, cart)),
            pending: self.outbox.iter().cloned().collect(),
            user: self.user.clone(),
            checkout: self.checkout_key.clone(),
            unreadable: Vec::new(),
        }
    }

    /// The shopper issued a command. Invalid against the optimistic view →
    /// `Err`, nothing changes. Valid → the mutation gets its id for life and
    /// the record to store, which counts only once the binding reports it
    /// written ([`Engine::stored`]); a refused write
    /// ([`Engine::not_stored`]) leaves everything as it was.
    pub fn issue(&mut self, command: Command, now: u64, rng: &mut dyn Random) -> Result<StoredMutation, CartError> {
        self.forget_uncommitted();
        validate(&command, &self.config.limits)?;
        self.sync_view();
        if let Command::SelectShipping { option } = &command {
            self.check_shipping(option)?;
        }
        let body = &mut Optimistic {
            view: &mut self.optimistic,
            server: self.server.as_ref(),
        };
        let applied = apply_in_place(body, &command, &self.config.limits)?;
        // What rebase would do with one more pending mutation: coupons
        // judged on other lines are pending, and the terms are judged again.
        if command.line_key().is_some() || matches!(command, Command::Clear {}) {
            for c in self
                .optimistic
                .coupons
                .iter_mut()
                .filter(|c| c.state == CouponState::Applied)
            {
                c.state = CouponState::Pending;
                c.reason = None;
            }
        }
        view::rederive(&mut self.optimistic, self.server.as_ref(), false);
        let mutation = Mutation {
            id: rng.next_id(),
            base_version: self.server.as_ref().map(|c| c.version),
            command,
        };
        // Issue order is outbox order, even within one millisecond or after
        // another tab's mutation stamped by a clock slightly ahead.
        let latest = self.outbox.iter().map(|r| r.created_at.saturating_add(1)).max();
        let record = StoredMutation {
            mutation,
            created_at: latest.map_or(now, |t| t.max(now)),
            settled: None,
        };
        self.uncommitted = Some(Uncommitted {
            record: record.clone(),
            applied,
        });
        Ok(record)
    }

    /// The record [`Engine::issue`] returned is in storage: the command
    /// counts from now on.
    pub fn stored(&mut self, id: MutationId, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(u) = self.uncommitted.take().filter(|u| u.record.mutation.id == id) else {
            self.forget_uncommitted();
            return actions;
        };
        let current = self.basis == self.sources();
        self.outbox.insert(u.record);
        if current {
            // The view already holds the command: only what it touched changed.
            self.basis = self.sources();
            self.changes.add_lines(LineChanges::from_applied(u.applied));
            self.changes.head = true;
            self.view_rev += 1;
        }
        self.finish(now, &mut actions);
        actions
    }

    /// The record [`Engine::issue`] returned could not be stored: the
    /// command does not count and the view is as it was.
    pub fn not_stored(&mut self, id: MutationId) {
        if self.uncommitted.as_ref().is_some_and(|u| u.record.mutation.id == id) {
            self.forget_uncommitted();
        }
    }

    /// Drops a command issued but never reported stored, putting the view
    /// back as the binding last saw it.
    fn forget_uncommitted(&mut self) {
        if self.uncommitted.take().is_some() {
            let pending = self.outbox.mutations();
            self.optimistic = optimistic_view(self.server.as_ref(), &pending, &self.config.limits);
        }
    }

    /// A storage write the binding carried out for this engine failed
    /// (other than a command's own record): the shopper hears of it, and
    /// nothing else changes (what is in memory is written again by the
    /// next write of the same key).
    pub fn write_failed(&mut self, error: ErrorBody) -> Vec<Action> {
        vec![Action::Emit(Event::StorageError {
            code: error.code,
            message: error.message,
            key: None,
        })]
    }

    /// Another tab changed the shared storage.
    pub fn on_storage(&mut self, change: StorageChange, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        match change {
            StorageChange::MutationAdded(record) => match record.settled.clone() {
                Some(settled) => {
                    if let Some(mine) = self.outbox.remove(&record.mutation.id) {
                        actions.push(Action::Emit(settled_event(&mine, &settled)));
                    }
                }
                None => {
                    self.outbox.insert(record);
                }
            },
            StorageChange::MutationRemoved(id) => {
                self.outbox.remove(&id);
            }
            StorageChange::TokenChanged(record) => {
                if self.take_token(record) && self.leader {
                    self.refresh_wanted = self.token.is_some();
                }
            }
            StorageChange::ServerCartChanged(stored) => {
                if self.token.as_ref() == Some(&stored.token) {
                    // What the cart acknowledged leaves the outbox with it,
                    // not at the removals' events a moment later (the view
                    // would count it twice in between).
                    for id in &stored.acked {
                        self.outbox.remove(id);
                    }
                    self.adopt(stored.cart, false, &mut actions);
                }
            }
            StorageChange::UserChanged(user) => {
                if user != self.user {
                    self.user = user;
                    // New credentials: what waited on a 401 can go now.
                    self.backoff.reset();
                    self.retry_at = None;
                }
            }
            StorageChange::CheckoutKeyChanged(key) => self.checkout_key = key,
            StorageChange::Unreadable(record) => self.unreadable(vec![record], &mut actions),
            StorageChange::Cleared(storage) => self.cleared_by_another_tab(*storage, &mut actions),
        }
        self.finish(now, &mut actions);
        actions
    }

    /// This tab became the one that sends (it holds the flush lock).
    /// `storage` is read at that moment: the previous leader's last writes
    /// may not have reached this tab as events yet.
    pub fn leadership_gained(&mut self, storage: Persisted, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let stored_cart = storage.server_cart.as_ref().map(|c| (c.token.clone(), c.cart.version));
        if self.lost(&storage) {
            // Cleared under this page: what it holds is the truth.
            self.cleared(storage, &mut actions);
        } else {
            self.load(storage, false, &mut actions);
        }
        // A server cart this tab learned before it led (from a service
        // worker's copy) is written now: only leaders write server carts.
        if let (Some(token), Some(cart)) = (&self.token, &self.server) {
            let newer = stored_cart
                .as_ref()
                .is_none_or(|(t, v)| t != token || *v < cart.version);
            if newer {
                actions.push(Action::PersistServerCart(ServerCart::new(token.clone(), cart.clone())));
            }
        }
        if self.faults.outdated {
            // Another tab runs a newer cartsync: it sends, not this one.
            actions.push(Action::StepDown);
            self.finish(now, &mut actions);
            return actions;
        }
        self.leader = true;
        self.refresh_wanted = self.token.is_some();
        self.backoff.reset();
        self.retry_at = None;
        self.finish(now, &mut actions);
        actions
    }

    /// Another tab sends from now on. Answers to this tab's requests are
    /// ignored: the new leader resends whatever is still pending.
    pub fn leadership_lost(&mut self, now: u64) -> Vec<Action> {
        self.leader = false;
        self.in_flight = None;
        self.recent.clear();
        self.retry_at = None;
        // This tab no longer knows how sending goes.
        self.last_error = None;
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// The browser went online or offline. Going online retries at once.
    pub fn set_online(&mut self, online: bool, now: u64) -> Vec<Action> {
        if online && !self.online {
            self.backoff.reset();
            self.retry_at = None;
        }
        self.online = online;
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// The page was hidden or shown. Hidden (the shopper switched away; the
    /// tab may be closed next): what is pending is sent at once, skipping
    /// any backoff, with `keepalive` so the request outlives the page —
    /// where Background Sync is missing this is the last chance to send
    /// from this tab. Shown again: the server's cart is asked for.
    pub fn set_visible(&mut self, visible: bool, now: u64) -> Vec<Action> {
        self.hidden = !visible;
        if visible {
            self.refresh_wanted = self.token.is_some();
        } else {
            self.backoff.reset();
            self.retry_at = None;
        }
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// The page gave a user token (at open): stored for every tab, even
    /// when this tab already holds it (another tab's sign-out may not have
    /// reached it yet), and used from the next request on.
    pub fn set_user(&mut self, user: Option<String>, now: u64) -> Vec<Action> {
        if user != self.user {
            self.user = user.clone();
            self.backoff.reset();
            self.retry_at = None;
        }
        let mut actions = vec![Action::PersistUser(user)];
        self.finish(now, &mut actions);
        actions
    }

    /// Asks the server for its cart (an empty batch) when this tab leads,
    /// e.g. when the page becomes visible again.
    pub fn refresh(&mut self, now: u64) -> Vec<Action> {
        self.refresh_wanted = self.token.is_some();
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// Something outside changed that may make sending work again (the page
    /// became visible): retry at once instead of waiting for the backoff.
    pub fn retry_now(&mut self, now: u64) -> Vec<Action> {
        self.backoff.reset();
        self.retry_at = None;
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// The client is closing: operations still waiting fail with
    /// `client_closed`, the lease is given up, nothing more is sent. What is
    /// pending stays in storage for the next page.
    pub fn close(&mut self, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        for op in core::mem::take(&mut self.ops) {
            actions.push(Action::Settle {
                op: op.id,
                outcome: Outcome::Failed(ErrorBody {
                    code: codes::CLIENT_CLOSED.into(),
                    message: "the cart client was closed".into(),
                }),
            });
        }
        if self.lease.take().is_some_and(|l| l.holding) {
            actions.push(Action::RemoveLease);
        }
        actions.extend(self.leadership_lost(now));
        actions.retain(|a| !matches!(a, Action::ScheduleTimer { .. } | Action::Send(_)));
        self.op_requests.clear();
        actions
    }

    /// What the UI shows (a copy; [`Engine::view_cart`] and
    /// [`Engine::view_head`] borrow).
    pub fn view(&self) -> View {
        View {
            cart: self.view_cart().clone(),
            pending: self.outbox.len(),
            status: self.status(),
            last_error: self.last_error.clone(),
        }
    }

    /// The optimistic cart: the server cart with the pending mutations
    /// applied.
    pub fn view_cart(&self) -> &CartView {
        debug_assert_eq!(self.basis, self.sources(), "view read between an input and its finish");
        &self.optimistic
    }

    /// The view's parts other than its lines.
    pub fn view_head(&self) -> ViewHead<'_> {
        ViewHead {
            coupons: &self.optimistic.coupons,
            shipping_option: self.optimistic.shipping_option.as_deref(),
            destination: self.optimistic.destination.as_ref(),
            shipping_options: &self.optimistic.shipping_options,
            totals: self.optimistic.totals.as_deref(),
            version: self.optimistic.version,
            pending: self.outbox.len(),
            status: self.status(),
            last_error: self.last_error.as_ref().map(SyncError::body),
        }
    }

    /// Counts changes of the view: equal numbers, equal views.
    pub fn view_revision(&self) -> u64 {
        self.view_rev
    }

    /// What changed in the view since the last call (see [`ViewChanges`]).
    pub fn take_view_changes(&mut self) -> ViewChanges {
        core::mem::take(&mut self.changes)
    }

    pub fn status(&self) -> Status {
        if !self.online {
            Status::Offline
        } else if self.last_error.is_some() {
            Status::Error
        } else if self.outbox.is_empty() {
            Status::Synced
        } else {
            Status::Syncing
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn server_cart(&self) -> Option<&CartView> {
        self.server.as_ref()
    }

    pub fn pending(&self) -> &Outbox {
        &self.outbox
    }

    pub fn is_leader(&self) -> bool {
        self.leader
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the optimistic view is computed from, as revisions.
    fn sources(&self) -> (u64, u64) {
        (self.server_rev, self.outbox.revision())
    }

    /// Recomputes the optimistic view if the server cart or the outbox
    /// changed since, recording what changed in it.
    fn sync_view(&mut self) {
        if self.basis == self.sources() {
            return;
        }
        let pending = self.outbox.mutations();
        let next = optimistic_view(self.server.as_ref(), &pending, &self.config.limits);
        let old = core::mem::replace(&mut self.optimistic, next);
        let new = &self.optimistic;
        let lines = LineChanges::diff(&old.lines, &new.lines);
        let head = old.coupons != new.coupons
            || old.shipping_option != new.shipping_option
            || old.destination != new.destination
            || old.shipping_options != new.shipping_options
            || old.totals != new.totals
            || old.version != new.version;
        if lines != LineChanges::None || head {
            self.changes.add_lines(lines);
            self.changes.head |= head;
            self.view_rev += 1;
        }
        self.basis = self.sources();
    }

    /// The authority's check of `select_shipping`, on the optimistic view:
    /// an option the rules do not have, or one that cannot take the cart
    /// as it is, is refused with the code the authority would give. Without
    /// the rules (no server cart yet) or with lines of unknown weight, the
    /// authority decides.
    fn check_shipping(&self, option: &str) -> Result<(), CartError> {
        let view = &self.optimistic;
        let Some(rules) = &view.rules else { return Ok(()) };
        crate::shipping::check_select(&rules.shipping, &view.lines, view.destination.as_ref(), option)
    }

    /// Tells the shopper, once, when the selected shipping option can no
    /// longer take the cart (a `reconciled` notice; the selection stays).
    fn notice_shipping(&mut self, actions: &mut Vec<Action>) {
        let Ok(now) = view_terms::selected_unavailable(&self.optimistic) else {
            return;
        };
        if now != self.shipping_notice {
            if let Some((option, reason)) = &now {
                let change = crate::rebase::Reconciliation::ShippingUnavailable {
                    option: option.clone(),
                    cause: reason.clone(),
                };
                actions.push(Action::Emit(Event::Reconciled { changes: vec![change] }));
            }
            self.shipping_notice = now;
        }
    }
}

/// The event a settled record stands for.
fn settled_event(record: &StoredMutation, settled: &Settled) -> Event {
    match settled {
        Settled::Rejected { error } => Event::rejected(&record.mutation, error),
        Settled::Expired => Event::Expired {
            mutation_id: record.mutation.id,
            command: record.mutation.command.name(),
            created_at: record.created_at,
        },
    }
}
