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
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Enough stripes that unrelated carts rarely share one (a shared stripe
/// sends one of them to the slow path, see `service/mutate.rs`).
const STRIPES: usize = 4096;

#[derive(Default)]
struct Stripe {
    held: Mutex<bool>,
    freed: Condvar,
}

impl Stripe {
    fn held(&self) -> MutexGuard<'_, bool> {
        // The flag is only ever set or cleared whole: a poisoned lock
        // still holds a meaningful value.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cart's turn: held until dropped. Owned (not a borrow of the stripes),
/// so a request can take it on an async task and carry it into the
/// blocking pool.
pub struct Turn(Arc<Stripe>);

impl Drop for Turn {
    fn drop(&mut self) {
        *self.0.held() = false;
        self.0.freed.notify_one();
    }
}

/// Not first come, first served, on purpose: when several clients race
/// conditional writes on one cart, the winner learns first and its next
/// request would always be queued ahead of the losers' resends (a strict
/// queue starved them: in the hot-cart benchmark ~6 % gave up after 64
/// resends). As with a plain mutex, whoever takes the freed turn first has
/// it.
pub struct CartStripes {
    stripes: Vec<Arc<Stripe>>,
}

impl Default for CartStripes {
    fn default() -> Self {
        CartStripes {
            stripes: (0..STRIPES).map(|_| Arc::default()).collect(),
        }
    }
}

impl CartStripes {
    fn stripe(&self, cart: CartId) -> &Arc<Stripe> {
        &self.stripes[(cart.unsigned_abs() % STRIPES as u64) as usize]
    }

    /// `cart`'s turn if it is free now (never waits, so async tasks may
    /// call it).
    pub fn try_lock(&self, cart: CartId) -> Option<Turn> {
        let stripe = self.stripe(cart);
        let mut held = stripe.held();
        if *held {
            return None;
        }
        *held = true;
        Some(Turn(Arc::clone(stripe)))
    }

    /// Waits for `cart`'s turn, blocking the thread.
    pub fn blocking_lock(&self, cart: CartId) -> Turn {
        let stripe = self.stripe(cart);
        let mut held = stripe.held();
        while *held {
            held = stripe.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held = true;
        Turn(Arc::clone(stripe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_turn_per_stripe_and_negative_ids_are_fine() {
        let s = CartStripes::default();
        drop(s.blocking_lock(7));
        drop(s.blocking_lock(-7));
        let held = s.try_lock(42).expect("free");
        assert!(s.try_lock(42).is_none(), "42 is taken");
        assert!(s.try_lock(43).is_some(), "another stripe does not wait");
        let waiter = std::thread::scope(|scope| {
            let w = scope.spawn(|| drop(s.blocking_lock(42)));
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(!w.is_finished(), "waits for the turn");
            drop(held);
            w.join()
        });
        assert!(waiter.is_ok());
        assert!(s.try_lock(42).is_some());
    }
}
