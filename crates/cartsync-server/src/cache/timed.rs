//! A [`SessionCache`] that times every call into
//! `cartsync_cache_duration_seconds{op, outcome}`.

use super::{CacheError, Projection, SessionCache};
use crate::store::{CartId, TokenHash};
use prometheus::HistogramVec;
use std::sync::Arc;
use std::time::Instant;

pub struct Timed {
    inner: Arc<dyn SessionCache>,
    seconds: HistogramVec,
}

impl Timed {
    pub fn new(inner: Arc<dyn SessionCache>, seconds: HistogramVec) -> Self {
        Timed { inner, seconds }
    }

    fn observe(&self, op: &str, outcome: &str, since: Instant) {
        self.seconds
            .with_label_values(&[op, outcome])
            .observe(since.elapsed().as_secs_f64());
    }
}

#[async_trait::async_trait]
impl SessionCache for Timed {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn get(&self, token: &TokenHash) -> Option<Arc<Projection>> {
        let t = Instant::now();
        let out = self.inner.get(token).await;
        self.observe("get", if out.is_some() { "hit" } else { "miss" }, t);
        out
    }

    async fn put(&self, token: TokenHash, projection: Projection) {
        let t = Instant::now();
        self.inner.put(token, projection).await;
        self.observe("put", "done", t);
    }

    async fn invalidate(&self, cart: CartId, version: u64) {
        let t = Instant::now();
        self.inner.invalidate(cart, version).await;
        self.observe("invalidate", "done", t);
    }

    async fn flush(&self) -> Result<u64, CacheError> {
        let t = Instant::now();
        let out = self.inner.flush().await;
        self.observe("flush", if out.is_ok() { "ok" } else { "error" }, t);
        out
    }

    fn entries(&self) -> Option<u64> {
        self.inner.entries()
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let t = Instant::now();
        let out = self.inner.ping().await;
        self.observe("ping", if out.is_ok() { "ok" } else { "error" }, t);
        out
    }
}
