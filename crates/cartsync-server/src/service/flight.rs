//! Single flight: concurrent misses on one key in this process share one
//! store read instead of each making their own (a cold cache after a Redis
//! flush, a restart or a deploy must not multiply the database's load by
//! the number of requests in flight).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub struct Flights<K, V> {
    inflight: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Copy, V: Clone> Flights<K, V> {
    /// `load()`'s value, or the value of the load of `key` already in
    /// flight. If the caller running the load is cancelled, a waiting one
    /// runs its own (tokio's `OnceCell` hands the initialisation over).
    pub async fn run<F, Fut>(&self, key: K, load: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            inflight.entry(key).or_default().clone()
        };
        let value = cell.get_or_init(load).await.clone();
        // Whoever finishes first retires the flight; later callers start a
        // new one (by then the cache holds what this one read).
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_load_and_later_ones_load_again() {
        let flights: Arc<Flights<u8, usize>> = Arc::default();
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (flights, loads) = (flights.clone(), loads.clone());
                tokio::spawn(async move {
                    flights
                        .run(1, || async {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            loads.fetch_add(1, Ordering::SeqCst) + 1
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        let again = flights.run(1, || async { 7 }).await;
        assert_eq!(again, 7, "a finished flight is not reused");
    }
}
