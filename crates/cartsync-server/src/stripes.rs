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
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Enough stripes that unrelated carts rarely wait for each other.
const STRIPES: usize = 1024;

/// A cart's turn: held until dropped. Owned, so a request can take its turn
/// on an async task and carry it into the blocking pool.
pub type Turn = OwnedMutexGuard<()>;

/// Fair (first come, first served) async locks: the hot path waits for its
/// turn without holding a thread.
pub struct CartStripes {
    locks: Vec<Arc<Mutex<()>>>,
}

impl Default for CartStripes {
    fn default() -> Self {
        CartStripes {
            locks: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }
}

impl CartStripes {
    fn stripe(&self, cart: CartId) -> Arc<Mutex<()>> {
        Arc::clone(&self.locks[(cart.unsigned_abs() % STRIPES as u64) as usize])
    }

    /// Waits for `cart`'s turn.
    pub async fn lock(&self, cart: CartId) -> Turn {
        self.stripe(cart).lock_owned().await
    }

    /// Waits for `cart`'s turn on a blocking thread (not on an async task:
    /// tokio refuses that).
    pub fn blocking_lock(&self, cart: CartId) -> Turn {
        self.stripe(cart).blocking_lock_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_cart_same_stripe_and_negative_ids_are_fine() {
        let s = CartStripes::default();
        drop(s.blocking_lock(7));
        drop(s.blocking_lock(-7));
        let held = s.blocking_lock(42);
        assert!(s.locks[42].try_lock().is_err(), "42 waits for its turn");
        // Another cart on another stripe does not wait.
        assert!(s.locks[43].try_lock().is_ok());
        drop(held);
        assert!(s.locks[42].try_lock().is_ok());
    }
}
