//! What the engine keeps in storage and learns from it: loading a
//! snapshot, ordered token records, and taking a server cart only when it is
//! not older than the one known.

use super::types::{mutation_key, Action, Persisted, ServerCart, StoredMutation, TokenRecord, CHECKOUT_KEY};
use super::{settled_event, Engine};
use crate::model::MutationId;
use crate::prelude::*;
use crate::protocol::v1::CartView;

impl Engine {
    /// Loads persisted state; tombstones are removed, and surfaced when
    /// restoring or when this tab still held the mutation (a tab that
    /// already heard of the settlement says nothing twice).
    ///
    /// A record storage cannot read is read as absent, except that what this
    /// engine already holds of it is kept (and written back, see
    /// `faults.rs`).
    pub(super) fn load(&mut self, persisted: Persisted, restoring: bool, actions: &mut Vec<Action>) {
        let held: Vec<StoredMutation> = self.outbox.iter().cloned().collect();
        let had: Vec<MutationId> = held.iter().map(|r| r.mutation.id).collect();
        let unreadable = |key: &str| persisted.unreadable.iter().any(|u| u.key == key);
        self.take_token(persisted.token);
        if let Some(stored) = persisted.server_cart {
            if self.token.as_ref() == Some(&stored.token) {
                self.adopt(stored.cart, false, actions);
            }
        }
        self.user = persisted.user;
        if !unreadable(CHECKOUT_KEY) {
            self.checkout_key = persisted.checkout;
        }
        let kept: Vec<StoredMutation> = held
            .into_iter()
            .filter(|r| unreadable(&mutation_key(&r.mutation.id)))
            .collect();
        self.outbox.clear();
        for record in kept {
            self.outbox.insert(record);
        }
        for record in persisted.pending {
            match &record.settled {
                Some(settled) => {
                    if restoring || had.contains(&record.mutation.id) {
                        actions.push(Action::Emit(settled_event(&record, settled)));
                    }
                    actions.push(Action::RemoveMutation(record.mutation.id));
                }
                None => {
                    self.outbox.insert(record);
                }
            }
        }
        self.unreadable(persisted.unreadable, actions);
    }

    /// Takes a token record another tab wrote if it is newer than what
    /// this tab holds. Returns whether the token, or whether it waits for a
    /// sign-in (`merged`), changed.
    pub(super) fn take_token(&mut self, record: TokenRecord) -> bool {
        if !record.supersedes(&self.held_token()) {
            return false;
        }
        self.hold_token(record)
    }

    /// The token record this tab holds (what it would write).
    pub(super) fn held_token(&self) -> TokenRecord {
        TokenRecord {
            token: self.token.clone(),
            generation: self.generation,
            merged: self.waiting_for_token,
        }
    }

    /// Holds `record` from now on; whether the token, or whether it waits
    /// for a sign-in, changed.
    fn hold_token(&mut self, record: TokenRecord) -> bool {
        self.generation = record.generation;
        let waiting = self.waiting_for_token;
        let switched = self.switch_token(record.token);
        self.waiting_for_token = record.merged && self.token.is_some();
        switched || waiting != self.waiting_for_token
    }

    /// Takes the token record storage holds now (read synchronously, see
    /// `moves.rs`): what it names is the latest write of any tab, so it
    /// wins unless it is older than what this tab holds (a late write of a
    /// tab that decided on an older idea). Returns whether anything changed.
    pub(super) fn take_stored_token(&mut self, record: TokenRecord) -> bool {
        let same = record.token == self.token && record.merged == self.waiting_for_token;
        if same || record.generation < self.generation {
            // Writes from here on are newer than what storage holds.
            self.generation = self.generation.max(record.generation);
            return false;
        }
        self.hold_token(record)
    }

    /// The current cart answered `cart_merged`: this tab, and through the
    /// returned write every tab, waits for a sign-in's token.
    pub(super) fn merged_away(&mut self) -> Action {
        self.generation += 1;
        self.waiting_for_token = true;
        Action::PersistToken(self.held_token())
    }

    /// This tab moves to another cart (or to none): returns the write.
    pub(super) fn change_token(&mut self, token: Option<String>) -> Action {
        self.generation += 1;
        self.switch_token(token.clone());
        Action::PersistToken(TokenRecord {
            token,
            generation: self.generation,
            merged: false,
        })
    }

    fn switch_token(&mut self, token: Option<String>) -> bool {
        if token == self.token {
            return false;
        }
        self.token = token;
        self.server = None;
        self.server_rev += 1;
        self.waiting_for_token = false;
        self.conflict_streak = 0;
        true
    }

    /// Takes `cart` as the server's (for the current token) if it is not
    /// older than the one known; `persist` writes it to storage too (only
    /// the leader's answers and sign-in do). Returns whether it was taken.
    pub(super) fn adopt(&mut self, cart: CartView, persist: bool, actions: &mut Vec<Action>) -> bool {
        if let Some(known) = &self.server {
            if cart.version < known.version || *known == cart {
                return false;
            }
        }
        if let (true, Some(token)) = (persist, &self.token) {
            actions.push(Action::PersistServerCart(ServerCart::new(token.clone(), cart.clone())));
        }
        self.server = Some(cart);
        self.server_rev += 1;
        true
    }

    /// Switches to another cart (sign-in attached this one to an account
    /// cart): persists it; what is pending is sent there.
    pub(super) fn adopt_cart(&mut self, token: String, cart: CartView, actions: &mut Vec<Action>) {
        actions.push(self.change_token(Some(token)));
        self.adopt(cart, true, actions);
    }

    /// Leaves the cart (checkout closed it, or sign-out): a new anonymous
    /// cart starts, and what is still pending goes to it (intent is never
    /// dropped).
    pub(super) fn start_fresh_cart(&mut self, actions: &mut Vec<Action>) {
        actions.push(Action::RemoveServerCart);
        actions.push(self.change_token(None));
        // A batch still on its way may yet acknowledge what it carried.
        if let Some(request) = self.in_flight.take() {
            self.remember(request);
        }
        self.isolate = false;
        self.refresh_wanted = false;
        self.backoff.reset();
        self.retry_at = None;
        self.last_error = None;
    }
}
