//! The durable cart store: snapshots, the event log, idempotency records,
//! cart tokens, and orders with their stock holds, payment intents and
//! payment events, behind one [`CartStore`] trait.
//!
//! The trait is async: the PostgreSQL backend talks to its server over the
//! network, and the SQLite backend runs its reads on the blocking pool and
//! queues its writes on its writer thread (group commit), so no caller
//! blocks a runtime thread either way. Every method that writes commits
//! everything it writes in one transaction, and conditional writes take the
//! version the caller read (`expected_version`): when the cart moved on in
//! between, the store answers [`StoreError::VersionConflict`] and the caller
//! decides again on fresh data. Domain types carry no database derives;
//! backends map rows themselves.
//!
//! Every backend must pass every check of [`conformance`].

pub mod conformance;
mod orders;
pub mod postgres;
pub mod sqlite;
mod timed;

pub use orders::{
    compose, intent_now, units_per_sku, EventApplied, EventOutcome, IntentRef, NewIntent, OrderCommit, OrderCommitted,
    PaymentEvent, PaymentEventKind, Shortfall, StoredOrder,
};

use cartsync_core::protocol::v1::{Order, PaymentIntent};
use cartsync_core::{AppliedEvent, BatchDecision, Cart, IdempotencyRecord, MergeReport, MutationId, Options, Sku};
use cartsync_core::{Command, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use timed::Timed;

/// The store's own error, in the object_store manner: callers match on the
/// first two; `Unavailable` and `Backend` carry detail for the logs, never
/// for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("version conflict: expected {expected}, found {found}")]
    VersionConflict { expected: u64, found: u64 },
    /// The database could not be reached, or the connection broke before
    /// the outcome was known (a write may or may not have committed: the
    /// caller answers nothing as done, and a retry with the same mutation
    /// ids gets the stored result if it did). Clients are told to retry.
    #[error("storage backend unavailable: {source}")]
    Unavailable {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("storage backend failed: {source}")]
    Backend {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend { source: Box::new(e) }
    }

    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable { source: Box::new(e) }
    }
}

/// The database row id of a cart. Never sent to clients (they hold tokens).
pub type CartId = i64;

/// The SHA-256 of a cart token: the only form in which tokens are stored.
pub type TokenHash = [u8; 32];

/// Where a cart is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartState {
    /// Takes mutations.
    Open,
    /// Merged into the account cart with this id at login; its tokens answer
    /// `410 cart_merged`.
    Merged { into: CartId },
    /// Checked out as this order; mutations answer `409 cart_closed`.
    Closed { order_id: String },
}

/// The unit price a line was last quoted at, recorded with each commit so
/// checkout can say "was X, now Y".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub unit_price: Money,
}

/// What [`CartStore::head`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartHead {
    pub id: CartId,
    pub version: u64,
    pub merged: bool,
}

/// One stored state of a cart, as the store can compare it exactly and
/// cheaply: a conditional write that names a revision succeeds only if the
/// row is still in that very state. Versions alone do not say that: the
/// recovery worker's repair rewrites a snapshot without moving its version.
/// Opaque to callers (only compared and handed back); each backend makes
/// its own kind and treats the other kind as a state it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Revision {
    /// The SQLite store: the snapshot text itself (comparing it is a
    /// memcmp next to the row's rewrite).
    Snapshot(Arc<str>),
    /// The PostgreSQL store: the row's `revision` column, moved by every
    /// write to the row.
    Counter(i64),
}

impl Revision {
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Revision::Snapshot(text.into())
    }
}

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRecord {
    pub id: CartId,
    pub state: CartState,
    /// The current snapshot (its `version` is the cart's version).
    pub cart: Cart,
    /// The prices the lines were last quoted at.
    pub quotes: Vec<Quote>,
    pub created_at: u64,
    /// The stored state this record was read at.
    pub revision: Revision,
}

/// One row of a cart's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub version: u64,
    /// `mutation` (an applied command) or `merge` (an anonymous cart was
    /// merged in; the snapshot after it is the new replay base).
    pub kind: String,
    pub mutation_id: Option<MutationId>,
    pub command: Option<Command>,
    pub merge_report: Option<MergeReport>,
    pub at: u64,
}

impl EventRow {
    pub fn from_applied(e: &AppliedEvent) -> Self {
        EventRow {
            version: e.version,
            kind: "mutation".into(),
            mutation_id: Some(e.mutation_id),
            command: Some(e.command.clone()),
            merge_report: None,
            at: e.at,
        }
    }
}

/// What the recovery worker needs to verify one cart: the replay base (the
/// empty cart, or the snapshot right after the last merge), the mutation
/// events after it, and the stored snapshot.
#[derive(Debug, Clone)]
pub struct ReplaySource {
    pub base: Cart,
    pub events: Vec<AppliedEvent>,
    pub snapshot: Cart,
}

/// Where a merge goes: an existing account cart (read at `expected_version`)
/// or a new one for `owner`.
#[derive(Debug, Clone)]
pub enum MergeTarget {
    Existing { id: CartId, expected_version: u64 },
    New { owner: String },
}

/// A batch decision to commit, and the state it must land on: the cart
/// still open at `expected_version` and, when given, holding exactly
/// `expected_revision` (a decision made on an in-process copy).
#[derive(Debug, Clone, Copy)]
pub struct BatchCommit<'a> {
    pub cart: CartId,
    pub expected_version: u64,
    pub expected_revision: Option<&'a Revision>,
    pub decision: &'a BatchDecision,
    pub quotes: &'a [Quote],
    pub now: u64,
}

impl<'a> BatchCommit<'a> {
    /// A commit conditional on the version only.
    pub fn new(
        cart: CartId,
        expected_version: u64,
        decision: &'a BatchDecision,
        quotes: &'a [Quote],
        now: u64,
    ) -> Self {
        BatchCommit {
            cart,
            expected_version,
            expected_revision: None,
            decision,
            quotes,
            now,
        }
    }

    /// The same commit, conditional on exactly `revision` too.
    pub fn on_revision(self, revision: &'a Revision) -> Self {
        BatchCommit {
            expected_revision: Some(revision),
            ..self
        }
    }
}

/// Everything one attach commits atomically.
#[derive(Debug, Clone)]
pub struct MergeCommit {
    pub anonymous: CartId,
    pub anonymous_version: u64,
    pub target: MergeTarget,
    /// The merged cart, version already stamped.
    pub merged: Cart,
    pub report: MergeReport,
    pub quotes: Vec<Quote>,
    /// A fresh token for the account cart.
    pub token_hash: TokenHash,
    pub now: u64,
}

/// The durable cart authority's storage.
#[async_trait::async_trait]
pub trait CartStore: Send + Sync {
    /// Cheap liveness check (`/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates an empty anonymous cart reachable by `token_hash`.
    async fn create_cart(&self, token_hash: &TokenHash, now: u64) -> Result<CartRecord, StoreError>;

    /// The cart a token opens (in any state). `NotFound` for unknown tokens.
    async fn load_by_token(&self, token_hash: &TokenHash) -> Result<CartRecord, StoreError>;

    async fn load(&self, id: CartId) -> Result<CartRecord, StoreError>;

    /// The cart id, version and state a token opens, without the snapshot:
    /// the session cache's freshness check.
    async fn head(&self, token_hash: &TokenHash) -> Result<CartHead, StoreError>;

    /// The open account cart of `owner`, if there is one.
    async fn find_account_cart(&self, owner: &str) -> Result<Option<CartRecord>, StoreError>;

    /// The stored idempotency records among `ids` for this cart.
    async fn idempotency_records(
        &self,
        cart: CartId,
        ids: &[MutationId],
    ) -> Result<BTreeMap<MutationId, IdempotencyRecord>, StoreError>;

    /// Commits a batch decision in one transaction: the new snapshot (only
    /// on the state [`BatchCommit`] names), its event rows, its idempotency
    /// records and the lines' quotes. `VersionConflict` (nothing written) if
    /// the cart moved on or was closed or merged, or if one of the records
    /// is already stored (so a caller that decided without reading the
    /// records learns that one of its mutations is not new). Returns the
    /// new revision. Resolves only once the commit is durable (and, on a
    /// replicated PostgreSQL, confirmed by the synchronous standby).
    async fn commit_batch(&self, commit: BatchCommit<'_>) -> Result<Revision, StoreError>;

    /// The event log after `after`, oldest first, at most `limit` rows.
    async fn events(&self, cart: CartId, after: u64, limit: usize) -> Result<Vec<EventRow>, StoreError>;

    /// Commits an attach in one transaction: the anonymous cart becomes
    /// `Merged`, the account cart gets the merged snapshot (a new replay
    /// base), a `merge` event, a new token and copies of the anonymous
    /// cart's idempotency records (so a mutation already merged in is a
    /// duplicate when resent to the account cart). Returns the account cart
    /// id.
    async fn commit_merge(&self, merge: &MergeCommit) -> Result<CartId, StoreError>;

    /// Sign-in resent after its answer was lost: when `anonymous` was
    /// merged, a new token `token_hash` for the account cart it went into,
    /// that cart, and the report the merge got. `NotFound` (nothing
    /// written) if `anonymous` was not merged.
    async fn reattach(
        &self,
        anonymous: CartId,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<(CartRecord, MergeReport), StoreError>;

    /// The order this cart got for this checkout key, if any, with its
    /// current status and payment intent.
    async fn order_for_key(&self, cart: CartId, key: &str) -> Result<Option<Order>, StoreError>;

    /// An order by id, with its current status and payment intent.
    async fn order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError>;

    /// Closes the cart (open, at `expected_version`), stores the order and
    /// takes and holds its stock, all in one transaction: either all of it
    /// or nothing. `VersionConflict` if the cart moved on (or was closed);
    /// `OutOfStock` (nothing written) when some SKU has fewer units than
    /// the order needs, so concurrent checkouts of the last unit create one
    /// order, whichever process they reach.
    async fn commit_order(&self, commit: OrderCommit<'_>) -> Result<OrderCommitted, StoreError>;

    /// Stores a payment intent for its order unless one is stored under the
    /// same `(provider, idempotency_key)`; returns the stored one, with its
    /// current status.
    async fn put_payment_intent(&self, intent: NewIntent<'_>) -> Result<PaymentIntent, StoreError>;

    /// Applies a verified provider event once per `(provider, event_id)`,
    /// in one transaction with the order's status, its holds and the stock
    /// (see `orders.rs` for what each event does).
    async fn apply_payment_event(&self, event: &PaymentEvent) -> Result<EventApplied, StoreError>;

    /// Orders still waiting for payment whose hold ran out by `now` (at
    /// most `limit`): their stock is given back, they become `expired` and
    /// their intents `canceled`, each order in one transaction. Returns
    /// their ids.
    async fn expire_holds(&self, now: u64, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Units of `sku` in stock, if the inventory tracks it.
    async fn stock(&self, sku: &Sku) -> Result<Option<u32>, StoreError>;

    /// Sets the stock of `sku` (admin, and the conformance suite).
    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), StoreError>;

    /// Deletes anonymous carts (open or merged) not updated since `cutoff`,
    /// with their tokens, events and idempotency records.
    async fn expire_anonymous_carts(&self, cutoff: u64) -> Result<usize, StoreError>;

    /// Deletes idempotency records created before `cutoff`.
    async fn expire_idempotency_records(&self, cutoff: u64) -> Result<usize, StoreError>;

    /// Carts updated at or after `since`, in `(updated_at, id)` order after
    /// the position `after`, at most `limit`: the verification pass pages
    /// through what changed since its last pass instead of every cart.
    async fn carts_updated_since(
        &self,
        since: u64,
        after: Option<(u64, CartId)>,
        limit: usize,
    ) -> Result<Vec<(u64, CartId)>, StoreError>;

    async fn replay_source(&self, cart: CartId) -> Result<ReplaySource, StoreError>;

    /// Replaces a diverged snapshot with the replayed one, if the cart is
    /// still at `expected_version`.
    async fn repair_snapshot(&self, cart: CartId, expected_version: u64, replayed: &Cart) -> Result<(), StoreError>;

    /// Takes the right to run a recovery pass: with several server
    /// processes on one database, one pass runs at a time. `None` when
    /// another process holds it; the right lasts as long as the guard.
    async fn recovery_lock(&self) -> Result<Option<PassGuard>, StoreError>;
}

/// Holds the recovery right ([`CartStore::recovery_lock`]) until dropped.
pub struct PassGuard(#[allow(dead_code)] Box<dyn Send>);

impl PassGuard {
    pub fn new(held: impl Send + 'static) -> Self {
        PassGuard(Box::new(held))
    }
}
