//! A [`CartStore`] that times every call into
//! `cartsync_store_duration_seconds{op, outcome}` (outcome: `ok`,
//! `not_found`, `conflict`, `unavailable`, `error`).

use super::*;
use prometheus::HistogramVec;
use std::future::Future;
use std::time::Instant;

pub struct Timed {
    inner: Arc<dyn CartStore>,
    seconds: HistogramVec,
}

impl Timed {
    pub fn new(inner: Arc<dyn CartStore>, seconds: HistogramVec) -> Self {
        Timed { inner, seconds }
    }

    async fn time<T>(&self, op: &str, f: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let t = Instant::now();
        let out = f.await;
        let outcome = match &out {
            Ok(_) => "ok",
            Err(StoreError::NotFound) => "not_found",
            Err(StoreError::VersionConflict { .. }) => "conflict",
            Err(StoreError::Unavailable { .. }) => "unavailable",
            Err(StoreError::Backend { .. }) => "error",
        };
        self.seconds
            .with_label_values(&[op, outcome])
            .observe(t.elapsed().as_secs_f64());
        out
    }
}

#[async_trait::async_trait]
impl CartStore for Timed {
    async fn ping(&self) -> Result<(), StoreError> {
        self.time("ping", self.inner.ping()).await
    }

    async fn create_cart(&self, token_hash: &TokenHash, now: u64) -> Result<CartRecord, StoreError> {
        self.time("create_cart", self.inner.create_cart(token_hash, now)).await
    }

    async fn load_by_token(&self, token_hash: &TokenHash) -> Result<CartRecord, StoreError> {
        self.time("load_by_token", self.inner.load_by_token(token_hash)).await
    }

    async fn load(&self, id: CartId) -> Result<CartRecord, StoreError> {
        self.time("load", self.inner.load(id)).await
    }

    async fn head(&self, token_hash: &TokenHash) -> Result<CartHead, StoreError> {
        self.time("head", self.inner.head(token_hash)).await
    }

    async fn find_account_cart(&self, owner: &str) -> Result<Option<CartRecord>, StoreError> {
        self.time("find_account_cart", self.inner.find_account_cart(owner))
            .await
    }

    async fn idempotency_records(
        &self,
        cart: CartId,
        ids: &[MutationId],
    ) -> Result<BTreeMap<MutationId, IdempotencyRecord>, StoreError> {
        self.time("idempotency_records", self.inner.idempotency_records(cart, ids))
            .await
    }

    async fn commit_batch(&self, commit: BatchCommit<'_>) -> Result<Revision, StoreError> {
        self.time("commit_batch", self.inner.commit_batch(commit)).await
    }

    async fn events(&self, cart: CartId, after: u64, limit: usize) -> Result<Vec<EventRow>, StoreError> {
        self.time("events", self.inner.events(cart, after, limit)).await
    }

    async fn commit_merge(&self, merge: &MergeCommit) -> Result<CartId, StoreError> {
        self.time("commit_merge", self.inner.commit_merge(merge)).await
    }

    async fn reattach(
        &self,
        anonymous: CartId,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<(CartRecord, MergeReport), StoreError> {
        self.time("reattach", self.inner.reattach(anonymous, token_hash, now))
            .await
    }

    async fn order_for_key(&self, cart: CartId, key: &str) -> Result<Option<Order>, StoreError> {
        self.time("order_for_key", self.inner.order_for_key(cart, key)).await
    }

    async fn order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError> {
        self.time("order", self.inner.order(id)).await
    }

    async fn commit_order(&self, commit: OrderCommit<'_>) -> Result<OrderCommitted, StoreError> {
        self.time("commit_order", self.inner.commit_order(commit)).await
    }

    async fn put_payment_intent(&self, intent: NewIntent<'_>) -> Result<PaymentIntent, StoreError> {
        self.time("put_payment_intent", self.inner.put_payment_intent(intent))
            .await
    }

    async fn apply_payment_event(&self, event: &PaymentEvent) -> Result<EventApplied, StoreError> {
        self.time("apply_payment_event", self.inner.apply_payment_event(event))
            .await
    }

    async fn expire_holds(&self, now: u64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.time("expire_holds", self.inner.expire_holds(now, limit)).await
    }

    async fn stock(&self, sku: &Sku) -> Result<Option<u32>, StoreError> {
        self.time("stock", self.inner.stock(sku)).await
    }

    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), StoreError> {
        self.time("set_stock", self.inner.set_stock(sku, stock)).await
    }

    async fn expire_anonymous_carts(&self, cutoff: u64) -> Result<usize, StoreError> {
        self.time("expire_anonymous_carts", self.inner.expire_anonymous_carts(cutoff))
            .await
    }

    async fn expire_idempotency_records(&self, cutoff: u64) -> Result<usize, StoreError> {
        self.time(
            "expire_idempotency_records",
            self.inner.expire_idempotency_records(cutoff),
        )
        .await
    }

    async fn carts_updated_since(
        &self,
        since: u64,
        after: Option<(u64, CartId)>,
        limit: usize,
    ) -> Result<Vec<(u64, CartId)>, StoreError> {
        self.time(
            "carts_updated_since",
            self.inner.carts_updated_since(since, after, limit),
        )
        .await
    }

    async fn replay_source(&self, cart: CartId) -> Result<ReplaySource, StoreError> {
        self.time("replay_source", self.inner.replay_source(cart)).await
    }

    async fn repair_snapshot(&self, cart: CartId, expected_version: u64, replayed: &Cart) -> Result<(), StoreError> {
        self.time(
            "repair_snapshot",
            self.inner.repair_snapshot(cart, expected_version, replayed),
        )
        .await
    }

    async fn recovery_lock(&self) -> Result<Option<PassGuard>, StoreError> {
        self.time("recovery_lock", self.inner.recovery_lock()).await
    }
}
