//! The authority's decision on a batch of mutations: pure, so the server runs
//! it inside its transaction and the simulation runs it in memory, and both
//! get the same answer.

use crate::apply::apply_in_place;
use crate::command::{Command, Mutation};
use crate::error::{CartError, ErrorBody};
use crate::limits::Limits;
use crate::model::{Cart, MutationId};
use crate::prelude::*;
use alloc::collections::BTreeMap;
use serde::{Deserialize, Serialize};

/// What became of one mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    Applied,
    Duplicate,
    Rejected,
}

/// The per-mutation result, as stored for idempotency and sent on the wire
/// (`{"id", "status", "version", "error"}`). `version` is the cart version
/// the mutation produced (applied), or the version it was judged against
/// (rejected). A `duplicate` repeats the stored version and error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MutationResult {
    pub id: MutationId,
    pub status: MutationStatus,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// An idempotency record: the command a mutation id was first used with and
/// the result it got. Kept by the authority for the retention period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IdempotencyRecord {
    pub command: Command,
    pub result: MutationResult,
}

/// Looks up idempotency records. The server reads them from its store inside
/// the batch transaction; tests use a `BTreeMap`.
pub trait IdempotencyLog {
    fn lookup(&self, id: &MutationId) -> Option<IdempotencyRecord>;
}

impl IdempotencyLog for BTreeMap<MutationId, IdempotencyRecord> {
    fn lookup(&self, id: &MutationId) -> Option<IdempotencyRecord> {
        self.get(id).cloned()
    }
}

/// Catalog-dependent checks (`unknown_sku`, `unknown_shipping_option`,
/// `shipping_option_unavailable`) the core cannot make on its own, judged
/// on the cart as it is at that point of the batch. `()` accepts
/// everything.
pub trait CommandCheck {
    fn check(&self, cart: &Cart, command: &Command) -> Result<(), CartError>;
}

impl CommandCheck for () {
    fn check(&self, _: &Cart, _: &Command) -> Result<(), CartError> {
        Ok(())
    }
}

/// One applied mutation, as the event log stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AppliedEvent {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    pub mutation_id: MutationId,
    pub command: Command,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: u64,
}

/// The batch stopped at a mutation whose base version is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Conflict {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub index: usize,
    pub id: MutationId,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expected: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub found: u64,
}

/// Everything the authority must commit, atomically, for one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BatchDecision {
    /// The cart after the decided prefix.
    pub cart: Cart,
    /// One result per decided mutation (all of them, or those before the
    /// conflict).
    pub results: Vec<MutationResult>,
    /// New idempotency records (applied and rejected; never duplicates).
    pub records: Vec<(MutationId, IdempotencyRecord)>,
    /// New event-log rows, one per applied mutation.
    pub events: Vec<AppliedEvent>,
    /// Set when the batch stopped on a stale base version.
    pub conflict: Option<Conflict>,
}

impl BatchDecision {
    /// Whether the store has anything to write.
    pub fn changed(&self) -> bool {
        !self.records.is_empty()
    }
}

/// Decides a batch, mutation by mutation, in order:
/// - an id seen before (in the log or earlier in this batch) is `duplicate`
///   and returns the stored result; with a different command it is
///   `rejected` with `idempotency_key_reused` and the record is untouched;
/// - a non-commutative command whose `base_version` differs from the cart's
///   version at the start of the batch is a conflict: the batch stops there
///   (mutations of the same batch do not count as concurrent changes);
/// - an invalid command is `rejected` with a typed error and the batch goes
///   on;
/// - otherwise it is `applied` and the version goes up by one.
///
/// ```
/// use cartsync_core::{decide_batch, Cart, Command, Limits, Mutation, MutationId};
/// use std::collections::BTreeMap;
/// let m = Mutation { id: MutationId::from_random_bytes([7; 16]), base_version: None, command: Command::add("tee", 1) };
/// let d = decide_batch(&Cart::default(), &BTreeMap::new(), &[m], &Limits::default(), &(), 1000).unwrap();
/// assert_eq!(d.cart.version, 1);
/// ```
pub fn decide_batch(
    cart: &Cart,
    log: &dyn IdempotencyLog,
    batch: &[Mutation],
    limits: &Limits,
    check: &dyn CommandCheck,
    now: u64,
) -> Result<BatchDecision, CartError> {
    if batch.len() > limits.max_batch {
        return Err(CartError::TooManyMutations { max: limits.max_batch });
    }
    let start_version = cart.version;
    let mut decision = BatchDecision {
        cart: cart.clone(),
        results: Vec::with_capacity(batch.len()),
        records: Vec::new(),
        events: Vec::new(),
        conflict: None,
    };
    for (index, m) in batch.iter().enumerate() {
        let earlier = decision
            .records
            .iter()
            .find(|(id, _)| *id == m.id)
            .map(|(_, r)| r.clone())
            .or_else(|| log.lookup(&m.id));
        if let Some(record) = earlier {
            decision
                .results
                .push(duplicate_result(m, &record, decision.cart.version));
            continue;
        }
        if let Some(base) = m.base_version {
            if base != start_version && !m.command.is_commutative() {
                decision.conflict = Some(Conflict {
                    index,
                    id: m.id,
                    expected: base,
                    found: decision.cart.version,
                });
                break;
            }
        }
        let result = decide_one(&mut decision, m, limits, check, now);
        decision.records.push((
            m.id,
            IdempotencyRecord {
                command: m.command.clone(),
                result: result.clone(),
            },
        ));
        decision.results.push(result);
    }
    Ok(decision)
}

fn decide_one(
    decision: &mut BatchDecision,
    m: &Mutation,
    limits: &Limits,
    check: &dyn CommandCheck,
    now: u64,
) -> MutationResult {
    // Field validation first, so a malformed sku is `invalid_sku` (with its
    // echo truncated) and never reaches the catalog lookup.
    // A cart at the last version can take no more changes: applying would
    // wrap the version around (found by fuzzing decide_batch on arbitrary
    // carts; unreachable through the server, which stores int64 versions).
    let outcome = crate::apply::validate(&m.command, limits)
        .and_then(|()| check.check(&decision.cart, &m.command))
        .and_then(|()| {
            if decision.cart.version == u64::MAX {
                return Err(CartError::CartClosed);
            }
            Ok(())
        })
        .and_then(|()| apply_in_place(&mut decision.cart, &m.command, limits));
    match outcome {
        Ok(_) => {
            decision.cart.version += 1;
            decision.cart.updated_at = now;
            decision.events.push(AppliedEvent {
                version: decision.cart.version,
                mutation_id: m.id,
                command: m.command.clone(),
                at: now,
            });
            MutationResult {
                id: m.id,
                status: MutationStatus::Applied,
                version: decision.cart.version,
                error: None,
            }
        }
        Err(e) => MutationResult {
            id: m.id,
            status: MutationStatus::Rejected,
            version: decision.cart.version,
            error: Some(e.to_body()),
        },
    }
}

fn duplicate_result(m: &Mutation, record: &IdempotencyRecord, current: u64) -> MutationResult {
    if record.command != m.command {
        let e = CartError::IdempotencyKeyReused { id: m.id.text() };
        return MutationResult {
            id: m.id,
            status: MutationStatus::Rejected,
            version: current,
            error: Some(e.to_body()),
        };
    }
    MutationResult {
        id: m.id,
        status: MutationStatus::Duplicate,
        version: record.result.version,
        error: record.result.error.clone(),
    }
}

/// Replays an event log from an empty cart: what the snapshot must equal.
/// The recovery worker uses it to verify stored snapshots.
pub fn replay<'a>(
    base: &Cart,
    events: impl IntoIterator<Item = &'a AppliedEvent>,
    limits: &Limits,
) -> Result<Cart, CartError> {
    let mut cart = base.clone();
    for e in events {
        apply_in_place(&mut cart, &e.command, limits)?;
        cart.version = e.version;
        cart.updated_at = e.at;
    }
    Ok(cart)
}
