//! The engine's answers to the network: responses, failures and timeouts.

use super::answer::network_error;
use super::types::{Action, Event, Failure, RequestId, Response, Settled};
use super::view::SyncError;
use super::{settled_event, Engine, InFlight, Sent, CONFLICT_STREAK, RECENT};
use crate::authority::{MutationResult, MutationStatus};
use crate::error::{CartError, ErrorBody};
use crate::model::MutationId;
use crate::prelude::*;
use crate::rebase::rebase;
use crate::seams::Random;

impl Engine {
    /// The binding got an answer to request `id`. Answers to requests this
    /// engine does not know (another page's, or forgotten) are ignored: what
    /// they would acknowledge is still pending and will be resent, and the
    /// authority's idempotency makes the resend harmless.
    pub fn on_response(&mut self, id: RequestId, response: Response, now: u64, rng: &mut dyn Random) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(at) = self.op_requests.iter().position(|f| f.id == id) {
            let request = self.op_requests.remove(at);
            if let Sent::Op(op) = request.sent {
                self.op_answered(op, Ok(response), now, &mut actions);
            }
        } else if let Some(request) = self.take_request(id) {
            self.sync_answered(request.sent, response, now, rng, &mut actions);
        }
        self.finish(now, &mut actions);
        actions
    }

    fn sync_answered(
        &mut self,
        sent: Sent,
        response: Response,
        now: u64,
        rng: &mut dyn Random,
        actions: &mut Vec<Action>,
    ) {
        match (sent, response) {
            (Sent::Create, Response::Created(created)) => {
                self.created(created, None);
                self.succeeded();
            }
            (Sent::Batch { token, .. }, Response::Mutations(answer)) => {
                if self.token.as_deref() == Some(token.as_str()) {
                    self.adopt(answer.cart, true, actions);
                }
                self.settle(&answer.results, actions);
                // One batch got through: stop isolating (the refused
                // mutation, if any, shows up again in a later batch).
                self.isolate = false;
                self.conflict_streak = 0;
                self.succeeded();
            }
            (Sent::Batch { token, .. }, Response::Conflict(answer)) => {
                let current = self.token.as_deref() == Some(token.as_str());
                let version = answer.cart.version;
                // The server answered. A late 409 whose cart is not news
                // changes nothing.
                self.last_error = None;
                let news = current && self.adopt(answer.cart, true, actions);
                self.settle(&answer.results, actions);
                if news {
                    self.rebased(version, actions);
                    self.conflict_streak += 1;
                    if self.conflict_streak >= CONFLICT_STREAK {
                        self.back_off(now, rng, None);
                    }
                }
            }
            // An answer of the wrong shape proves nothing; the request is
            // over and what it carried is resent.
            _ => {}
        }
    }

    /// Request `id` produced no usable answer.
    pub fn on_failure(&mut self, id: RequestId, failure: Failure, now: u64, rng: &mut dyn Random) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(at) = self.op_requests.iter().position(|f| f.id == id) {
            let request = self.op_requests.remove(at);
            if let Sent::Op(op) = request.sent {
                self.op_answered(op, Err(failure), now, &mut actions);
            }
        } else if self.in_flight.as_ref().is_some_and(|f| f.id == id) {
            if let Some(request) = self.in_flight.take() {
                self.failed(request.sent, failure, now, rng, &mut actions);
            }
        } else {
            self.recent.retain(|f| f.id != id);
        }
        self.finish(now, &mut actions);
        actions
    }

    /// The timer the engine asked for fired (early or spurious calls are
    /// harmless). A request past its deadline counts as a transient failure;
    /// a mutations request is remembered for a while so a late answer still
    /// counts.
    pub fn on_timer(&mut self, now: u64, rng: &mut dyn Random) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.in_flight.as_ref().is_some_and(|f| f.deadline <= now) {
            if let Some(request) = self.in_flight.take() {
                let sent = request.sent.clone();
                self.remember(request);
                let failure = Failure::Transient {
                    retry_after_ms: None,
                    error: network_error(),
                };
                self.failed(sent, failure, now, rng, &mut actions);
            }
        }
        let (overdue, waiting): (Vec<InFlight>, Vec<InFlight>) = core::mem::take(&mut self.op_requests)
            .into_iter()
            .partition(|f| f.deadline <= now);
        self.op_requests = waiting;
        for request in overdue {
            if let Sent::Op(op) = request.sent {
                let failure = Failure::Transient {
                    retry_after_ms: None,
                    error: network_error(),
                };
                self.op_answered(op, Err(failure), now, &mut actions);
            }
        }
        self.finish(now, &mut actions);
        actions
    }

    fn take_request(&mut self, id: RequestId) -> Option<InFlight> {
        if self.in_flight.as_ref().is_some_and(|f| f.id == id) {
            return self.in_flight.take();
        }
        let at = self.recent.iter().position(|f| f.id == id)?;
        Some(self.recent.remove(at))
    }

    pub(super) fn remember(&mut self, request: InFlight) {
        if self.recent.len() >= RECENT {
            self.recent.remove(0);
        }
        self.recent.push(request);
    }

    fn succeeded(&mut self) {
        self.backoff.reset();
        self.last_error = None;
        self.retry_at = None;
    }

    /// Applies per-mutation results: acknowledged ones leave the outbox,
    /// refused ones leave it with a tombstone and a `Rejected` event.
    fn settle(&mut self, results: &[MutationResult], actions: &mut Vec<Action>) {
        let mut acked = Vec::new();
        for result in results {
            let refused = match (result.status, &result.error) {
                (MutationStatus::Applied, _) | (MutationStatus::Duplicate, None) => None,
                (MutationStatus::Rejected, Some(error)) | (MutationStatus::Duplicate, Some(error)) => {
                    Some(error.clone())
                }
                (MutationStatus::Rejected, None) => Some(
                    CartError::BadRequest {
                        message: "rejected without a reason".into(),
                    }
                    .to_body(),
                ),
            };
            match refused {
                None => {
                    if self.outbox.remove(&result.id).is_some() {
                        actions.push(Action::RemoveMutation(result.id));
                        acked.push(result.id);
                    }
                }
                Some(error) => self.reject(&result.id, error, actions),
            }
        }
        // The cart this answer brought (written just before) holds them:
        // other tabs take the cart and the removals at once.
        let written = actions.iter_mut().rev().find_map(|a| match a {
            Action::PersistServerCart(cart) => Some(cart),
            _ => None,
        });
        if let Some(cart) = written {
            cart.acked = acked;
        }
    }

    /// Removes a pending mutation the authority refused, telling every tab.
    fn reject(&mut self, id: &MutationId, error: ErrorBody, actions: &mut Vec<Action>) {
        let Some(mut record) = self.outbox.remove(id) else {
            return;
        };
        let settled = Settled::Rejected { error };
        let event = settled_event(&record, &settled);
        record.settled = Some(settled);
        actions.push(Action::PersistMutation(record));
        actions.push(Action::RemoveMutation(*id));
        actions.push(Action::Emit(event));
    }

    /// After a conflict: the outbox now sits on a newer server cart. Tells
    /// the shopper what that changes beyond their own edits.
    fn rebased(&mut self, server_version: u64, actions: &mut Vec<Action>) {
        actions.push(Action::Emit(Event::Conflict { server_version }));
        let base = self.server.as_ref().map(|c| c.to_cart()).unwrap_or_default();
        let (_, changes) = rebase(&base, &self.outbox.mutations(), &self.config.limits);
        if !changes.is_empty() {
            actions.push(Action::Emit(Event::Reconciled { changes }));
        }
    }

    fn failed(&mut self, sent: Sent, failure: Failure, now: u64, rng: &mut dyn Random, actions: &mut Vec<Action>) {
        self.failures += 1;
        let error = match failure {
            Failure::Transient { retry_after_ms, .. } => {
                // A failed refresh is still wanted; a failed batch is resent
                // anyway (and refreshes too).
                if matches!(&sent, Sent::Batch { ids, .. } if ids.is_empty()) {
                    self.refresh_wanted = true;
                }
                self.back_off(now, rng, retry_after_ms);
                self.last_error = Some(SyncError::Unreachable {
                    attempts: self.backoff.attempts(),
                });
                return;
            }
            Failure::Permanent(error) => error,
        };
        self.last_error = Some(SyncError::Refused { error: error.clone() });
        let Sent::Batch { token, ids } = sent else {
            return self.back_off(now, rng, None);
        };
        if self.token.as_deref() != Some(token.as_str()) {
            return;
        }
        match error.code.as_str() {
            "cart_not_found" | "cart_closed" => {
                // Not an error state: the `CartReplaced` event tells the
                // shopper, and a fresh cart is created when needed.
                self.last_error = None;
                actions.push(self.change_token(None));
                self.backoff.reset();
                self.retry_at = None;
                actions.push(Action::Emit(Event::CartReplaced {
                    code: error.code,
                    message: error.message,
                }));
            }
            // Told to every tab once storage is read (`moves.rs`).
            "cart_merged" => {
                self.merged(token);
            }
            // About the request's credentials, not its mutations: keep them
            // all and retry with backoff (or at once when another tab signs
            // in and the new credentials arrive).
            "unauthorized" | "forbidden" => self.back_off(now, rng, None),
            _ if ids.len() > 1 => self.isolate = true,
            _ => match ids.first() {
                Some(id) => {
                    // The culprit is found; the `Rejected` event carries the error.
                    self.isolate = false;
                    self.last_error = None;
                    self.reject(id, error, actions);
                }
                None => self.back_off(now, rng, None),
            },
        }
    }

    pub(super) fn back_off(&mut self, now: u64, rng: &mut dyn Random, retry_after_ms: Option<u64>) {
        let delay = self.backoff.next_delay(rng, retry_after_ms);
        self.retry_at = Some(now.saturating_add(delay));
    }
}
