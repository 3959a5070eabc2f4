//! The session cache: a disposable, in-process projection of carts as
//! rendered (names, images, prices, estimated totals), keyed by token hash.
//!
//! Invariants: it is written only after a durable commit or a store read,
//! rebuilt from the store on a miss, and never accepts writes of its own;
//! losing it (flush, restart, eviction, TTL) costs one store read, never
//! data. Another process may have written the cart since: readers check the
//! stored version, and mutations decided on the hot copy commit only if the
//! stored cart is still exactly that copy (its [`Revision`]).

use crate::store::{CartId, Revision, TokenHash};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::Cart;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

/// A cart as this process last committed or read it, with the store's
/// revision of that state: mutations decide on it instead of reading and
/// parsing the cart again, and the commit's condition on the revision
/// decides whether the copy was still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotCopy {
    pub cart: Cart,
    pub revision: Revision,
}

#[derive(Debug)]
struct Entry {
    // Shared, so a lookup does not copy the view and the cart.
    projection: Arc<Projection>,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Maps {
    by_token: HashMap<TokenHash, Entry>,
    /// The tokens holding a projection of each cart (an account cart may
    /// have several), so invalidation does not scan the whole cache.
    by_cart: HashMap<CartId, Vec<TokenHash>>,
}

impl Maps {
    fn remove_cart(&mut self, cart: CartId) {
        for token in self.by_cart.remove(&cart).unwrap_or_default() {
            self.by_token.remove(&token);
        }
    }

    fn remove_token(&mut self, token: &TokenHash) {
        if let Some(e) = self.by_token.remove(token) {
            if let Some(tokens) = self.by_cart.get_mut(&e.projection.cart_id) {
                tokens.retain(|t| t != token);
                if tokens.is_empty() {
                    self.by_cart.remove(&e.projection.cart_id);
                }
            }
        }
    }
}

/// An in-process TTL map with a size bound.
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    max_entries: usize,
    maps: Mutex<Maps>,
}

impl SessionCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        SessionCache {
            ttl,
            max_entries: max_entries.max(1),
            maps: Mutex::new(Maps::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fresh projection for this token, if any.
    pub fn get(&self, token: &TokenHash) -> Option<Arc<Projection>> {
        let mut maps = self.lock();
        match maps.by_token.get(token) {
            Some(e) if e.expires > Instant::now() => Some(Arc::clone(&e.projection)),
            Some(_) => {
                maps.remove_token(token);
                None
            }
            None => None,
        }
    }

    /// Stores the projection of a committed cart state, dropping what other
    /// tokens of the same cart remembered (it may be older).
    pub fn put(&self, token: TokenHash, projection: Projection) {
        let mut maps = self.lock();
        let cart = projection.cart_id;
        maps.remove_cart(cart);
        maps.remove_token(&token);
        if maps.by_token.len() >= self.max_entries {
            // Full: start over (it is only a cache; entries are rebuilt on
            // demand). Cheaper and simpler than LRU bookkeeping per read.
            *maps = Maps::default();
        }
        maps.by_cart.entry(cart).or_default().push(token);
        maps.by_token.insert(
            token,
            Entry {
                projection: Arc::new(projection),
                expires: Instant::now() + self.ttl,
            },
        );
    }

    /// Forgets everything about a cart (merged, closed, repaired).
    pub fn invalidate(&self, cart: CartId) {
        self.lock().remove_cart(cart);
    }

    /// Drops everything; returns how many entries there were.
    pub fn flush(&self) -> usize {
        let mut maps = self.lock();
        let n = maps.by_token.len();
        *maps = Maps::default();
        n
    }

    pub fn len(&self) -> usize {
        self.lock().by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proj(id: CartId) -> Projection {
        Projection {
            cart_id: id,
            owner: None,
            view: CartView::bare(&Cart::default()),
            hot: None,
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
        assert!(short.is_empty());
    }

    #[test]
    fn one_projection_per_cart_and_a_size_bound() {
        let c = SessionCache::new(Duration::from_secs(60), 3);
        c.put([1; 32], proj(1));
        c.put([2; 32], proj(1)); // another token of cart 1: the older one goes
        assert!(c.get(&[1; 32]).is_none());
        assert!(c.get(&[2; 32]).is_some());
        c.put([3; 32], proj(2));
        c.put([4; 32], proj(3));
        assert_eq!(c.len(), 3);
        c.put([5; 32], proj(4)); // full: starts over
        assert_eq!(c.len(), 1);
        c.put([5; 32], proj(5)); // a token re-pointed at another cart
        c.invalidate(4);
        assert!(c.get(&[5; 32]).is_some());
    }
}
