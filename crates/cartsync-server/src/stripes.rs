//! Per-cart write serialisation inside one process. A batch is decided on
//! the cart as read and committed only if the cart is still at that
//! version; requests for the same cart that race each other would otherwise
//! lose that race again and again (several tabs and a phone on one cart),
//! and past a bound answer `503 busy`. Queuing them on a lock per cart makes
//! the read–decide–commit of one cart sequential here, while different carts
//! still share group commits. Striped: a fixed set of locks, so memory does
//! not grow with the number of carts. Other processes on the same database
//! are still kept honest by the conditional commit.

use crate::store::CartId;
use std::sync::{Mutex, MutexGuard};

/// Enough stripes that unrelated carts rarely wait for each other.
const STRIPES: usize = 1024;

pub struct CartStripes {
    locks: Vec<Mutex<()>>,
}

impl Default for CartStripes {
    fn default() -> Self {
        CartStripes {
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl CartStripes {
    /// Holds the lock of `cart`'s stripe until the guard is dropped.
    pub fn lock(&self, cart: CartId) -> MutexGuard<'_, ()> {
        let at = (cart.unsigned_abs() % STRIPES as u64) as usize;
        // A poisoned stripe only means another request panicked while
        // holding it; the lock guards no data, so carry on.
        self.locks[at].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_cart_same_stripe_and_negative_ids_are_fine() {
        let s = CartStripes::default();
        drop(s.lock(7));
        drop(s.lock(-7));
        let held = s.lock(42);
        // Another cart on another stripe does not wait.
        assert!(s.locks[43].try_lock().is_ok());
        drop(held);
    }
}
