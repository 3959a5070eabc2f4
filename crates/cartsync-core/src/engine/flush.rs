//! Sending: the common tail of every input decides whether a request goes
//! out now, when the engine wants to be woken, and whether the view changed.

use super::types::{Action, Request, RequestId, Settled};
use super::{settled_event, Engine, InFlight, Sent};
use crate::command::Mutation;
use crate::prelude::*;
use crate::protocol::v1::MutationsRequest;

impl Engine {
    /// Common tail of every input: send what can be sent, keep the timer
    /// right, report a changed view.
    pub(super) fn finish(&mut self, now: u64, actions: &mut Vec<Action>) {
        self.pump(now, actions);
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
        let view = self.view();
        if self.last_view.as_ref() != Some(&view) {
            self.last_view = Some(view.clone());
            actions.push(Action::ViewChanged(view));
        }
    }

    fn wakeup(&self, now: u64) -> Option<u64> {
        let deadline = self.in_flight.as_ref().map(|f| f.deadline);
        let retry = self.retry_at.filter(|&t| t > now && self.has_work());
        match (deadline, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn has_work(&self) -> bool {
        !self.outbox.is_empty() || self.refresh_wanted
    }

    /// Sends the next request if this tab may and should.
    fn pump(&mut self, now: u64, actions: &mut Vec<Action>) {
        if !self.leader || !self.online || self.in_flight.is_some() || self.waiting_for_token {
            return;
        }
        if self.retry_at.is_some_and(|t| t > now) {
            return;
        }
        self.expire(now, actions);
        let id = RequestId(self.next_request);
        let (request, sent) = match &self.token {
            None if !self.outbox.is_empty() => (Request::CreateCart { id }, Sent::Create),
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
                let request = Request::Mutations {
                    id,
                    token: token.clone(),
                    body: MutationsRequest { mutations },
                };
                (
                    request,
                    Sent::Batch {
                        token: token.clone(),
                        ids,
                    },
                )
            }
            _ => return,
        };
        self.next_request += 1;
        self.refresh_wanted = false;
        self.retry_at = None;
        self.in_flight = Some(InFlight {
            id,
            sent,
            deadline: now.saturating_add(self.config.request_timeout_ms),
        });
        actions.push(Action::Send(request));
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
