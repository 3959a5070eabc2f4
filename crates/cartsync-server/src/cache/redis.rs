//! [`SessionCache`] in Redis, shared by every server instance: a shop's
//! instances then warm one cache instead of one each, and a projection
//! written by the instance that committed is what the next instance reads.
//!
//! Keys (under the configured prefix): `c:{cart id}` is a hash holding the
//! cart's last stored or invalidated `v`ersion and the `t`oken key holding
//! its projection; `t:{token hash, hex}` is the projection (JSON). Writes are
//! Lua scripts, so the version check and the write are one step inside
//! Redis, whichever instance races which.
//!
//! Redis is a disposable cache here, never a store: every command has a
//! short timeout, and any failure (down, slow, flushed, evicted, an entry
//! that no longer parses) is a miss. The connection is redis-rs's
//! `ConnectionManager`, created lazily, so a server starts while Redis is
//! down and reconnects in the background when it is back.

use super::{CacheError, CacheOptions, HotCopy, Projection, SessionCache};
use crate::store::{CartId, Revision, TokenHash};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::Cart;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// Stores a projection unless the cart's slot is newer; drops the
/// projection another token of the cart held.
const PUT: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
local old = redis.call('HGET', KEYS[1], 't')
if old and old ~= KEYS[2] then redis.call('DEL', old) end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Drops the cart's projection and leaves a tombstone at the newer of the
/// slot's version and the one given.
const INVALIDATE: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
local old = redis.call('HGET', KEYS[1], 't')
if old then redis.call('DEL', old) end
local keep = tonumber(ARGV[1])
if v and tonumber(v) > keep then keep = tonumber(v) end
redis.call('HSET', KEYS[1], 'v', keep)
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// The stored form of a [`Projection`] (the row wrapper: domain types carry
/// no storage derives of their own).
#[derive(Serialize, Deserialize)]
struct Stored {
    cart_id: CartId,
    owner: Option<String>,
    view: CartView,
    hot: Option<(Cart, Revision)>,
}

/// The shared Redis cache (`--cache redis://…`).
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    ttl_ms: u64,
    timeout: Duration,
    put: Script,
    invalidate: Script,
}

fn unavailable(e: impl std::fmt::Display) -> CacheError {
    CacheError::Unavailable(e.to_string())
}

impl RedisCache {
    /// A cache on the Redis at `url`; connects on first use.
    pub fn new(url: &str, options: &CacheOptions) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            // Reconnect quickly and forever: a miss costs a store read, a
            // long reconnect back-off costs every request one.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(RedisCache {
            conn,
            prefix: options.prefix.clone(),
            ttl_ms: options.ttl.as_millis().max(1) as u64,
            timeout: options.timeout,
            put: Script::new(PUT),
            invalidate: Script::new(INVALIDATE),
        })
    }

    fn cart_key(&self, cart: CartId) -> String {
        format!("{}c:{cart}", self.prefix)
    }

    fn token_key(&self, token: &TokenHash) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 2 + 64);
        key.push_str(&self.prefix);
        key.push_str("t:");
        for b in token {
            let _ = write!(key, "{b:02x}");
        }
        key
    }

    /// Runs one Redis exchange under the cache's timeout (the manager's own
    /// timeouts do not cover waiting for a reconnect).
    async fn bounded<T>(&self, f: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(CacheError::Unavailable("timed out".into())),
        }
    }

    fn miss<T>(&self, what: &str, e: CacheError) -> Option<T> {
        tracing::debug!(error = %e, "redis cache {what} failed: a miss");
        None
    }
}

#[async_trait::async_trait]
impl SessionCache for RedisCache {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, token: &TokenHash) -> Option<Arc<Projection>> {
        let mut conn = self.conn.clone();
        let key = self.token_key(token);
        let raw: Option<Vec<u8>> = match self.bounded(conn.get(&key)).await {
            Ok(raw) => raw,
            Err(e) => return self.miss("get", e),
        };
        let stored: Stored = match serde_json::from_slice(&raw?) {
            Ok(s) => s,
            Err(e) => return self.miss("get", CacheError::Corrupt(e.to_string())),
        };
        Some(Arc::new(Projection {
            cart_id: stored.cart_id,
            owner: stored.owner,
            view: stored.view,
            hot: stored.hot.map(|(cart, revision)| HotCopy { cart, revision }),
        }))
    }

    async fn put(&self, token: TokenHash, p: Projection) {
        let version = p.version();
        let cart_key = self.cart_key(p.cart_id);
        let stored = Stored {
            cart_id: p.cart_id,
            owner: p.owner,
            view: p.view,
            hot: p.hot.map(|h| (h.cart, h.revision)),
        };
        let Ok(payload) = serde_json::to_vec(&stored) else {
            return;
        };
        let mut conn = self.conn.clone();
        let mut call = self.put.key(cart_key);
        call.key(self.token_key(&token))
            .arg(version)
            .arg(payload)
            .arg(self.ttl_ms);
        if let Err(e) = self.bounded(call.invoke_async::<i64>(&mut conn)).await {
            // The store holds the commit; the next read rebuilds this.
            tracing::debug!(error = %e, "redis cache put failed");
        }
    }

    async fn invalidate(&self, cart: CartId, version: u64) {
        let mut conn = self.conn.clone();
        let mut call = self.invalidate.key(self.cart_key(cart));
        call.arg(version).arg(self.ttl_ms);
        if let Err(e) = self.bounded(call.invoke_async::<i64>(&mut conn)).await {
            // A stale projection left behind is caught by the readers'
            // version check and the commits' revision condition; it expires
            // with its TTL.
            tracing::warn!(error = %e, cart, "redis cache invalidation failed");
        }
    }

    async fn flush(&self) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let mut cursor: u64 = 0;
        let mut projections = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .bounded(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{}*", self.prefix))
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn),
                )
                .await?;
            let token_prefix = format!("{}t:", self.prefix);
            projections += keys.iter().filter(|k| k.starts_with(&token_prefix)).count() as u64;
            if !keys.is_empty() {
                self.bounded(redis::cmd("UNLINK").arg(&keys).query_async::<i64>(&mut conn))
                    .await?;
            }
            cursor = next;
            if cursor == 0 {
                return Ok(projections);
            }
        }
    }

    fn entries(&self) -> Option<u64> {
        None
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let pong: String = self.bounded(redis::cmd("PING").query_async(&mut conn)).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Unavailable(format!("PING answered {pong:?}")))
        }
    }
}
