//! Sending: the common tail of every input decides whether a request goes
//! out now, moves operations on, keeps the timer right and reports a
//! changed view.

use super::types::{Action, Event, Request, RequestId, RequestKind, Settled};
use super::{settled_event, Engine, InFlight, Sent};
use crate::command::Mutation;
use crate::prelude::*;
use crate::protocol::v1::MutationsRequest;

impl Engine {
    /// Common tail of every input: send what can be sent, move operations
    /// on, keep the timer right, report a changed view.
    pub(super) fn finish(&mut self, now: u64, actions: &mut Vec<Action>) {
        self.keep_aside(actions);
        self.leave_ordered_cart(now, actions);
        self.pump(now, actions);
        self.progress_ops(now, actions);
        // An operation may have moved the cart (sign-out's fresh cart, a
        // sign-in's account cart): what is pending goes now, not at the
        // next input (there may be none).
        self.pump(now, actions);
        self.background_flush(actions);
        // A failure of something no longer needed (a create-cart whose
        // mutations a late answer settled) is not an error state.
        if !self.has_work() && self.in_flight.is_none() && !self.waiting_for_token {
            self.last_error = None;
        }
        let wake = self.wakeup(now);
        if let Some(at) = wake.filter(|_| wake != self.scheduled) {
            actions.push(Action::ScheduleTimer { at });
        }
        self.scheduled = wake;
        self.sync_view();
        self.notice_shipping(actions);
        let shown = (self.outbox.len(), self.status(), self.last_error.clone());
        if shown != self.shown {
            self.shown = shown;
            self.changes.head = true;
            self.view_rev += 1;
        }
        if self.view_rev != self.announced_rev {
            self.announced_rev = self.view_rev;
            actions.push(Action::Emit(Event::Change));
        }
        if !self.moves.is_empty() {
            actions.push(Action::ReadCart);
        }
        // Reads come last: the binding calls back into the engine with
        // them, and what that call returns must follow, not precede, the
        // actions computed here (a timer scheduled here would otherwise
        // replace the one the call scheduled).
        let (mut cart, mut storage) = (false, false);
        actions.retain(|a| match a {
            Action::ReadCart => {
                cart = true;
                false
            }
            Action::ReadStorage => {
                storage = true;
                false
            }
            _ => true,
        });
        if storage {
            actions.push(Action::ReadStorage);
        }
        if cart {
            actions.push(Action::ReadCart);
        }
    }

    fn wakeup(&self, now: u64) -> Option<u64> {
        let deadlines = self.in_flight.iter().chain(&self.op_requests).map(|f| f.deadline);
        let retry = self.retry_at.filter(|&t| t > now && self.has_work());
        deadlines.chain(retry).min()
    }

    pub(super) fn has_work(&self) -> bool {
        !self.outbox.is_empty() || self.refresh_wanted
    }

    /// A new request id and its deadline.
    pub(super) fn new_request(&mut self, sent: Sent, kind: RequestKind, now: u64) -> (InFlight, Request) {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let request = Request {
            id,
            auth: self.user.clone(),
            kind,
            keepalive: self.hidden,
        };
        let in_flight = InFlight {
            id,
            sent,
            deadline: now.saturating_add(self.config.request_timeout_ms),
        };
        (in_flight, request)
    }

    /// Sends the next mutations request if this tab may and should.
    fn pump(&mut self, now: u64, actions: &mut Vec<Action>) {
        if !self.leads(now) || !self.online || self.in_flight.is_some() || self.waiting_for_token {
            return;
        }
        if !self.moves.is_empty() {
            // The cart may move once storage is read (`moves.rs`).
            return;
        }
        if self.retry_at.is_some_and(|t| t > now) {
            return;
        }
        self.expire(now, actions);
        let (kind, sent) = match &self.token {
            // A sign-in making a cart makes the one the outbox goes to.
            None if !self.outbox.is_empty() && !self.signing_in_creates() => (RequestKind::CreateCart, Sent::Create),
            Some(token) if self.has_work() => {
                let limit = if self.isolate { 1 } else { self.config.limits.max_batch };
                let base = self.server.as_ref().map_or(0, |c| c.version);
                let mutations: Vec<Mutation> = self
                    .outbox
                    .iter()
                    .take(limit)
                    .map(|r| Mutation {
                        id: r.mutation.id,
                        base_version: (!r.mutation.command.is_commutative()).then_some(base),
                        command: r.mutation.command.clone(),
                    })
                    .collect();
                let ids = mutations.iter().map(|m| m.id).collect();
                let kind = RequestKind::Mutations {
                    token: token.clone(),
                    body: MutationsRequest { mutations },
                };
                let sent = Sent::Batch {
                    token: token.clone(),
                    ids,
                };
                (kind, sent)
            }
            _ => return,
        };
        let (in_flight, request) = self.new_request(sent, kind, now);
        self.refresh_wanted = false;
        self.retry_at = None;
        self.in_flight = Some(in_flight);
        actions.push(Action::Send(request));
        if !self.outbox.is_empty() {
            // "Clear site data" in this tab sends no event: look whether
            // storage still holds what is being sent (see `faults.rs`).
            actions.push(Action::ReadStorage);
        }
    }

    /// Surfaces and removes mutations too old to send.
    fn expire(&mut self, now: u64, actions: &mut Vec<Action>) {
        let Some(cutoff) = now.checked_sub(self.config.expiry_ms) else {
            return;
        };
        for mut record in self.outbox.take_created_before(cutoff) {
            let event = settled_event(&record, &Settled::Expired);
            record.settled = Some(Settled::Expired);
            let id = record.mutation.id;
            actions.push(Action::PersistMutation(record));
            actions.push(Action::RemoveMutation(id));
            actions.push(Action::Emit(event));
        }
    }
}
