//! The session cache: a disposable, in-process projection of carts as
//! rendered (names, images, prices, estimated totals), keyed by token hash.
//!
//! Invariants: it is written only after a durable commit, rebuilt from the
//! store on a miss, and never accepts writes of its own; losing it (flush,
//! restart, eviction, TTL) costs one store read, never data.

use crate::store::{CartId, TokenHash};
use cartsync_core::protocol::v1::CartView;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the cache remembers about a cart: enough to answer a `GET` and to
/// check who may read it, without touching the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub cart_id: CartId,
    /// The account cart's owner (`None` for anonymous carts).
    pub owner: Option<String>,
    pub view: CartView,
}

#[derive(Debug)]
struct Entry {
    projection: Projection,
    expires: Instant,
}

/// An in-process TTL map with a size bound.
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<TokenHash, Entry>>,
}

impl SessionCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        SessionCache {
            ttl,
            max_entries: max_entries.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TokenHash, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fresh projection for this token, if any.
    pub fn get(&self, token: &TokenHash) -> Option<Projection> {
        let mut map = self.lock();
        match map.get(token) {
            Some(e) if e.expires > Instant::now() => Some(e.projection.clone()),
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    /// Stores the projection of a committed cart state, dropping what other
    /// tokens of the same cart remembered (it may be older).
    pub fn put(&self, token: TokenHash, projection: Projection) {
        let now = Instant::now();
        let mut map = self.lock();
        let cart = projection.cart_id;
        map.retain(|_, e| e.projection.cart_id != cart && e.expires > now);
        if map.len() >= self.max_entries {
            map.clear();
        }
        map.insert(
            token,
            Entry {
                projection,
                expires: now + self.ttl,
            },
        );
    }

    /// Forgets everything about a cart (merged, closed, repaired).
    pub fn invalidate(&self, cart: CartId) {
        self.lock().retain(|_, e| e.projection.cart_id != cart);
    }

    /// Drops everything; returns how many entries there were.
    pub fn flush(&self) -> usize {
        let mut map = self.lock();
        let n = map.len();
        map.clear();
        n
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartsync_core::Cart;

    fn proj(id: CartId) -> Projection {
        Projection {
            cart_id: id,
            owner: None,
            view: CartView::bare(&Cart::default()),
        }
    }

    #[test]
    fn ttl_invalidate_and_flush() {
        let c = SessionCache::new(Duration::from_secs(60), 10);
        c.put([1; 32], proj(1));
        c.put([2; 32], proj(2));
        assert!(c.get(&[1; 32]).is_some());
        c.invalidate(1);
        assert!(c.get(&[1; 32]).is_none());
        assert_eq!(c.flush(), 1);
        let short = SessionCache::new(Duration::from_millis(0), 10);
        short.put([1; 32], proj(1));
        assert!(short.get(&[1; 32]).is_none());
    }
}
