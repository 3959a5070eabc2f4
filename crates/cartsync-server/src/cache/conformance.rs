//! The conformance suite every [`SessionCache`] backend must pass, in the
//! store suite's manner: each check a public async function on a fresh,
//! empty cache (TTL of a minute), each run as its own `#[test]` per backend
//! through [`cache_conformance_tests!`](crate::cache_conformance_tests).

use super::{HotCopy, Projection, SessionCache};
use crate::store::{CartId, Revision, TokenHash};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::Cart;

/// One `#[tokio::test]` per cache conformance check; `$make` evaluates to
/// a fresh cache (anything whose `as_ref()` is a `&dyn SessionCache`).
#[macro_export]
macro_rules! cache_conformance_tests {
    ($make:expr) => {
        $crate::cache_conformance_tests!(@each $make;
            miss_put_get_round_trip,
            never_overwritten_by_an_older_version,
            invalidation_leaves_a_tombstone,
            one_projection_per_cart,
            flush_empties_it,
            concurrent_puts_keep_the_newest,
        );
    };
    (@each $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let cache = $make;
                $crate::cache::conformance::$check(cache.as_ref()).await;
            }
        )*
    };
}

fn token(n: u8) -> TokenHash {
    [n; 32]
}

/// A projection of cart `cart` at `version`, with a hot copy.
pub fn projection(cart: CartId, version: u64) -> Projection {
    let c = Cart {
        version,
        updated_at: 1_000 + version,
        ..Cart::default()
    };
    Projection {
        cart_id: cart,
        owner: None,
        view: CartView::bare(&c),
        hot: Some(HotCopy {
            cart: c,
            revision: Revision::Counter(version as i64 + 10),
        }),
    }
}

async fn version(c: &dyn SessionCache, t: TokenHash) -> Option<u64> {
    c.get(&t).await.map(|p| p.version())
}

pub async fn miss_put_get_round_trip(c: &dyn SessionCache) {
    assert!(c.get(&token(1)).await.is_none(), "a fresh cache misses");
    c.ping().await.expect("ping");
    let p = projection(7, 3);
    c.put(token(1), p.clone()).await;
    let got = c.get(&token(1)).await.expect("hit");
    assert_eq!(*got, p, "the projection and its hot copy come back whole");
    assert!(c.get(&token(2)).await.is_none());
}

/// A reader that loaded version 4 before a writer stored version 5 must
/// not put 4 back over it.
pub async fn never_overwritten_by_an_older_version(c: &dyn SessionCache) {
    c.put(token(1), projection(7, 5)).await;
    c.put(token(1), projection(7, 4)).await;
    assert_eq!(version(c, token(1)).await, Some(5));
    c.put(token(1), projection(7, 6)).await;
    assert_eq!(version(c, token(1)).await, Some(6));
    // An older version under another token of the cart is refused too.
    c.put(token(2), projection(7, 5)).await;
    assert_eq!(version(c, token(1)).await, Some(6));
    assert!(c.get(&token(2)).await.is_none());
}

/// The delete-then-stale-refill race: after an invalidation at version 5,
/// a reader that loaded version 4 before it cannot refill the cache with 4.
pub async fn invalidation_leaves_a_tombstone(c: &dyn SessionCache) {
    c.put(token(1), projection(7, 5)).await;
    c.invalidate(7, 5).await;
    assert!(c.get(&token(1)).await.is_none(), "invalidated");
    c.put(token(1), projection(7, 4)).await;
    assert!(c.get(&token(1)).await.is_none(), "a stale refill is refused");
    c.put(token(1), projection(7, 5)).await;
    assert_eq!(
        version(c, token(1)).await,
        Some(5),
        "a fresh read of the same version is taken"
    );
    c.invalidate(7, 2).await;
    c.put(token(1), projection(7, 4)).await;
    assert!(
        c.get(&token(1)).await.is_none(),
        "the tombstone keeps the newest version it saw"
    );
    // Invalidating a cart the cache never held still blocks older refills.
    c.invalidate(8, 9).await;
    c.put(token(3), projection(8, 8)).await;
    assert!(c.get(&token(3)).await.is_none());
}

pub async fn one_projection_per_cart(c: &dyn SessionCache) {
    c.put(token(1), projection(7, 1)).await;
    c.put(token(2), projection(7, 2)).await;
    assert!(
        c.get(&token(1)).await.is_none(),
        "another token of the cart: the older one goes"
    );
    assert_eq!(version(c, token(2)).await, Some(2));
    c.put(token(3), projection(8, 1)).await;
    c.invalidate(7, 2).await;
    assert_eq!(version(c, token(3)).await, Some(1), "other carts are untouched");
}

pub async fn flush_empties_it(c: &dyn SessionCache) {
    c.put(token(1), projection(7, 1)).await;
    c.put(token(2), projection(8, 1)).await;
    assert_eq!(c.flush().await.expect("flush"), 2);
    assert!(c.get(&token(1)).await.is_none());
    assert!(c.get(&token(2)).await.is_none());
    c.put(token(1), projection(7, 1)).await;
    assert_eq!(version(c, token(1)).await, Some(1), "usable after a flush");
}

/// Writers racing with versions in any order leave the newest.
pub async fn concurrent_puts_keep_the_newest(c: &dyn SessionCache) {
    let order: Vec<u64> = (1..=40).map(|i| (i * 17) % 40 + 1).collect();
    let puts = order.iter().map(|v| c.put(token(1), projection(7, *v)));
    join_all(puts).await;
    assert_eq!(version(c, token(1)).await, Some(40));
}

/// Awaits every future concurrently (no extra crate for one helper).
async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<_> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        futures.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futures.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}
