//! What goes in and out of the engine: requests it asks the binding to send,
//! the responses and failures the binding reports back, storage records and
//! changes, the actions it returns and the events a UI shows.

use crate::command::Mutation;
use crate::error::ErrorBody;
use crate::merge::MergeReport;
use crate::model::{MutationId, Options, Sku};
use crate::prelude::*;
use crate::protocol::v1;
use crate::rebase::Reconciliation;
use serde::{Deserialize, Serialize};

/// Names one request the engine asked for, so the binding can hand the
/// answer back (`Engine::on_response(id, ...)`). Unique within one engine
/// instance; a reloaded page never sees the answers of the old page's
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// A request for the binding to send: `POST {endpoint}{path}` with the JSON
/// body, `Authorization: Bearer {auth}` when there is a signed-in shopper,
/// and `Idempotency-Key` for a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: RequestId,
    /// The shopper's user token, read when the request leaves: a sign-in in
    /// another tab reaches whichever tab sends.
    pub auth: Option<String>,
    pub kind: RequestKind,
    /// Send it so that it outlives the page (`fetch(..., {keepalive:
    /// true})`): the page is hidden and may be closed before the answer.
    pub keepalive: bool,
}

/// What a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// `POST /carts` (an anonymous cart; sent lazily, by the leader only,
    /// or by a sign-in that finds no cart).
    CreateCart,
    /// `POST /carts/{token}/mutations`. An empty batch is a refresh: the
    /// answer carries the current cart.
    Mutations { token: String, body: v1::MutationsRequest },
    /// `POST /carts/{token}/attach` (sign-in: merge into the account cart).
    Attach { token: String },
    /// `POST /carts/{token}/checkout` with its idempotency key.
    Checkout {
        token: String,
        key: String,
        body: v1::CheckoutRequest,
    },
}

impl RequestKind {
    /// The path under the endpoint.
    pub fn path(&self) -> String {
        match self {
            RequestKind::CreateCart => "/carts".into(),
            RequestKind::Mutations { token, .. } => ["/carts/", token, "/mutations"].concat(),
            RequestKind::Attach { token } => ["/carts/", token, "/attach"].concat(),
            RequestKind::Checkout { token, .. } => ["/carts/", token, "/checkout"].concat(),
        }
    }

    /// The `Idempotency-Key` header, for a checkout.
    pub fn idempotency_key(&self) -> Option<&str> {
        match self {
            RequestKind::Checkout { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// A usable answer, already parsed (see [`RequestKind::sort`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `200` to a mutations batch.
    Mutations(v1::MutationsResponse),
    /// `409 version_conflict` to a mutations batch.
    Conflict(v1::ConflictResponse),
    /// `201` to create-cart.
    Created(v1::CreateCartResponse),
    /// `200` to attach.
    Attached(v1::AttachResponse),
    /// `201` to checkout: the order.
    Ordered(v1::CheckoutResponse),
    /// `409 checkout_revalidation_failed`: what the shopper must confirm.
    CheckoutRejected(v1::CheckoutRejected),
}

/// Why a request produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Network error, timeout, 5xx, or 429 (with its `Retry-After`, in ms):
    /// retried with backoff. `error` says what happened (`network_error`,
    /// or the server's body), for an operation that gives up on it.
    Transient {
        retry_after_ms: Option<u64>,
        error: ErrorBody,
    },
    /// A 4xx with its body (`cart_not_found`, `cart_closed`, `cart_merged`,
    /// `bad_request`, ...): retrying the same request will not help.
    Permanent(ErrorBody),
}

/// How a stored mutation ended when it ended without being applied. A
/// settled record is a tombstone: written just before the key is removed so
/// that every tab (not only the one that got the answer) tells the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "WireSettled")]
pub enum Settled {
    Rejected { error: ErrorBody },
    Expired,
}

/// The flat shape a settlement is read from (see `command::WireCommand`
/// for why internally tagged enums are not read directly).
#[derive(Deserialize)]
struct WireSettled {
    kind: String,
    error: Option<ErrorBody>,
}

impl TryFrom<WireSettled> for Settled {
    type Error = &'static str;

    fn try_from(w: WireSettled) -> Result<Settled, &'static str> {
        match (w.kind.as_str(), w.error) {
            ("rejected", Some(error)) => Ok(Settled::Rejected { error }),
            ("expired", _) => Ok(Settled::Expired),
            _ => Err("a settlement is `rejected` with an `error`, or `expired`"),
        }
    }
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

/// The storage format this engine reads and writes: keys `cartsync:v1:…`,
/// records without a `format` field or with `"format": 1`.
///
/// The rule every version keeps: a record an older SDK cannot read carries
/// a higher `format` (or lives under a `cartsync:v{N}:` key with a higher
/// `N`); a newer SDK reads every older format. An older SDK that meets a
/// newer record never writes over it nor removes it (see
/// [`Unreadable::Newer`]).
pub const FORMAT: u64 = 1;

/// The format a key of ours is in: `N` for `cartsync:v{N}:…`.
///
/// ```
/// use cartsync_core::engine::key_format;
/// assert_eq!(key_format("cartsync:v1:token"), Some(1));
/// assert_eq!(key_format("cartsync:v2:m:x"), Some(2));
/// assert_eq!(key_format("cartsync:vx:token"), None);
/// assert_eq!(key_format("other"), None);
/// ```
pub fn key_format(key: &str) -> Option<u64> {
    let rest = key.strip_prefix("cartsync:v")?;
    let (n, _) = rest.split_once(':')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// A record's format marker, read before the record itself (unknown
/// fields are ignored, so every record shape reads as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct FormatMarker {
    #[serde(default)]
    pub format: Option<u64>,
}

impl FormatMarker {
    /// Written by a newer SDK than this one.
    pub fn is_newer(&self) -> bool {
        self.format.is_some_and(|f| f > FORMAT)
    }
}

/// Why a record in storage could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON, or not of its shape (edited by hand, damaged).
    Corrupt,
    /// Written by a newer SDK (a higher `format`, or a `cartsync:v{N}:`
    /// key with a higher `N`): never written over nor removed.
    Newer,
}

/// A record storage holds that could not be read, by key (without the
/// namespace prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRecord {
    pub key: String,
    pub why: Unreadable,
}

/// The storage key of the cart token.
pub const TOKEN_KEY: &str = "cartsync:v1:token";
/// The storage key of the last server cart.
pub const SERVER_CART_KEY: &str = "cartsync:v1:cart";
/// The prefix of every pending-mutation key.
pub const MUTATION_KEY_PREFIX: &str = "cartsync:v1:m:";
/// The storage key of the signed-in shopper's user token (the bare token
/// text, not JSON: it is what the `Authorization` header carries).
pub const USER_KEY: &str = "cartsync:v1:user";
/// The storage key of the current checkout attempt's idempotency key.
pub const CHECKOUT_KEY: &str = "cartsync:v1:checkout";
/// The storage key of the flush lease (tabs without Web Locks).
pub const LEASE_KEY: &str = "cartsync:v1:lease";

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
    /// The cart was merged into an account cart at a sign-in whose answer
    /// never came (its token answers `cart_merged`): nothing can be sent
    /// until a sign-in brings the account cart's token. Stored so that
    /// every tab knows it (a sign-in in any tab then attaches at once
    /// instead of waiting for an outbox that cannot drain).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub merged: bool,
}

impl TokenRecord {
    /// Whether this record is newer than `other`: by generation, then (two
    /// tabs that moved at once) a cart that was not found merged first (a
    /// sign-in's account cart beats another tab's news that the old cart
    /// was merged), then by token.
    pub fn supersedes(&self, other: &TokenRecord) -> bool {
        (self.generation, !self.merged, &self.token) > (other.generation, !other.merged, &other.token)
    }
}

/// The last server cart as stored ([`SERVER_CART_KEY`]), tagged with its
/// cart's token so a late write about an old cart is never taken for the
/// current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCart {
    pub token: String,
    pub cart: v1::CartView,
    /// The pending mutations the answer that brought this cart
    /// acknowledged: the cart already holds them. Another tab takes both at
    /// once; the cart and the removals reach it as separate storage events,
    /// and in between it would count them twice (the cart plus its outbox).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acked: Vec<MutationId>,
}

impl ServerCart {
    pub fn new(token: String, cart: v1::CartView) -> Self {
        ServerCart {
            token,
            cart,
            acked: Vec::new(),
        }
    }
}

/// The idempotency key of one checkout attempt ([`CHECKOUT_KEY`]): an
/// attempt is a cart at a version, and every retry of it (after a lost
/// answer, a reload, in another tab) sends the same key, so the authority
/// creates one order at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutKey {
    pub token: String,
    pub version: u64,
    pub key: String,
    /// The attempt ordered the cart, answered to a tab that does not send:
    /// the tab that sends moves every tab to a fresh cart (only the sender
    /// writes the token, so a late answer cannot overwrite a newer cart
    /// another tab already moved to).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub ordered: bool,
}

/// Who sends, where Web Locks are missing ([`LEASE_KEY`]): the holder
/// (a tab's random id) until `until` (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub until: u64,
}

impl Lease {
    /// The stored form, `"{holder} {until}"` (the form every version of
    /// the SDK writes, so tabs of two versions share one lease).
    ///
    /// ```
    /// use cartsync_core::engine::Lease;
    /// let lease = Lease { holder: "tab-1".into(), until: 5_000 };
    /// assert_eq!(lease.text(), "tab-1 5000");
    /// assert_eq!(Lease::parse("tab-1 5000"), Some(lease));
    /// assert_eq!(Lease::parse("garbage"), None);
    /// ```
    pub fn text(&self) -> String {
        [self.holder.as_str(), " ", &crate::text::decimal(self.until)].concat()
    }

    pub fn parse(text: &str) -> Option<Lease> {
        let (holder, until) = text.split_once(' ')?;
        let until = until.parse().ok()?;
        (!holder.is_empty()).then(|| Lease {
            holder: holder.into(),
            until,
        })
    }
}

/// Everything the engine persists: enough to restore it completely.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Persisted {
    pub token: TokenRecord,
    pub server_cart: Option<ServerCart>,
    pub pending: Vec<StoredMutation>,
    pub user: Option<String>,
    pub checkout: Option<CheckoutKey>,
    /// Records of this namespace that could not be read (read as absent).
    #[serde(skip)]
    pub unreadable: Vec<UnreadableRecord>,
}

/// A change another tab made to the shared storage (a `storage` event).
///
/// Build it from the key's *current* value, read when the event is handled,
/// not from the event's `newValue`: events are queued, so one can arrive
/// after this tab already read newer state (a new leader reads storage when
/// it takes the lock), and a mutation announced by a stale event may be long
/// settled. Read-through turns such an event into what is true now (absent:
/// `MutationRemoved`); the user and checkout keys must be read through too
/// (their records carry no order). Token and cart records are ordered by the
/// engine itself (see [`TokenRecord`], [`ServerCart`]), so stale ones are
/// harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageChange {
    /// A mutation key was written (new, or settled as a tombstone).
    MutationAdded(StoredMutation),
    MutationRemoved(MutationId),
    TokenChanged(TokenRecord),
    ServerCartChanged(ServerCart),
    /// A sign-in or sign-out in another tab.
    UserChanged(Option<String>),
    CheckoutKeyChanged(Option<CheckoutKey>),
    /// A key now holds a record that cannot be read (garbage, or a newer
    /// SDK's format).
    Unreadable(UnreadableRecord),
    /// Every key went at once (`localStorage.clear()` in another tab: a
    /// `storage` event without a key), with what storage holds now (other
    /// tabs may already have written theirs back).
    Cleared(alloc::boxed::Box<Persisted>),
}

/// A line's identity, for events that point at a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LineKey {
    pub sku: Sku,
    pub options: Options,
}

/// Something the shopper's UI should hear about, in the shape listeners
/// get it (`{type: "rejected", ...}`; the binding writes field names in
/// camelCase, like every value it hands to JavaScript).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The view changed: read it again.
    Change,
    /// The authority refused a mutation; its effect is gone from the view.
    Rejected {
        mutation_id: MutationId,
        /// The command's wire name (`add_item`, ...).
        command: &'static str,
        code: String,
        message: String,
        /// The line it touched, if any, so the UI can point at it.
        line: Option<LineKey>,
    },
    /// Changes to the view the shopper did not make (after a conflict).
    Reconciled { changes: Vec<Reconciliation> },
    /// The server cart had moved on; pending mutations were rebased onto
    /// version `server_version` and will be resent.
    Conflict {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        server_version: u64,
    },
    /// A mutation waited longer than the expiry period (7 days by default)
    /// without being acknowledged; it is not sent again. If an earlier send
    /// went unanswered the authority may still have applied it: the next
    /// server cart shows that.
    Expired {
        mutation_id: MutationId,
        command: &'static str,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        created_at: u64,
    },
    /// A sign-in merged this cart into the account's (in this tab).
    Merged { report: MergeReport },
    /// The cart is gone (`cart_not_found`, `cart_closed`): a fresh cart will
    /// be created and what is pending sent to it.
    CartReplaced { code: String, message: String },
    /// Storage let the cart down: a write other than a command's own record
    /// failed (`storage_full`, `storage_unavailable`: memory is ahead of
    /// storage until the next write succeeds); storage was cleared under
    /// the page (`storage_cleared`: what the page held was written back); a
    /// record could not be read (`storage_corrupt`, with its `key`: left in
    /// place, read as absent); another tab runs a newer cartsync
    /// (`storage_newer_format`: this page stops sending and writing shared
    /// records; reload it).
    StorageError {
        code: String,
        message: String,
        /// The record concerned (without the namespace prefix), if one is.
        key: Option<String>,
    },
}

impl Event {
    pub(crate) fn rejected(mutation: &Mutation, error: &ErrorBody) -> Event {
        Event::Rejected {
            mutation_id: mutation.id,
            command: mutation.command.name(),
            code: error.code.clone(),
            message: error.message.clone(),
            line: mutation.command.line_key().map(|(sku, options)| LineKey {
                sku: sku.clone(),
                options: options.clone(),
            }),
        }
    }
}

/// Names one operation a caller awaits (`flush`, `login`, `logout`,
/// `checkout`), settled by [`Action::Settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `flush`: nothing is pending.
    Flushed,
    /// `login`: the merge report.
    LoggedIn(MergeReport),
    LoggedOut,
    /// `checkout`: the order (a fresh cart has started).
    Ordered(v1::Order),
    /// `checkout`: what the revalidation found; the revalidated cart is the
    /// view now.
    Problems(Vec<v1::CheckoutProblem>),
    Failed(ErrorBody),
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
    /// Remove [`SERVER_CART_KEY`] (the cart was closed or left).
    RemoveServerCart,
    /// Write [`USER_KEY`] (`None`: remove it).
    PersistUser(Option<String>),
    /// Write [`CHECKOUT_KEY`] (`None`: remove it).
    PersistCheckoutKey(Option<CheckoutKey>),
    /// Write [`LEASE_KEY`].
    PersistLease(Lease),
    /// Remove [`LEASE_KEY`] (this tab gives the lease up).
    RemoveLease,
    /// This tab took the lease: read storage now and call
    /// `Engine::leadership_gained` with it (as when a Web Lock is granted).
    Lead,
    Send(Request),
    /// Call `Engine::on_timer` at `at` (ms); replaces any earlier schedule.
    ScheduleTimer {
        at: u64,
    },
    /// Read [`LEASE_KEY`] and call `Engine::on_lease` at `at` (ms); replaces
    /// any earlier schedule.
    ScheduleLeaseCheck {
        at: u64,
    },
    /// Ask the page's service worker to send what is pending when it can
    /// (Background Sync `cartsync-flush`), in case this page cannot.
    RequestBackgroundFlush,
    /// Tell listeners (after the state change, never in the middle of it).
    Emit(Event),
    /// Resolve (or reject) the caller awaiting `op`.
    Settle {
        op: OpId,
        outcome: Outcome,
    },
    /// Read every record now and call `Engine::storage_read` with them
    /// (to find out whether storage was cleared under this page).
    ReadStorage,
    /// Read the service worker's copy (IndexedDB) and call
    /// `Engine::absorb_worker` with it (with nothing if there is no copy):
    /// the flush lock was granted, and what a worker did while it held the
    /// lock is taken in before this tab leads.
    ReadWorkerCopy,
    /// Read every record now and call `Engine::cart_read` with them, before
    /// anything else (the engine is about to move to another cart, see
    /// `moves.rs`).
    ReadCart,
    /// Stop leading for good: give the flush lock (or the lease) up and
    /// never ask for it again (another tab runs a newer cartsync).
    StepDown,
}
