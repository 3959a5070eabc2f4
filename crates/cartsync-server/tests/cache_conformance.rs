//! The session cache conformance suite against both backends: in process
//! (moka) and Redis (`CARTSYNC_TEST_REDIS`, a key prefix per test), every
//! check its own test; then what is particular to Redis: down or flushed
//! is a miss, never an error.

mod common;

use cartsync_server::cache::conformance::projection;
use cartsync_server::cache::{CacheOptions, LocalCache, RedisCache, SessionCache};
use std::time::Duration;

fn options(prefix: String) -> CacheOptions {
    CacheOptions {
        ttl: Duration::from_secs(60),
        capacity: 1_000,
        prefix,
        timeout: Duration::from_millis(500),
    }
}

mod local {
    use super::*;

    fn fresh() -> Box<LocalCache> {
        Box::new(LocalCache::new(Duration::from_secs(60), 1_000))
    }

    cartsync_server::cache_conformance_tests!(fresh());

    #[tokio::test]
    async fn entries_expire_and_the_size_is_bounded() {
        let short = LocalCache::new(Duration::from_millis(50), 1_000);
        short.put([1; 32], projection(1, 1)).await;
        assert!(short.get(&[1; 32]).await.is_some());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(short.get(&[1; 32]).await.is_none(), "past its TTL");
        let small = LocalCache::new(Duration::from_secs(60), 10);
        for i in 0..200u8 {
            small.put([i; 32], projection(i64::from(i), 1)).await;
        }
        let held = small.entries().unwrap();
        assert!(held <= 12, "bounded by its capacity, not emptied when full: {held}");
        assert!(held >= 5, "evicts some, keeps the rest: {held}");
    }
}

mod redis {
    use super::*;

    /// A cache on the test Redis under a prefix of its own.
    pub struct Fresh(pub RedisCache, pub String);

    impl Fresh {
        pub fn as_ref(&self) -> &dyn SessionCache {
            &self.0
        }
    }

    pub fn fresh() -> Fresh {
        let prefix = common::pg::redis_prefix();
        Fresh(
            RedisCache::new(&common::pg::redis_url(), &options(prefix.clone())).unwrap(),
            prefix,
        )
    }

    cartsync_server::cache_conformance_tests!(fresh());

    #[tokio::test]
    async fn entries_expire_with_their_ttl() {
        let mut o = options(common::pg::redis_prefix());
        o.ttl = Duration::from_millis(100);
        let c = RedisCache::new(&common::pg::redis_url(), &o).unwrap();
        c.put([1; 32], projection(1, 1)).await;
        assert!(c.get(&[1; 32]).await.is_some());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(c.get(&[1; 32]).await.is_none());
    }

    /// Keys deleted behind the cache's back (FLUSHALL, eviction) are misses,
    /// and the cache fills again.
    #[tokio::test]
    async fn keys_removed_behind_its_back_are_misses() {
        let c = fresh();
        c.0.put([1; 32], projection(1, 3)).await;
        let client = ::redis::Client::open(common::pg::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{}*", c.1))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys.len(), 2, "the cart's slot and the token's projection: {keys:?}");
        let _: i64 = ::redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
        assert!(c.0.get(&[1; 32]).await.is_none());
        c.0.put([1; 32], projection(1, 2)).await;
        assert_eq!(c.0.get(&[1; 32]).await.map(|p| p.version()), Some(2));
    }

    /// Nothing listening: every call is a quick miss, never an error or a
    /// hang, and `ping` says so.
    #[tokio::test]
    async fn redis_down_is_a_miss() {
        let c = RedisCache::new("redis://127.0.0.1:1/0", &options("x:".into())).unwrap();
        let started = std::time::Instant::now();
        c.put([1; 32], projection(1, 1)).await;
        assert!(c.get(&[1; 32]).await.is_none());
        c.invalidate(1, 1).await;
        assert!(c.ping().await.is_err());
        assert!(c.flush().await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5), "bounded by the timeouts");
    }
}
