//! The session cache: a disposable projection of carts as rendered (names,
//! images, prices, estimated totals), keyed by token hash, behind one
//! [`SessionCache`] trait with two backends: [`LocalCache`] (in-process, a
//! bounded LRU with a TTL, the default) and [`RedisCache`] (shared by every
//! instance).
//!
//! Invariants, for every backend (the checks of [`conformance`]):
//! - it is written only after a durable commit or a store read, rebuilt
//!   from the store on a miss, and never accepts writes of its own; losing
//!   it (flush, restart, eviction, TTL, Redis down or flushed) costs store
//!   reads, never data: a failing backend is a miss, never an error;
//! - values carry the cart version and are never overwritten by an older
//!   one, and an invalidation leaves a tombstone at the version it knew, so
//!   a reader that loaded the cart before a commit or a state change cannot
//!   write its stale copy back afterwards (the delete-then-refill race);
//! - one projection per cart: storing a cart under one token drops what its
//!   other tokens held.
//!
//! Another process may have written the cart since: readers check the
//! stored version, and mutations decided on the hot copy commit only if the
//! stored cart is still exactly that copy (its [`Revision`]).

pub mod conformance;
mod local;
mod redis;
mod timed;

pub use local::LocalCache;
pub use redis::RedisCache;
pub use timed::Timed;

use crate::store::{CartId, Revision, TokenHash};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::Cart;
use std::sync::Arc;
use std::time::Duration;

/// What the cache remembers about a cart: enough to answer a `GET` and to
/// check who may read it, without touching the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub cart_id: CartId,
    /// The account cart's owner (`None` for anonymous carts).
    pub owner: Option<String>,
    pub view: CartView,
    /// The cart the view was priced from, when its stored revision is known.
    pub hot: Option<HotCopy>,
}

impl Projection {
    /// The cart version this projection shows.
    pub fn version(&self) -> u64 {
        self.view.version
    }
}

/// A cart as an instance last committed or read it, with the store's
/// revision of that state: mutations decide on it instead of reading and
/// parsing the cart again, and the commit's condition on the revision
/// decides whether the copy was still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotCopy {
    pub cart: Cart,
    pub revision: Revision,
}

/// Why the cache backend did not answer (logged and counted; callers treat
/// it as a miss).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache backend unavailable: {0}")]
    Unavailable(String),
    #[error("cache entry unreadable: {0}")]
    Corrupt(String),
}

/// The session cache. Every method is infallible from the caller's side
/// except the operator's ones (`flush`, `ping`): a backend that fails
/// answers a miss, and a write it drops is rebuilt on the next read.
#[async_trait::async_trait]
pub trait SessionCache: Send + Sync {
    /// `memory` or `redis` (for `/healthz` and the logs).
    fn kind(&self) -> &'static str;

    /// The projection for this token, if any.
    async fn get(&self, token: &TokenHash) -> Option<Arc<Projection>>;

    /// Stores the projection of a committed or read cart state, unless the
    /// cache already holds a newer version of the cart (or a tombstone
    /// newer than it). Drops what other tokens of the cart held.
    async fn put(&self, token: TokenHash, projection: Projection);

    /// Forgets the cart (merged, closed, repaired, or a hot copy that lost
    /// its commit), leaving a tombstone at `version`: a later `put` of an
    /// older version is refused.
    async fn invalidate(&self, cart: CartId, version: u64);

    /// Drops everything this cache holds; how many projections there were.
    async fn flush(&self) -> Result<u64, CacheError>;

    /// Projections held, where the backend can say cheaply.
    fn entries(&self) -> Option<u64>;

    /// Whether the backend answers (`/healthz`).
    async fn ping(&self) -> Result<(), CacheError>;
}

/// How a cache is opened.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    pub ttl: Duration,
    /// Most projections kept in process.
    pub capacity: u64,
    /// Prefix of every Redis key (several deployments or tests may share
    /// one Redis).
    pub prefix: String,
    /// Longest a Redis command may take before it counts as a miss.
    pub timeout: Duration,
}

/// Opens the cache a `--cache` value names: `memory` (default) or a
/// `redis://` / `rediss://` URL. Redis need not be up: until it answers,
/// every lookup is a miss.
pub fn open(spec: &str, options: &CacheOptions) -> Result<Arc<dyn SessionCache>, CacheError> {
    match spec.trim() {
        "" | "memory" => Ok(Arc::new(LocalCache::new(options.ttl, options.capacity))),
        url if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://") => {
            Ok(Arc::new(RedisCache::new(url, options)?))
        }
        other => Err(CacheError::Unavailable(format!(
            "--cache must be `memory` or a redis:// URL, not {other:?}"
        ))),
    }
}
