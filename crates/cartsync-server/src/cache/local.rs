//! [`SessionCache`] in process: moka's bounded, TinyLFU/LRU-evicting caches
//! with a time-to-live. Two maps: projections by token, and per cart the
//! version it was last stored or invalidated at and the token holding it.
//! Every write of a cart goes through moka's atomic per-key compute on the
//! cart's slot, so the version check and the write cannot interleave with
//! another write of the same cart.

use super::{CacheError, Projection, SessionCache};
use crate::store::{CartId, TokenHash};
use moka::ops::compute::Op;
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct Slot {
    version: u64,
    /// The token holding the cart's projection; `None` for a tombstone.
    token: Option<TokenHash>,
}

/// The in-process cache (the default).
pub struct LocalCache {
    tokens: Cache<TokenHash, Arc<Projection>>,
    carts: Cache<CartId, Slot>,
}

impl LocalCache {
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        let capacity = capacity.max(1);
        LocalCache {
            tokens: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
            carts: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
        }
    }
}

#[async_trait::async_trait]
impl SessionCache for LocalCache {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, token: &TokenHash) -> Option<Arc<Projection>> {
        self.tokens.get(token)
    }

    async fn put(&self, token: TokenHash, projection: Projection) {
        let version = projection.version();
        let projection = Arc::new(projection);
        self.carts
            .entry(projection.cart_id)
            .and_compute_with(|slot| match slot.map(|e| e.into_value()) {
                Some(s) if s.version > version => Op::Nop,
                old => {
                    if let Some(other) = old.and_then(|s| s.token).filter(|t| *t != token) {
                        self.tokens.invalidate(&other);
                    }
                    self.tokens.insert(token, projection.clone());
                    Op::Put(Slot {
                        version,
                        token: Some(token),
                    })
                }
            });
    }

    async fn invalidate(&self, cart: CartId, version: u64) {
        self.carts.entry(cart).and_compute_with(|slot| {
            let old = slot.map(|e| e.into_value());
            if let Some(token) = old.and_then(|s| s.token) {
                self.tokens.invalidate(&token);
            }
            Op::Put(Slot {
                version: old.map_or(version, |s| s.version.max(version)),
                token: None,
            })
        });
    }

    async fn flush(&self) -> Result<u64, CacheError> {
        self.tokens.run_pending_tasks();
        let n = self.tokens.entry_count();
        self.tokens.invalidate_all();
        self.carts.invalidate_all();
        self.tokens.run_pending_tasks();
        self.carts.run_pending_tasks();
        Ok(n)
    }

    fn entries(&self) -> Option<u64> {
        self.tokens.run_pending_tasks();
        Some(self.tokens.entry_count())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}
