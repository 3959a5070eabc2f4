//! Storage faults the page lives through: storage cleared under it, a
//! record it cannot read, and another tab writing a newer format. Each is
//! told to the shop once (`storageError` with its code) and loses nothing
//! else.
//!
//! - **Cleared** (`storage_cleared`): another tab's `localStorage.clear()`
//!   (a `storage` event without a key), or "Clear site data" in this tab,
//!   found the next time the engine reads storage (after a batch goes, and
//!   when it takes the lead). Storage counts as cleared when it lacks the
//!   token record while this engine holds one, or, with no token record
//!   anywhere, lacks a pending mutation this engine holds. (Another tab
//!   removes a mutation only once acknowledged, and an acknowledgement needs
//!   a cart whose token record is written first and never removed: a
//!   missing mutation beside a token record is an acknowledgement whose
//!   event has not arrived yet, not a loss.) The page writes back what it
//!   holds and storage lacks — pending mutations, the token and the server
//!   cart, the user token, the checkout key — never over a newer record
//!   another tab already wrote back. Intent is never lost, and a clear is not
//!   a sign-out (`logout()` is: a shop that wants one calls it on
//!   `storage_cleared`).
//! - **Unreadable** (`storage_corrupt`, with the key): a record that is not
//!   JSON or not of its shape reads as absent and is told once per key. It
//!   is left in place, unless this page holds the record it stands for (a
//!   pending mutation, the token, the server cart, the checkout key): memory
//!   is the truth, and that is written back over it.
//! - **Newer format** (`storage_newer_format`, with the key): a record with
//!   a `format` above [`super::FORMAT`], or a `cartsync:v{N}:` key with a
//!   higher `N`. This page never writes over nor removes such a record: it
//!   stops leading for good (gives up the flush lock or the lease, sends
//!   nothing more), writes no shared record (token, server cart, user,
//!   checkout key, lease) and fails its operations with this code. Commands
//!   still count: each is a record of its own key, which a newer SDK reads
//!   (every version reads the older formats) and sends.

use super::codes;
use super::types::{
    mutation_key, Action, Event, Outcome, Persisted, ServerCart, Unreadable, UnreadableRecord, CHECKOUT_KEY,
    MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY,
};
use super::Engine;
use crate::error::ErrorBody;
use crate::prelude::*;

/// What the engine remembers of storage faults.
#[derive(Debug, Clone, Default)]
pub(super) struct Faults {
    /// Keys already told as unreadable (each is told once).
    reported: Vec<String>,
    /// Storage was found cleared and written back; a clear is told once,
    /// until storage is found whole again.
    restoring: bool,
    /// A newer format was seen: this page no longer leads nor writes shared
    /// records.
    pub outdated: bool,
}

impl Engine {
    /// The binding read every record ([`Action::ReadStorage`]).
    pub fn storage_read(&mut self, storage: Persisted, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.lost(&storage) {
            self.cleared(storage, &mut actions);
        } else {
            self.faults.restoring = false;
            self.unreadable(storage.unreadable, &mut actions);
        }
        self.finish(now, &mut actions);
        actions
    }

    /// Whether another SDK version made this page step aside (see the
    /// module docs).
    pub fn outdated(&self) -> bool {
        self.faults.outdated
    }

    /// Whether `storage`, read now, lost what this engine holds (see the
    /// module docs).
    pub(super) fn lost(&self, storage: &Persisted) -> bool {
        if storage.token.generation > 0
            || storage
                .unreadable
                .iter()
                .any(|u| u.key == TOKEN_KEY || u.why == Unreadable::Newer)
        {
            return false;
        }
        self.generation > 0
            || self
                .outbox
                .iter()
                .any(|r| !storage.pending.iter().any(|s| s.mutation.id == r.mutation.id))
    }

    /// Storage was cleared: writes back what this engine holds and storage
    /// (read now) lacks, and tells the shop once.
    pub(super) fn cleared(&mut self, storage: Persisted, actions: &mut Vec<Action>) {
        let Persisted {
            token,
            server_cart,
            pending,
            user,
            checkout,
            unreadable,
        } = storage;
        let skip: Vec<String> = unreadable.iter().map(|u| u.key.clone()).collect();
        self.unreadable(unreadable, actions);
        if self.faults.outdated {
            return;
        }
        // Another tab may already have written a newer token back.
        self.take_token(token.clone());
        let before = actions.len();
        for record in self.outbox.iter() {
            let id = record.mutation.id;
            if !pending.iter().any(|s| s.mutation.id == id) && !skip.contains(&mutation_key(&id)) {
                actions.push(Action::PersistMutation(record.clone()));
            }
        }
        if self.generation > 0 && (token.generation, &token.token) < (self.generation, &self.token) {
            actions.push(self.token_record());
        }
        if let (Some(t), Some(cart)) = (&self.token, &self.server) {
            let there = server_cart.is_some_and(|s| &s.token == t && s.cart.version >= cart.version);
            if !there {
                actions.push(Action::PersistServerCart(ServerCart::new(t.clone(), cart.clone())));
            }
        }
        if let (None, Some(u)) = (user, &self.user) {
            actions.push(Action::PersistUser(Some(u.clone())));
        }
        if let (None, Some(k)) = (checkout, &self.checkout_key) {
            actions.push(Action::PersistCheckoutKey(Some(k.clone())));
        }
        if actions.len() > before && !self.faults.restoring {
            self.faults.restoring = true;
            actions.push(Action::Emit(Event::StorageError {
                code: codes::STORAGE_CLEARED.into(),
                message: "localStorage was cleared under this page: what it held (pending changes, the cart, \
                          the sign-in) was written back"
                    .into(),
                key: None,
            }));
        }
    }

    /// Another tab cleared storage (a `storage` event without a key).
    pub(super) fn cleared_by_another_tab(&mut self, storage: Persisted, actions: &mut Vec<Action>) {
        self.faults.restoring = false;
        self.cleared(storage, actions);
    }

    /// Records storage could not read: a newer format makes this page step
    /// aside; garbage is told once per key, and what this engine holds of it
    /// is written back over it.
    pub(super) fn unreadable(&mut self, records: Vec<UnreadableRecord>, actions: &mut Vec<Action>) {
        for UnreadableRecord { key, why } in records {
            match why {
                Unreadable::Newer => self.outdate(key, actions),
                Unreadable::Corrupt => {
                    if !self.faults.outdated {
                        self.write_back(&key, actions);
                    }
                    if !self.faults.reported.contains(&key) {
                        let message = format!("the stored record {key} could not be read: it is read as absent");
                        self.faults.reported.push(key.clone());
                        actions.push(Action::Emit(Event::StorageError {
                            code: codes::STORAGE_CORRUPT.into(),
                            message,
                            key: Some(key),
                        }));
                    }
                }
            }
        }
    }

    /// Writes what this engine holds of `key` over an unreadable record.
    fn write_back(&self, key: &str, actions: &mut Vec<Action>) {
        let held = match key {
            TOKEN_KEY => (self.generation > 0).then(|| self.token_record()),
            SERVER_CART_KEY => self
                .token
                .clone()
                .zip(self.server.clone())
                .map(|(token, cart)| Action::PersistServerCart(ServerCart::new(token, cart))),
            CHECKOUT_KEY => self.checkout_key.clone().map(|k| Action::PersistCheckoutKey(Some(k))),
            _ => key
                .strip_prefix(MUTATION_KEY_PREFIX)
                .and_then(|id| self.outbox.iter().find(|r| r.mutation.id.text() == id))
                .map(|r| Action::PersistMutation(r.clone())),
        };
        actions.extend(held);
    }

    fn token_record(&self) -> Action {
        Action::PersistToken(self.held_token())
    }

    /// Another tab runs a newer cartsync: this page steps aside for good.
    fn outdate(&mut self, key: String, actions: &mut Vec<Action>) {
        if self.faults.outdated {
            return;
        }
        self.faults.outdated = true;
        actions.push(Action::Emit(Event::StorageError {
            code: codes::STORAGE_NEWER_FORMAT.into(),
            message: format!(
                "another tab runs a newer cartsync (the stored record {key} is in a newer format): this page \
                 stopped sending; reload it"
            ),
            key: Some(key),
        }));
        if self.lease.as_ref().is_some_and(|l| l.holding) {
            actions.push(Action::RemoveLease);
        }
        if let Some(lease) = &mut self.lease {
            lease.holding = false;
        }
        if self.leader {
            actions.push(Action::StepDown);
        }
        self.leader = false;
        self.in_flight = None;
        self.recent.clear();
        self.op_requests.clear();
        self.retry_at = None;
        self.last_error = None;
    }

    /// The common tail's part once outdated: operations fail, and nothing
    /// shared is written nor sent (`actions` is this input's).
    pub(super) fn keep_aside(&mut self, actions: &mut Vec<Action>) {
        if !self.faults.outdated {
            return;
        }
        for op in core::mem::take(&mut self.ops) {
            actions.push(Action::Settle {
                op: op.id,
                outcome: Outcome::Failed(ErrorBody {
                    code: codes::STORAGE_NEWER_FORMAT.into(),
                    message: "another tab runs a newer cartsync: reload this page".into(),
                }),
            });
        }
        actions.retain(|a| {
            !matches!(
                a,
                Action::PersistToken(_)
                    | Action::PersistServerCart(_)
                    | Action::RemoveServerCart
                    | Action::PersistUser(_)
                    | Action::PersistCheckoutKey(_)
                    | Action::PersistLease(_)
                    | Action::Lead
                    | Action::Send(_)
                    | Action::ReadStorage
            )
        });
    }
}
