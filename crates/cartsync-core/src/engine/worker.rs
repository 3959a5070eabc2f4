//! The hand-off to a service worker (`cartsync/sw`): when every tab of the
//! shop is closed, the worker sends what is pending from its own copy of
//! the records (IndexedDB), with the same mutation ids, and records what it
//! settled. A page absorbs that on open (and when the worker announces it),
//! as it would another tab's writes: acknowledged mutations leave the
//! outbox, refused ones are surfaced, a newer token or server cart is taken.
//!
//! The worker runs this same engine on its copy (`Engine::restore`, then
//! `leadership_gained` while it holds the flush lock); what it writes is the
//! engine's actions carried out on IndexedDB, plus one marker per settled
//! mutation so that a page can tell "acknowledged by the worker" from "not
//! mirrored yet".

use super::types::{Action, Persisted, StoredMutation};
use super::{settled_event, Engine};
use crate::model::MutationId;
use crate::prelude::*;

/// What a worker did with one mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSettled {
    /// The authority has it (applied, or a duplicate): it leaves the outbox.
    Acknowledged(MutationId),
    /// Refused or expired: the tombstone the worker wrote.
    Tombstone(StoredMutation),
}

impl Engine {
    /// The flush lock (a Web Lock) was granted to this tab. A service
    /// worker may have held it until now: what it did (a cart it made for
    /// adds made offline, what it settled) is taken in first
    /// ([`Action::ReadWorkerCopy`]), then this tab leads ([`Action::Lead`]
    /// from `absorb_worker`); otherwise it would make a second cart.
    pub fn lock_granted(&mut self) -> Vec<Action> {
        self.lead_after_copy = true;
        vec![Action::ReadWorkerCopy]
    }

    /// Whether a page should ask its service worker to send what is pending
    /// (Background Sync): something is pending that this page may not get
    /// to send (it is offline or hidden, or sending failed). Asked once per
    /// stretch of pending mutations.
    pub(super) fn background_flush(&mut self, actions: &mut Vec<Action>) {
        if self.outbox.is_empty() {
            self.background_asked = false;
            return;
        }
        let stuck = !self.online || self.hidden || self.last_error.is_some();
        if stuck && !self.background_asked {
            self.background_asked = true;
            actions.push(Action::RequestBackgroundFlush);
        }
    }

    /// Takes in what a service worker did while no tab held the flush lock:
    /// `remote` is its copy of the records (a newer token or server cart is
    /// taken, and written to this page's storage if it leads), and
    /// `settled` what it settled.
    pub fn absorb_worker(&mut self, remote: Persisted, settled: Vec<WorkerSettled>, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.take_token(remote.token.clone()) {
            actions.push(Action::PersistToken(remote.token));
        }
        if let Some(stored) = remote.server_cart {
            if self.token.as_ref() == Some(&stored.token) {
                // Written to this page's storage too when it is newer, by
                // the leader only: only the leader writes server carts, so
                // that the stored one never goes back (a leader's late
                // answer, older than the worker's, would follow a write
                // from here; the simulation found it where a worker runs
                // beside the pages).
                let leader = self.leader;
                self.adopt(stored.cart, leader, &mut actions);
            }
        }
        // Whether or not this tab knew the mutation yet (another tab's, its
        // storage event still on the way), the record in storage is done
        // with: removed here, since the outbox now forgets the id and would
        // ignore that late event, leaving the record to no one (the
        // simulation found that).
        for s in settled {
            match s {
                WorkerSettled::Acknowledged(id) => {
                    self.outbox.remove(&id);
                    actions.push(Action::RemoveMutation(id));
                }
                WorkerSettled::Tombstone(record) => {
                    let id = record.mutation.id;
                    // Told once per tab: not again for a marker heard twice.
                    let told = self.outbox.was_removed(&id);
                    let mine = self.outbox.remove(&id);
                    if let (false, Some(settled)) = (told && mine.is_none(), &record.settled) {
                        let mine = mine.unwrap_or_else(|| record.clone());
                        actions.push(Action::Emit(settled_event(&mine, settled)));
                        actions.push(Action::RemoveMutation(id));
                    }
                }
            }
        }
        self.finish(now, &mut actions);
        if core::mem::take(&mut self.lead_after_copy) {
            actions.push(Action::Lead);
        }
        actions
    }
}
