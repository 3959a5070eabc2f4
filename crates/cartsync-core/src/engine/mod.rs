//! The sans-IO client sync engine, in the style of quinn-proto: it takes
//! inputs (a command issued, a response or failure, a timer, a storage
//! change from another tab, online/offline, flush leadership) and returns
//! [`Action`]s for the binding to carry out in order. It never sleeps,
//! fetches, reads a clock or draws randomness of its own: time comes in as
//! `now` (ms since the epoch), randomness as `&mut dyn Random`.
//!
//! Invariants:
//! - every mutation keeps the id it was issued with, for life; it is
//!   persisted (first action) before anything else happens to it;
//! - a mutation leaves storage only when the authority acknowledged it
//!   (applied, or duplicate without error), or with a tombstone and an event
//!   (`Rejected`, `Expired`): never a silent rollback;
//! - only the leader tab sends and writes what the server said (token,
//!   server cart), never a cart older than the one it knows; token writes
//!   carry a generation and cart writes their token, so a storage event that
//!   arrives late never rolls a tab back;
//! - at most one request is in flight; a late answer is still used for what
//!   it proves (per-mutation results) but its cart only if it is newer.
//!
//! ```
//! use cartsync_core::engine::{Action, Config, Engine, Persisted};
//! use cartsync_core::{Command, SplitMix64};
//! let mut rng = SplitMix64(1);
//! let (mut engine, _) = Engine::restore(Config::default(), Persisted::default(), 0);
//! engine.leadership_gained(Persisted::default(), 0);
//! let actions = engine.issue(Command::add("tee", 1), 10, &mut rng).unwrap();
//! assert!(matches!(actions[0], Action::PersistMutation(_)));
//! assert!(actions.iter().any(|a| matches!(a, Action::Send(_)))); // create-cart
//! assert_eq!(engine.view().cart.lines[0].quantity, 1);
//! ```

mod backoff;
mod flush;
mod handle;
mod outbox;
mod storage;
mod types;
mod view;

#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use outbox::Outbox;
pub use types::{
    mutation_key, Action, Event, Failure, Persisted, Request, RequestId, Response, ServerCart, Settled, StorageChange,
    StoredMutation, TokenRecord, MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY,
};
pub use view::{optimistic_cart, optimistic_view, Status, SyncError, View};

use crate::apply::{apply, validate};
use crate::command::{Command, Mutation};
use crate::error::CartError;
use crate::limits::Limits;
use crate::model::MutationId;
use crate::prelude::*;
use crate::protocol::v1::CartView;
use crate::seams::{IdSource, Random};

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            backoff_base_ms: 500,
            backoff_cap_ms: 60_000,
            request_timeout_ms: 15_000,
            expiry_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }
}

/// What an in-flight request was about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Create,
    Batch { token: String, ids: Vec<MutationId> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    id: RequestId,
    sent: Sent,
    deadline: u64,
}

/// How many timed-out requests are remembered so that their late answers
/// can still acknowledge mutations.
const RECENT: usize = 8;
/// Conflicts in a row after which resending waits for a backoff delay.
const CONFLICT_STREAK: u32 = 3;

/// The client's sync state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    token: Option<String>,
    /// Orders token writes across tabs (see [`TokenRecord`]).
    generation: u64,
    server: Option<CartView>,
    outbox: Outbox,
    leader: bool,
    online: bool,
    in_flight: Option<InFlight>,
    recent: Vec<InFlight>,
    next_request: u64,
    backoff: Backoff,
    retry_at: Option<u64>,
    last_error: Option<SyncError>,
    /// `cart_merged`: hold sends until a new token arrives.
    waiting_for_token: bool,
    /// After a permanent failure of a batch, send one mutation at a time to
    /// find the one the server refuses.
    isolate: bool,
    refresh_wanted: bool,
    conflict_streak: u32,
    scheduled: Option<u64>,
    last_view: Option<View>,
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
            outbox: Outbox::new(),
            leader: false,
            online: true,
            in_flight: None,
            recent: Vec::new(),
            next_request: 1,
            backoff,
            retry_at: None,
            last_error: None,
            waiting_for_token: false,
            isolate: false,
            refresh_wanted: false,
            conflict_streak: 0,
            scheduled: None,
            last_view: None,
        };
        let mut actions = Vec::new();
        engine.load(persisted, true, &mut actions);
        engine.finish(now, &mut actions);
        (engine, actions)
    }

    /// A snapshot of what is persisted (equal to what storage holds once
    /// the returned actions are carried out).
    pub fn persisted(&self) -> Persisted {
        Persisted {
            token: TokenRecord {
                token: self.token.clone(),
                generation: self.generation,
            },
            server_cart: self
                .token
                .clone()
                .zip(self.server.clone())
                .map(|(token, cart)| ServerCart { token, cart }),
            pending: self.outbox.iter().cloned().collect(),
        }
    }

    /// The shopper issued a command. Invalid against the optimistic view →
    /// `Err`, nothing persisted. Valid → the mutation gets its id for life
    /// and the first action persists it.
    pub fn issue(&mut self, command: Command, now: u64, rng: &mut dyn Random) -> Result<Vec<Action>, CartError> {
        validate(&command, &self.config.limits)?;
        let current = optimistic_cart(self.server.as_ref(), &self.outbox.mutations(), &self.config.limits);
        apply(&current, &command, &self.config.limits)?;
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
        let mut actions = vec![Action::PersistMutation(record.clone())];
        self.outbox.insert(record);
        self.finish(now, &mut actions);
        Ok(actions)
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
                    self.adopt(stored.cart, false, &mut actions);
                }
            }
        }
        self.finish(now, &mut actions);
        actions
    }

    /// This tab became the one that sends (it holds the flush lock).
    /// `storage` is read at that moment: the previous leader's last writes
    /// may not have reached this tab as events yet.
    pub fn leadership_gained(&mut self, storage: Persisted, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.load(storage, false, &mut actions);
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

    /// Asks the server for its cart (an empty batch) when this tab leads,
    /// e.g. when the page becomes visible again.
    pub fn refresh(&mut self, now: u64) -> Vec<Action> {
        self.refresh_wanted = self.token.is_some();
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// Something outside changed that may make sending work again (new
    /// credentials after a sign-in, the page became visible): retry at once
    /// instead of waiting for the backoff.
    pub fn retry_now(&mut self, now: u64) -> Vec<Action> {
        self.backoff.reset();
        self.retry_at = None;
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        actions
    }

    /// Switches to another cart (after login attached the anonymous cart to
    /// an account cart): persists it and sends what is pending there.
    pub fn adopt_cart(&mut self, token: String, cart: CartView, now: u64) -> Vec<Action> {
        let mut actions = vec![self.change_token(Some(token))];
        self.adopt(cart, true, &mut actions);
        self.finish(now, &mut actions);
        actions
    }

    /// What the UI shows.
    pub fn view(&self) -> View {
        let status = if !self.online {
            Status::Offline
        } else if self.last_error.is_some() {
            Status::Error
        } else if self.outbox.is_empty() {
            Status::Synced
        } else {
            Status::Syncing
        };
        View {
            cart: optimistic_view(self.server.as_ref(), &self.outbox.mutations(), &self.config.limits),
            pending: self.outbox.len(),
            status,
            last_error: self.last_error.clone(),
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
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
}

/// The event a settled record stands for.
fn settled_event(record: &StoredMutation, settled: &Settled) -> Event {
    match settled {
        Settled::Rejected { error } => Event::Rejected {
            mutation: record.mutation.clone(),
            error: error.clone(),
            line: record
                .mutation
                .command
                .line_key()
                .map(|(sku, options)| (sku.clone(), options.clone())),
        },
        Settled::Expired => Event::Expired {
            mutation: record.mutation.clone(),
            created_at: record.created_at,
        },
    }
}
