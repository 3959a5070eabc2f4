//! A service worker's flush (`cartsync/sw`), as a state machine: what it
//! sends, what it writes on its copy of the records, when it stops, and
//! what it reports. The binding only carries out the rounds (IndexedDB
//! writes, then `fetch`es one after another) and passes the answers back;
//! the simulation drives the same machine through its faulty network.
//!
//! The policies:
//! - the worker runs the page's engine, restored from the copy, as the
//!   leader (it holds the flush lock), so requests keep their mutation ids
//!   and base versions: a page sending the same mutation gets `duplicate`;
//! - every settled mutation leaves a marker for the pages
//!   ([`WorkerSettled`]): acknowledged (it left the outbox without a
//!   tombstone) or the tombstone the engine wrote (refused, expired);
//! - it runs only while it holds the flush lock (a Web Lock: without Web
//!   Locks the pages lead by a storage lease the worker cannot read, and a
//!   cart it made could race one a page made, leaving one of them and what
//!   was applied to it to no one; the simulation found that), and a page
//!   takes in what the worker did before it leads (`Engine::absorb_worker`),
//!   so a cart the worker made (the first adds were made offline) is the
//!   one the pages go on with;
//! - the worker never waits out a backoff (a browser may stop it at any
//!   time): after a round in which a send failed it stops, and reports
//!   [`WorkerReport::retry`] so that Background Sync tries again later
//!   (not after a refusal: retrying would get the same answer);
//! - at most [`MAX_ROUNDS`] rounds of requests per flush.

use super::types::{Action, Event, Failure, Persisted, Request, RequestId, RequestKind, Response};
use super::worker::WorkerSettled;
use super::{Config, Engine};
use crate::model::MutationId;
use crate::prelude::*;
use crate::seams::Random;
use alloc::boxed::Box;
use alloc::collections::{BTreeSet, VecDeque};

/// Rounds of sending in one flush, at most (a round sends what the engine
/// asked for; a cart of a few hundred pending mutations needs a few).
pub const MAX_ROUNDS: usize = 64;

/// A write on the worker's copy of the records.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyWrite {
    /// One of the engine's storage actions (`Persist*`, `Remove*`), carried
    /// out on the copy as a page carries it out on localStorage.
    Record(Box<Action>),
    /// The marker a page takes in (`Engine::absorb_worker`).
    Settled(WorkerSettled),
}

/// One round: carry out `writes` on the copy, then send `sends` one after
/// another, passing each answer to [`WorkerFlush::on_answer`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Round {
    pub writes: Vec<CopyWrite>,
    pub sends: Vec<Request>,
}

/// What a flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Requests handed out to send.
    pub requests: u32,
    pub acknowledged: u32,
    pub rejected: u32,
    /// Still pending afterwards.
    pub remaining: u32,
    /// A send failed on the way (no answer, or a 5xx) and something is
    /// still pending: the flush should end in a rejection, so that
    /// Background Sync retries.
    pub retry: bool,
}

/// See the module docs.
#[derive(Debug)]
pub struct WorkerFlush {
    engine: Engine,
    queue: VecDeque<Action>,
    /// Mutations the engine wrote a tombstone for: their removal is not an
    /// acknowledgement.
    tombstones: BTreeSet<MutationId>,
    failed: bool,
    rounds: usize,
    done: bool,
    report: WorkerReport,
}

impl WorkerFlush {
    /// A flush of `stored` (the copy's records); nothing pending means
    /// nothing to do (the first [`WorkerFlush::poll`] answers `None`).
    pub fn start(config: Config, stored: Persisted, now: u64) -> WorkerFlush {
        let idle = stored.pending.is_empty();
        // A tombstone left in the copy (a page's, or an earlier flush's
        // whose removal was not written) is surfaced again by the restore
        // and removed: that removal is no acknowledgement, and its marker
        // is the tombstone.
        let left: Vec<_> = stored.pending.iter().filter(|r| r.settled.is_some()).cloned().collect();
        let (mut engine, mut actions) = Engine::restore(config, stored.clone(), now);
        actions.extend(engine.set_online(true, now));
        actions.extend(engine.leadership_gained(stored, now));
        let mut queue: VecDeque<Action> = if idle { VecDeque::new() } else { actions.into() };
        let tombstones = left.iter().map(|r| r.mutation.id).collect();
        for record in left {
            queue.push_front(Action::PersistMutation(record));
        }
        WorkerFlush {
            engine,
            queue,
            tombstones,
            failed: false,
            rounds: 0,
            done: idle,
            report: WorkerReport::default(),
        }
    }

    /// The next round, or `None` when the flush is over. The last round
    /// may carry writes and no sends.
    pub fn poll(&mut self, now: u64) -> Option<Round> {
        if self.done {
            return None;
        }
        let mut round = Round::default();
        while let Some(action) = self.queue.pop_front() {
            match action {
                Action::Send(request)
                    if matches!(request.kind, RequestKind::Mutations { .. } | RequestKind::CreateCart) =>
                {
                    round.sends.push(request)
                }
                // A sign-in or a checkout is a page's to do (none is started here).
                Action::Send(_) => {}
                // Its own records are the copy's (only the lock holder writes
                // a token there).
                Action::ReadCart => {
                    let stored = self.engine.persisted();
                    self.queue.extend(self.engine.cart_read(stored, now));
                }
                Action::Lead => {
                    let stored = self.engine.persisted();
                    self.queue.extend(self.engine.leadership_gained(stored, now));
                }
                Action::Emit(Event::Rejected { .. } | Event::Expired { .. }) => self.report.rejected += 1,
                action => self.record(action, &mut round.writes),
            }
        }
        if self.failed || round.sends.is_empty() || self.rounds >= MAX_ROUNDS {
            self.done = true;
            round.sends.clear();
            self.report.remaining = u32::try_from(self.engine.pending().len()).unwrap_or(u32::MAX);
            self.report.retry = self.failed && self.report.remaining > 0;
            return (!round.writes.is_empty()).then_some(round);
        }
        self.rounds += 1;
        self.report.requests += u32::try_from(round.sends.len()).unwrap_or(u32::MAX);
        Some(round)
    }

    /// The answer to a request of the last round (`Err`: it failed).
    pub fn on_answer(&mut self, id: RequestId, answer: Result<Response, Failure>, now: u64, rng: &mut dyn Random) {
        let actions = match answer {
            Ok(response) => self.engine.on_response(id, response, now, rng),
            Err(failure) => {
                // Only a transient failure is worth Background Sync's retry:
                // a refusal is the engine's to sort out (a tombstone, or a
                // cart merged at sign-in that waits for a page's sign-in).
                self.failed |= matches!(failure, Failure::Transient { .. });
                self.engine.on_failure(id, failure, now, rng)
            }
        };
        self.queue.extend(actions);
    }

    /// What the flush did (final once `poll` answered `None`).
    pub fn report(&self) -> WorkerReport {
        self.report
    }

    /// The engine's storage actions become writes on the copy, plus a
    /// marker per settled mutation; the rest (timers, the lease, events,
    /// operations) has no meaning in a worker that ends with the flush.
    fn record(&mut self, action: Action, writes: &mut Vec<CopyWrite>) {
        match action {
            Action::PersistMutation(record) => {
                if record.settled.is_some() {
                    self.tombstones.insert(record.mutation.id);
                    writes.push(CopyWrite::Settled(WorkerSettled::Tombstone(record.clone())));
                }
                writes.push(CopyWrite::Record(Box::new(Action::PersistMutation(record))));
            }
            Action::RemoveMutation(id) => {
                if !self.tombstones.contains(&id) {
                    self.report.acknowledged += 1;
                    writes.push(CopyWrite::Settled(WorkerSettled::Acknowledged(id)));
                }
                writes.push(CopyWrite::Record(Box::new(Action::RemoveMutation(id))));
            }
            action @ (Action::PersistToken(_)
            | Action::PersistServerCart(_)
            | Action::RemoveServerCart
            | Action::PersistUser(_)
            | Action::PersistCheckoutKey(_)) => writes.push(CopyWrite::Record(Box::new(action))),
            _ => {}
        }
    }
}
