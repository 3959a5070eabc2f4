//! A tab moves to another cart (takes a new one, or leaves one at
//! sign-out) only after reading which cart storage names now.
//!
//! Storage events lag, so a tab can decide on an old idea of the cart:
//! two tabs make a cart at once (the leader for the first pending
//! mutation, and a sign-in in a tab that has not heard of that mutation
//! yet), or a tab signs out while another tab has already moved on to a
//! new cart. Whichever wrote its token last would win in storage, and the
//! other cart, with whatever was applied to it, would be left to no one
//! once its tab closed (the simulation found both). So these moves are
//! decided after [`Action::ReadCart`]: the binding reads the stored token
//! and server cart synchronously (nothing can come between the read and
//! the writes that follow) and calls [`Engine::cart_read`].
//!
//! - A new cart (`Created`) is taken only if storage still names none;
//!   otherwise this tab joins the cart already there, and the new one,
//!   empty, is never used. A sign-in then attaches whichever cart this tab
//!   is on.
//! - Sign-out leaves the cart storage names if it is an account's (the
//!   account keeps it) and starts a new anonymous one; an anonymous cart
//!   (made while signed in, after the account cart was checked out
//!   elsewhere) stays, so that what it holds is not lost; no cart at all
//!   leaves nothing to write.
//! - A sign-in's account cart is taken after the read, so that its token
//!   record is newer than anything storage holds.
//! - A cart that answered `cart_merged` is marked so in storage (every tab
//!   then waits for a sign-in, and a sign-in in any tab attaches it at
//!   once) only if storage still names it: a sign-in in another tab may
//!   have moved on to the account cart already.
//!
//! What storage names at the read is the latest write of any tab, so it is
//! taken unless it is older than what this tab holds.

use super::types::{Action, OpId, Persisted};
use super::Engine;
use crate::prelude::*;
use crate::protocol::v1::{AttachResponse, CreateCartResponse};

/// A new cart waiting for the read.
#[derive(Debug, Clone)]
pub(super) struct Created {
    response: CreateCartResponse,
    /// The sign-in that asked for it (`None`: the leader's sends did).
    op: Option<OpId>,
}

/// Moves waiting for [`Action::ReadCart`].
#[derive(Debug, Clone, Default)]
pub(super) struct Moves {
    created: Vec<Created>,
    /// A sign-out: leave an account's cart.
    leaving: bool,
    /// This cart answered `cart_merged`: every tab is to wait for a sign-in.
    merged: Option<String>,
    /// Sign-ins' attaches answered: the account cart is taken.
    attached: Vec<(OpId, AttachResponse)>,
}

impl Moves {
    pub(super) fn is_empty(&self) -> bool {
        self.created.is_empty() && !self.leaving && self.merged.is_none() && self.attached.is_empty()
    }
}

impl Engine {
    /// The authority made a cart: taken once storage is read (`finish`
    /// asks for the read).
    pub(super) fn created(&mut self, response: CreateCartResponse, op: Option<OpId>) {
        self.moves.created.push(Created { response, op });
    }

    /// The cart `token` answered `cart_merged`: this tab waits for a
    /// sign-in, and every tab is told once storage is read.
    pub(super) fn merged(&mut self, token: String) {
        self.waiting_for_token = true;
        self.moves.merged = Some(token);
    }

    /// Sign-in's attach was answered: the account cart is taken once
    /// storage is read.
    pub(super) fn attached(&mut self, op: OpId, response: AttachResponse) {
        self.moves.attached.push((op, response));
    }

    /// Sign-out: the cart is left (or kept) once storage is read.
    pub(super) fn leave(&mut self) {
        self.moves.leaving = true;
    }

    /// The binding read storage ([`Action::ReadCart`]): its token and
    /// server cart are what counts.
    pub fn cart_read(&mut self, stored: Persisted, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.take_stored_token(stored.token) && self.leader {
            self.refresh_wanted = self.token.is_some() && !self.waiting_for_token;
        }
        if let Some(cart) = stored.server_cart.filter(|c| self.token.as_ref() == Some(&c.token)) {
            self.adopt(cart.cart, false, &mut actions);
        }
        let Moves {
            created,
            leaving,
            merged,
            attached,
        } = core::mem::take(&mut self.moves);
        for (op, response) in attached {
            self.login_attached(op, response, now, &mut actions);
        }
        if merged.is_some() && merged == self.token {
            actions.push(self.merged_away());
        }
        if leaving {
            let anonymous = self.server.as_ref().is_some_and(|s| s.owner.is_none()) && !self.waiting_for_token;
            if self.token.is_some() && !anonymous {
                self.start_fresh_cart(&mut actions);
            }
        }
        for created in created {
            // Only a tab that still leads takes a new cart for its sends: a
            // lease that ran out meanwhile may have let another tab create
            // one. A sign-in takes it wherever it runs.
            let take = self.token.is_none() && (created.op.is_some() || self.leads(now));
            if take {
                actions.push(self.change_token(Some(created.response.token)));
                self.adopt(created.response.cart, true, &mut actions);
            }
            if let Some(op) = created.op {
                self.login_created(op, now, &mut actions);
            }
        }
        self.finish(now, &mut actions);
        actions
    }
}
