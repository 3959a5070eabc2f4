//! Operations a caller awaits — `flush`, `login`, `logout`, `checkout` —
//! as states the engine moves on at the end of every input, settled by
//! [`Action::Settle`].
//!
//! - `flush` settles when nothing is pending; it fails at once when the
//!   browser is offline, and when an attempt that started after it failed
//!   (nothing is lost: the outbox stays). It skips any backoff.
//! - `login` flushes, creates a cart if there is none yet, attaches it to
//!   the account (the server merges), switches to the account cart, stores
//!   the user token for every tab and reports the merge. A request of its
//!   own that gets no answer is resent (twice at most, while online): a
//!   resent attach of a cart already merged gets the account cart again.
//!   A cart this tab learned was merged (its token answers `cart_merged`)
//!   is attached without waiting for the outbox, which cannot drain into it;
//!   if that attach answers `cart_merged` too (the account cart it went
//!   into was checked out meanwhile), the pending changes move to a new
//!   cart, which the sign-in makes and attaches.
//! - `logout` flushes what it can, forgets the user token and starts a new
//!   anonymous cart (what is still pending goes to it), unless the cart is
//!   an anonymous one already (made while signed in, after the account
//!   cart was checked out elsewhere): that one stays, so that what it holds
//!   is not lost, and is merged at the next sign-in.
//! - `checkout` flushes, then orders the cart at the total the shopper
//!   sees, under one idempotency key per attempt (a cart at a version): the
//!   caller's, or one kept in storage so that every retry of the attempt —
//!   after a lost answer, a reload, from another tab — sends the same key.

use super::codes;
use super::types::{Action, CheckoutKey, Event, Failure, OpId, Outcome, RequestKind, Response};
use super::{Engine, Sent};
use crate::error::ErrorBody;
use crate::prelude::*;
use crate::protocol::v1::{AttachResponse, CheckoutRequest};
use crate::seams::Random;

#[derive(Debug, Clone)]
pub(super) struct Op {
    pub id: OpId,
    kind: Kind,
    /// The mutations channel's failures when the operation started.
    failures_at: u64,
    /// Waiting for the outbox to drain, or for its own request.
    flushing: bool,
    /// The cart its request was about: an answer that comes after this tab
    /// moved to another cart must not move it again.
    cart: Option<String>,
    /// Times its current request was sent.
    attempts: u8,
}

/// Sends of one sign-in request before its failure is the answer: enough
/// that a flaky mobile link (one request in six or seven lost) signs in
/// all but about once in two thousand, without a shopper's retry.
const LOGIN_ATTEMPTS: u8 = 5;

#[derive(Debug, Clone)]
enum Kind {
    Flush,
    Login { user: String },
    Logout,
    Checkout { key: Option<String>, fresh_key: String },
}

impl Engine {
    /// Resolves once nothing is pending (see the module docs).
    pub fn flush(&mut self, now: u64) -> (OpId, Vec<Action>) {
        self.start(Kind::Flush, now)
    }

    /// Signs in: this cart is merged into `user`'s account cart.
    pub fn login(&mut self, user: String, now: u64) -> (OpId, Vec<Action>) {
        self.start(Kind::Login { user }, now)
    }

    /// Signs out and starts a new anonymous cart.
    pub fn logout(&mut self, now: u64) -> (OpId, Vec<Action>) {
        // The latest intent wins: a sign-in under way is cancelled (its
        // late answer is ignored). Its attach may still commit: the cart,
        // kept if anonymous, is then merged into the account, and what is
        // pending waits for the next sign-in (`cart_merged`), lost neither
        // way; leaving it instead would lose what was applied to it if the
        // attach never arrived.
        let mut actions = Vec::new();
        for op in core::mem::take(&mut self.ops) {
            if matches!(op.kind, Kind::Login { .. }) {
                let error = ErrorBody {
                    code: codes::SIGNED_OUT.into(),
                    message: "signed out before the sign-in finished".into(),
                };
                self.settle_op(op.id, Outcome::Failed(error), &mut actions);
            } else {
                self.ops.push(op);
            }
        }
        let (id, more) = self.start(Kind::Logout, now);
        actions.extend(more);
        (id, actions)
    }

    /// Orders the cart; `key` is the caller's idempotency key, if it keeps
    /// its own.
    pub fn checkout(&mut self, key: Option<String>, now: u64, rng: &mut dyn Random) -> (OpId, Vec<Action>) {
        let fresh_key = rng.next_id().text();
        self.start(Kind::Checkout { key, fresh_key }, now)
    }

    fn start(&mut self, kind: Kind, now: u64) -> (OpId, Vec<Action>) {
        let id = OpId(self.next_op);
        self.next_op += 1;
        self.ops.push(Op {
            id,
            kind,
            failures_at: self.failures,
            flushing: true,
            cart: None,
            attempts: 0,
        });
        // Whatever waits for a backoff goes now.
        self.backoff.reset();
        self.retry_at = None;
        let mut actions = Vec::new();
        self.finish(now, &mut actions);
        (id, actions)
    }

    /// Moves every operation waiting on the outbox along.
    pub(super) fn progress_ops(&mut self, now: u64, actions: &mut Vec<Action>) {
        let mut at = 0;
        while at < self.ops.len() {
            let op = &self.ops[at];
            if !op.flushing {
                at += 1;
                continue;
            }
            let flushed = match op.kind {
                // The outbox cannot drain into a merged cart: attaching it
                // (again) is what gets the token it waits for.
                Kind::Login { .. } if self.waiting_for_token => Some(Ok(())),
                _ => self.flushed(op.failures_at),
            };
            let Some(flushed) = flushed else {
                at += 1;
                continue;
            };
            let op = self.ops.remove(at);
            if let Some(op) = self.after_flush(op, flushed, now, actions) {
                self.ops.insert(at, op);
                at += 1;
            }
        }
    }

    /// Whether the outbox drained (`Ok`), or cannot now (`Err`), or `None`
    /// while it may still drain.
    fn flushed(&self, failures_at: u64) -> Option<Result<(), ErrorBody>> {
        if self.outbox.is_empty() {
            return Some(Ok(()));
        }
        if !self.online {
            return Some(Err(ErrorBody {
                code: codes::NETWORK_ERROR.into(),
                message: "the browser is offline; the changes wait in the outbox".into(),
            }));
        }
        if self.waiting_for_token {
            // Until a sign-in (in any tab) brings the account cart's token,
            // nothing can be sent.
            return Some(Err(ErrorBody {
                code: "cart_merged".into(),
                message:
                    "the cart was merged into an account cart at sign-in; its token has not arrived: sign in again"
                        .into(),
            }));
        }
        match &self.last_error {
            Some(error) if self.failures > failures_at => Some(Err(error.body())),
            _ => None,
        }
    }

    /// The outbox drained (or could not): the operation's next step. Returns
    /// the operation if it goes on (waiting for its own request).
    fn after_flush(
        &mut self,
        mut op: Op,
        flushed: Result<(), ErrorBody>,
        now: u64,
        actions: &mut Vec<Action>,
    ) -> Option<Op> {
        op.flushing = false;
        let kind = match (&op.kind, flushed) {
            (Kind::Logout, _) => {
                // Signing out goes ahead offline too: pending changes go
                // to the new anonymous cart, once storage says which cart
                // is left (`moves.rs`).
                self.user = None;
                actions.push(Action::PersistUser(None));
                self.leave();
                return self.settle_op(op.id, Outcome::LoggedOut, actions);
            }
            (_, Err(error)) => return self.settle_op(op.id, Outcome::Failed(error), actions),
            (Kind::Flush, Ok(())) => return self.settle_op(op.id, Outcome::Flushed, actions),
            (Kind::Login { .. }, Ok(())) => match &self.token {
                None => RequestKind::CreateCart,
                Some(token) => RequestKind::Attach { token: token.clone() },
            },
            (Kind::Checkout { key, fresh_key }, Ok(())) => {
                let (Some(token), Some(server)) = (&self.token, &self.server) else {
                    return self.settle_op(op.id, no_cart(), actions);
                };
                let Some(totals) = &server.totals else {
                    return self.settle_op(op.id, no_cart(), actions);
                };
                let (token, version) = (token.clone(), server.version);
                let body = CheckoutRequest {
                    expected_total: totals.estimated_total.clone(),
                    expected_tax: totals.tax.clone(),
                };
                let key = match (key, &self.checkout_key) {
                    (Some(key), _) => key.clone(),
                    (None, Some(kept)) if kept.token == token && kept.version == version => kept.key.clone(),
                    (None, _) => {
                        let kept = CheckoutKey {
                            token: token.clone(),
                            version,
                            key: fresh_key.clone(),
                            ordered: false,
                        };
                        self.checkout_key = Some(kept.clone());
                        actions.push(Action::PersistCheckoutKey(Some(kept)));
                        fresh_key.clone()
                    }
                };
                RequestKind::Checkout { token, key, body }
            }
        };
        self.send_for(&mut op, kind, now, actions);
        Some(op)
    }

    /// Sign-in's attach was answered, and storage read since.
    pub(super) fn login_attached(&mut self, op: OpId, attached: AttachResponse, now: u64, actions: &mut Vec<Action>) {
        let Some(at) = self.ops.iter().position(|o| o.id == op) else {
            return;
        };
        let mut op = self.ops.remove(at);
        let Kind::Login { user } = op.kind.clone() else {
            return;
        };
        if self.token.is_some() && self.token != op.cart {
            // This tab moved to another cart meanwhile (the first was
            // closed, or another tab made one): that one is attached too,
            // so nothing is left behind.
            if let Some(token) = self.token.clone() {
                self.send_for(&mut op, RequestKind::Attach { token }, now, actions);
            }
            self.ops.insert(at, op);
            return;
        }
        // Stored before anything is sent with it: every tab signs in.
        self.user = Some(user.clone());
        actions.push(Action::PersistUser(Some(user)));
        self.adopt_cart(attached.token, attached.cart, actions);
        // New credentials: nothing waits for a backoff meant for the old ones.
        self.backoff.reset();
        self.retry_at = None;
        let report = attached.merge_report;
        actions.push(Action::Emit(Event::Merged { report: report.clone() }));
        self.settle_op(op.id, Outcome::LoggedIn(report), actions);
    }

    /// Whether a sign-in is making a cart (its request out, or its answer
    /// waiting for the stored token's read).
    pub(super) fn signing_in_creates(&self) -> bool {
        self.ops
            .iter()
            .any(|o| matches!(o.kind, Kind::Login { .. }) && !o.flushing && o.cart.is_none())
    }

    /// Sign-in's new cart was taken (or another tab's cart found meanwhile):
    /// that cart is attached.
    pub(super) fn login_created(&mut self, op: OpId, now: u64, actions: &mut Vec<Action>) {
        let Some(at) = self.ops.iter().position(|o| o.id == op) else {
            return;
        };
        let mut op = self.ops.remove(at);
        let Some(token) = self.token.clone() else {
            self.settle_op(op.id, no_cart(), actions);
            return;
        };
        self.send_for(&mut op, RequestKind::Attach { token }, now, actions);
        self.ops.insert(at, op);
    }

    fn send_for(&mut self, op: &mut Op, kind: RequestKind, now: u64, actions: &mut Vec<Action>) {
        op.attempts = 0;
        self.resend_for(op, kind, now, actions);
    }

    fn resend_for(&mut self, op: &mut Op, kind: RequestKind, now: u64, actions: &mut Vec<Action>) {
        op.attempts += 1;
        op.cart = match &kind {
            RequestKind::Attach { token } | RequestKind::Checkout { token, .. } => Some(token.clone()),
            _ => None,
        };
        let (in_flight, mut request) = self.new_request(Sent::Op(op.id), kind, now);
        if let Kind::Login { user } = &op.kind {
            // Sign-in proves who the cart goes to with the new credentials.
            request.auth = Some(user.clone());
        }
        self.op_requests.push(in_flight);
        actions.push(Action::Send(request));
    }

    /// An operation's own request was answered (or failed).
    pub(super) fn op_answered(
        &mut self,
        id: OpId,
        answer: Result<Response, Failure>,
        now: u64,
        actions: &mut Vec<Action>,
    ) {
        let Some(at) = self.ops.iter().position(|o| o.id == id) else {
            return;
        };
        let mut op = self.ops.remove(at);
        let response = match answer {
            Ok(response) => response,
            // A sign-in request that got no answer may have been applied
            // (the merge committed, the answer was lost): the resend gets the
            // same account cart, so sending it again is safe.
            Err(Failure::Transient { .. })
                if matches!(op.kind, Kind::Login { .. }) && self.online && op.attempts < LOGIN_ATTEMPTS =>
            {
                let kind = match (&op.cart, &self.token) {
                    (Some(token), _) => RequestKind::Attach { token: token.clone() },
                    (None, None) => RequestKind::CreateCart,
                    (None, Some(token)) => RequestKind::Attach { token: token.clone() },
                };
                self.resend_for(&mut op, kind, now, actions);
                self.ops.insert(at, op);
                return;
            }
            // The cart was merged at an earlier sign-in whose answer was
            // lost, and the account cart it went into is gone (checked out)
            // or someone else's: nothing takes this cart again, and what is
            // pending would wait for it forever. It goes to a new cart,
            // which this sign-in makes and attaches.
            Err(Failure::Permanent(error))
                if matches!(op.kind, Kind::Login { .. })
                    && error.code == "cart_merged"
                    && op.cart.is_some()
                    && op.cart == self.token =>
            {
                actions.push(Action::Emit(Event::CartReplaced {
                    code: error.code,
                    message: error.message,
                }));
                actions.push(self.change_token(None));
                self.resend_for(&mut op, RequestKind::CreateCart, now, actions);
                self.ops.insert(at, op);
                return;
            }
            Err(Failure::Transient { error, .. }) | Err(Failure::Permanent(error)) => {
                self.settle_op(op.id, Outcome::Failed(error), actions);
                return;
            }
        };
        match (&op.kind, response) {
            (Kind::Login { .. }, Response::Created(created)) => {
                // Attached once storage is read (`moves.rs`).
                self.created(created, Some(op.id));
                self.ops.insert(at, op);
            }
            (Kind::Login { .. }, Response::Attached(attached)) => {
                // Taken once storage is read (`moves.rs`).
                self.attached(op.id, attached);
                self.ops.insert(at, op);
            }
            (Kind::Checkout { .. }, Response::Ordered(ordered)) => {
                // The cart is closed. A tab that already moved on (a late
                // answer) stays where it is; the tab that sends moves to a
                // fresh cart, and any other tab leaves that to the sender.
                match &op.cart {
                    Some(token) if self.token == op.cart && !self.leads(now) => {
                        let kept = CheckoutKey {
                            token: token.clone(),
                            version: self.server.as_ref().map_or(0, |s| s.version),
                            key: ordered.order.id.clone(),
                            ordered: true,
                        };
                        self.checkout_key = Some(kept.clone());
                        actions.push(Action::PersistCheckoutKey(Some(kept)));
                    }
                    _ => {
                        self.forget_checkout_key(&op, actions);
                        if self.token == op.cart {
                            self.start_fresh_cart(actions);
                        }
                    }
                }
                self.settle_op(op.id, Outcome::Ordered(ordered.order), actions);
            }
            (Kind::Checkout { .. }, Response::CheckoutRejected(rejected)) => {
                // The shopper confirms the revalidated cart: a new attempt.
                self.forget_checkout_key(&op, actions);
                if self.token == op.cart {
                    // Written by the leader only (only leaders write server
                    // carts, so that the stored one never goes back).
                    let leader = self.leader;
                    self.adopt(rejected.cart, leader, actions);
                }
                self.settle_op(op.id, Outcome::Problems(rejected.problems), actions);
            }
            _ => {
                let error = ErrorBody {
                    code: codes::BAD_RESPONSE.into(),
                    message: "the server's answer does not fit the request".into(),
                };
                self.settle_op(op.id, Outcome::Failed(error), actions);
            }
        }
    }

    /// The sending tab learns that another tab's checkout ordered its cart:
    /// it moves every tab to a fresh cart and drops the key.
    pub(super) fn leave_ordered_cart(&mut self, now: u64, actions: &mut Vec<Action>) {
        let ordered = self
            .checkout_key
            .as_ref()
            .is_some_and(|k| k.ordered && Some(&k.token) == self.token.as_ref());
        if ordered && self.leads(now) {
            self.checkout_key = None;
            actions.push(Action::PersistCheckoutKey(None));
            self.start_fresh_cart(actions);
        }
    }

    /// The attempt is over: its key is dropped (unless it is already
    /// another cart's).
    fn forget_checkout_key(&mut self, op: &Op, actions: &mut Vec<Action>) {
        if self
            .checkout_key
            .as_ref()
            .is_some_and(|k| Some(&k.token) == op.cart.as_ref())
        {
            self.checkout_key = None;
            actions.push(Action::PersistCheckoutKey(None));
        }
    }

    fn settle_op(&mut self, op: OpId, outcome: Outcome, actions: &mut Vec<Action>) -> Option<Op> {
        actions.push(Action::Settle { op, outcome });
        None
    }
}

fn no_cart() -> Outcome {
    Outcome::Failed(ErrorBody {
        code: codes::NO_CART.into(),
        message: "there is no synced cart yet".into(),
    })
}
