//! A failing backend answers `500 internal` with a generic message: the
//! detail goes to the log, never to the client.

mod common;

use axum::http::{Method, StatusCode};
use cartsync_core::protocol::v1::{Order, PaymentIntent};
use cartsync_core::{Cart, IdempotencyRecord, MergeReport, MutationId};
use cartsync_server::store::*;
use cartsync_server::App;
use common::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every call fails with a message that must not leak.
struct Broken;

fn boom<T>() -> Result<T, StoreError> {
    Err(StoreError::backend(std::io::Error::other(
        "disk on fire at /srv/secret/cartsync.db",
    )))
}

#[async_trait::async_trait]
impl CartStore for Broken {
    async fn ping(&self) -> Result<(), StoreError> {
        boom()
    }
    async fn create_cart(&self, _: &TokenHash, _: u64) -> Result<CartRecord, StoreError> {
        boom()
    }
    async fn load_by_token(&self, _: &TokenHash) -> Result<CartRecord, StoreError> {
        boom()
    }
    async fn load(&self, _: CartId) -> Result<CartRecord, StoreError> {
        boom()
    }
    async fn head(&self, _: &TokenHash) -> Result<CartHead, StoreError> {
        boom()
    }
    async fn find_account_cart(&self, _: &str) -> Result<Option<CartRecord>, StoreError> {
        boom()
    }
    async fn idempotency_records(
        &self,
        _: CartId,
        _: &[MutationId],
    ) -> Result<BTreeMap<MutationId, IdempotencyRecord>, StoreError> {
        boom()
    }
    async fn commit_batch(&self, _: BatchCommit<'_>) -> Result<Revision, StoreError> {
        boom()
    }
    async fn events(&self, _: CartId, _: u64, _: usize) -> Result<Vec<EventRow>, StoreError> {
        boom()
    }
    async fn commit_merge(&self, _: &MergeCommit) -> Result<CartId, StoreError> {
        boom()
    }
    async fn reattach(&self, _: CartId, _: &TokenHash, _: u64) -> Result<(CartRecord, MergeReport), StoreError> {
        boom()
    }
    async fn order_for_key(&self, _: CartId, _: &str) -> Result<Option<Order>, StoreError> {
        boom()
    }
    async fn order(&self, _: &str) -> Result<Option<StoredOrder>, StoreError> {
        boom()
    }
    async fn commit_order(&self, _: OrderCommit<'_>) -> Result<OrderCommitted, StoreError> {
        boom()
    }
    async fn put_payment_intent(&self, _: NewIntent<'_>) -> Result<PaymentIntent, StoreError> {
        boom()
    }
    async fn apply_payment_event(&self, _: &PaymentEvent) -> Result<EventApplied, StoreError> {
        boom()
    }
    async fn expire_holds(&self, _: u64, _: usize) -> Result<Vec<String>, StoreError> {
        boom()
    }
    async fn stock(&self, _: &cartsync_core::Sku) -> Result<Option<u32>, StoreError> {
        boom()
    }
    async fn set_stock(&self, _: &cartsync_core::Sku, _: u32) -> Result<(), StoreError> {
        boom()
    }
    async fn expire_anonymous_carts(&self, _: u64) -> Result<usize, StoreError> {
        boom()
    }
    async fn expire_idempotency_records(&self, _: u64) -> Result<usize, StoreError> {
        boom()
    }
    async fn carts_updated_since(
        &self,
        _: u64,
        _: Option<(u64, CartId)>,
        _: usize,
    ) -> Result<Vec<(u64, CartId)>, StoreError> {
        boom()
    }
    async fn replay_source(&self, _: CartId) -> Result<ReplaySource, StoreError> {
        boom()
    }
    async fn repair_snapshot(&self, _: CartId, _: u64, _: &Cart) -> Result<(), StoreError> {
        boom()
    }
    async fn recovery_lock(&self) -> Result<Option<PassGuard>, StoreError> {
        boom()
    }
}

#[tokio::test]
async fn backend_failures_are_500_internal_without_detail() {
    let healthy = Server::new(true).await;
    let mut app = App::from_config(&config(&healthy.db, true)).await.unwrap();
    app.store = Arc::new(Broken);
    let s = Server::from_app(Arc::new(app), &healthy.db);
    let token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for r in [
        s.get("/healthz").await,
        s.send(Method::POST, "/api/v1/carts", None, &[]).await,
        s.get(&format!("/api/v1/carts/{token}")).await,
        s.mutate(token, vec![add("tee-black", 1)]).await,
        s.get(&format!("/api/v1/carts/{token}/events")).await,
        s.checkout(token, "k", 1, None).await,
        s.get("/api/v1/orders/ord_AAAAAAAAAAAAAAAAAAAAAA").await,
        s.bank_callback(
            &serde_json::json!({"id": "evt_1", "type": "transfer.failed", "reference": "CS-X"}),
            cartsync_server::app::now_ms() / 1000,
        )
        .await,
    ] {
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.body);
        assert_eq!(r.code(), "internal");
        assert_eq!(r.body["message"], "internal error");
        assert!(!r.body.to_string().contains("disk"));
    }
    let m = s.get("/metrics").await;
    assert!(m
        .body
        .as_str()
        .unwrap()
        .contains("cartsync_http_requests_total{class=\"5xx\"} 8"));
}
