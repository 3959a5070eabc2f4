//! What goes in and out of the engine: requests it asks the binding to send,
//! the responses and failures the binding reports back, storage records and
//! changes, the actions it returns and the events a UI shows.

use crate::command::Mutation;
use crate::error::ErrorBody;
use crate::model::{MutationId, Options, Sku};
use crate::prelude::*;
use crate::protocol::v1;
use crate::rebase::Reconciliation;
use core::fmt;
use serde::{Deserialize, Serialize};

use super::view::View;

/// Names one request the engine asked for, so the binding can hand the
/// answer back (`Engine::on_response(id, ...)`). Unique within one engine
/// instance; a reloaded page never sees the answers of the old page's
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A request for the binding to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `POST /carts` (an anonymous cart; sent lazily, by the leader only).
    CreateCart { id: RequestId },
    /// `POST /carts/{token}/mutations`. An empty batch is a refresh: the
    /// answer carries the current cart.
    Mutations {
        id: RequestId,
        token: String,
        body: v1::MutationsRequest,
    },
}

impl Request {
    pub fn id(&self) -> RequestId {
        match self {
            Request::CreateCart { id } | Request::Mutations { id, .. } => *id,
        }
    }
}

/// A successful (or 409 `version_conflict`) answer, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `200` to a mutations batch.
    Mutations(v1::MutationsResponse),
    /// `409 version_conflict` to a mutations batch.
    Conflict(v1::ConflictResponse),
    /// `201` to create-cart.
    Created(v1::CreateCartResponse),
}

/// Why a request produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Network error, timeout, 5xx, or 429 (with its `Retry-After`, in ms):
    /// retried with backoff.
    Transient { retry_after_ms: Option<u64> },
    /// A 4xx with its body (`cart_not_found`, `cart_closed`, `cart_merged`,
    /// `bad_request`, ...): retrying the same request will not help.
    Permanent(ErrorBody),
}

/// How a stored mutation ended when it ended without being applied. A
/// settled record is a tombstone: written just before the key is removed so
/// that every tab (not only the one that got the answer) tells the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Settled {
    Rejected { error: ErrorBody },
    Expired,
}

/// One pending mutation as stored (one storage key per mutation, see
/// [`mutation_key`], so tabs never overwrite each other's writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMutation {
    pub mutation: Mutation,
    /// When the shopper issued it (ms since the epoch): orders the outbox
    /// and decides expiry.
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<Settled>,
}

/// The storage key of the cart token.
pub const TOKEN_KEY: &str = "cartsync:v1:token";
/// The storage key of the last server cart.
pub const SERVER_CART_KEY: &str = "cartsync:v1:cart";
/// The prefix of every pending-mutation key.
pub const MUTATION_KEY_PREFIX: &str = "cartsync:v1:m:";

/// The storage key of one pending mutation.
///
/// ```
/// use cartsync_core::engine::mutation_key;
/// use cartsync_core::MutationId;
/// let id = MutationId::from_random_bytes([0; 16]);
/// assert!(mutation_key(&id).starts_with("cartsync:v1:m:"));
/// ```
pub fn mutation_key(id: &MutationId) -> String {
    [MUTATION_KEY_PREFIX, &id.text()].concat()
}

/// The cart token as stored ([`TOKEN_KEY`]). Storage events can arrive
/// late, after a tab already read newer state, so writes are ordered: a tab
/// takes a record only if its `(generation, token)` is greater than the one
/// it holds. `token: None` (the cart is gone, a new one is coming) is stored
/// as a record too, so the generation survives it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token: Option<String>,
    pub generation: u64,
}

/// The last server cart as stored ([`SERVER_CART_KEY`]), tagged with its
/// cart's token so a late write about an old cart is never taken for the
/// current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCart {
    pub token: String,
    pub cart: v1::CartView,
}

/// Everything the engine persists: enough to restore it completely.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Persisted {
    pub token: TokenRecord,
    pub server_cart: Option<ServerCart>,
    pub pending: Vec<StoredMutation>,
}

/// A change another tab made to the shared storage (a `storage` event).
///
/// Build it from the key's *current* value, read when the event is handled,
/// not from the event's `newValue`: events are queued, so one can arrive
/// after this tab already read newer state (a new leader reads storage when
/// it takes the lock), and a mutation announced by a stale event may be long
/// settled. Read-through turns such an event into what is true now (absent:
/// `MutationRemoved`). Token and cart records are ordered by the engine
/// itself (see [`TokenRecord`], [`ServerCart`]), so stale ones are harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageChange {
    /// A mutation key was written (new, or settled as a tombstone).
    MutationAdded(StoredMutation),
    MutationRemoved(MutationId),
    TokenChanged(TokenRecord),
    ServerCartChanged(ServerCart),
}

/// Something the shopper should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The authority refused a mutation; its effect is gone from the view.
    Rejected {
        mutation: Mutation,
        error: ErrorBody,
        /// The line it touched, if any, so the UI can point at it.
        line: Option<(Sku, Options)>,
    },
    /// Changes to the view the shopper did not make (after a conflict).
    Reconciled(Vec<Reconciliation>),
    /// The server cart had moved on; pending mutations were rebased onto
    /// version `server_version` and will be resent.
    Conflict { server_version: u64 },
    /// A mutation waited longer than the expiry period (7 days by default)
    /// without being acknowledged; it is not sent again. If an earlier send
    /// went unanswered the authority may still have applied it: the next
    /// server cart shows that.
    Expired { mutation: Mutation, created_at: u64 },
    /// The cart is gone (`cart_not_found`, `cart_closed`): a fresh cart will
    /// be created and what is pending sent to it.
    CartReplaced { old_token: String, error: ErrorBody },
}

/// What the binding must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write [`mutation_key`]`(id)`.
    PersistMutation(StoredMutation),
    /// Remove [`mutation_key`]`(id)`.
    RemoveMutation(MutationId),
    /// Write [`TOKEN_KEY`].
    PersistToken(TokenRecord),
    /// Write [`SERVER_CART_KEY`].
    PersistServerCart(ServerCart),
    Send(Request),
    /// Call `Engine::on_timer` at `at` (ms); replaces any earlier schedule.
    ScheduleTimer {
        at: u64,
    },
    ViewChanged(View),
    Emit(Event),
}
