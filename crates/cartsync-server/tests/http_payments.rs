//! Orders and their payment through the real router, on SQLite and on
//! PostgreSQL: the intent a checkout creates (one per order, also when the
//! checkout is retried after a lost answer), the signed bank callback and
//! what it refuses, a failed payment and an expired hold giving the stock
//! back, and concurrent checkouts of the last unit.

mod common;

use axum::http::{Method, StatusCode};
use cartsync_core::protocol::v1::PaymentIntent;
use cartsync_server::app::now_ms;
use cartsync_server::payment::{IntentRequest, PaymentError, PaymentProvider, Payments};
use cartsync_server::store::PaymentEvent;
use cartsync_server::App;
use common::pg::TestDb;
use common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// A server on SQLite, or on a fresh PostgreSQL database.
async fn server(pg: bool, dev: bool) -> (Server, Option<TestDb>) {
    if pg {
        let db = TestDb::new().await;
        let s = Server::with_config(config_for(db.url.clone(), dev)).await;
        (s, Some(db))
    } else {
        (Server::new(dev).await, None)
    }
}

/// A cart holding `qty` of `sku`, shipped to DE by standard, checked out:
/// the order.
async fn ordered(s: &Server, sku: &str, qty: i64, key: &str) -> Value {
    let t = s.new_cart().await;
    s.add(&t, sku, qty).await;
    s.ship(&t).await;
    let r = s.checkout_as_shown(&t, key).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["order"].clone()
}

fn transfer(order: &Value, event: &str, kind: &str) -> Value {
    let action = &order["payment"]["next_action"];
    json!({"id": event, "type": kind, "reference": action["reference"], "amount": action["amount"]})
}

async fn paid_through_the_callback(pg: bool) {
    let (s, _db) = server(pg, false).await;
    let order = ordered(&s, "hoodie-grey", 2, "k").await;
    assert_eq!(s.stock("hoodie-grey").await, 13, "held");
    let id = order["id"].as_str().unwrap();
    let event = transfer(&order, "evt_1", "transfer.received");
    let t = now_secs();
    let r = s.bank_callback(&event, t).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"event": "evt_1", "status": "processed", "outcome": "paid", "order": {"id": id, "status": "paid"}})
    );
    let now = s.order(id).await;
    assert_eq!(now["status"], "paid");
    assert_eq!(now["payment"]["status"], "succeeded");
    assert_eq!(now["payment"]["next_action"], Value::Null, "nothing left to do");
    assert_eq!(s.stock("hoodie-grey").await, 13, "sold: taken for good");
    // The provider resends the event (signed anew): answered, not applied again.
    let again = s.bank_callback(&event, t + 1).await;
    assert_eq!(
        (again.status, &again.body["status"]),
        (StatusCode::OK, &json!("duplicate"))
    );
    assert_eq!(again.body["outcome"], "paid");
    // The same signed message replayed is refused.
    let replay = s.bank_callback(&event, t).await;
    assert_eq!(
        (replay.status, replay.code()),
        (StatusCode::CONFLICT, "callback_replayed")
    );
    let text = s.get("/metrics").await.body.as_str().unwrap().to_string();
    for line in [
        "cartsync_payment_callbacks_total{outcome=\"paid\"} 1",
        "cartsync_payment_callbacks_total{outcome=\"duplicate\"} 1",
        "cartsync_payment_callbacks_total{outcome=\"refused\"} 1",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_paid_through_the_signed_callback() {
    paid_through_the_callback(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_paid_through_the_signed_callback_on_postgres() {
    paid_through_the_callback(true).await;
}

/// Sends `body` to the callback with a raw signature header.
async fn raw_callback(s: &Server, body: &[u8], signature: Option<&str>, provider: &str) -> Resp {
    let mut b = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/payments/{provider}/callback"))
        .header("content-type", "application/json");
    if let Some(sig) = signature {
        b = b.header("cartsync-signature", sig);
    }
    s.raw(b.body(axum::body::Body::from(body.to_vec())).unwrap()).await
}

#[tokio::test]
async fn unsigned_tampered_stale_and_misdirected_callbacks_are_refused() {
    use cartsync_server::payment::signature::sign;
    let s = Server::new(false).await;
    let order = ordered(&s, "mug-enamel", 1, "k").await;
    let id = order["id"].as_str().unwrap();
    let body = serde_json::to_vec(&transfer(&order, "evt_1", "transfer.received")).unwrap();
    let secret = CALLBACK_SECRET.as_bytes();
    let t = now_secs();
    let tampered = serde_json::to_vec(&transfer(&order, "evt_1", "transfer.failed")).unwrap();
    let cases: Vec<(&str, Resp, StatusCode, &str)> = vec![
        ("unsigned", raw_callback(&s, &body, None, "bank_transfer").await, StatusCode::UNAUTHORIZED, "signature_invalid"),
        (
            "malformed header",
            raw_callback(&s, &body, Some("sha256=abc"), "bank_transfer").await,
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
        ),
        (
            "another key",
            raw_callback(&s, &body, Some(&sign(b"not-the-secret", t, &body)), "bank_transfer").await,
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
        ),
        (
            "tampered body",
            raw_callback(&s, &tampered, Some(&sign(secret, t, &body)), "bank_transfer").await,
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
        ),
        (
            "stale",
            raw_callback(&s, &body, Some(&sign(secret, t - 301, &body)), "bank_transfer").await,
            StatusCode::UNAUTHORIZED,
            "signature_expired",
        ),
        (
            "from the future",
            raw_callback(&s, &body, Some(&sign(secret, t + 301, &body)), "bank_transfer").await,
            StatusCode::UNAUTHORIZED,
            "signature_expired",
        ),
        (
            "signed but not an event",
            raw_callback(&s, b"{\"id\":1}", Some(&sign(secret, t, b"{\"id\":1}")), "bank_transfer").await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown reference",
            s.bank_callback(&json!({"id": "evt_x", "type": "transfer.received", "reference": "CS-NONE", "amount": order["totals"]["estimated_total"]}), t)
                .await,
            StatusCode::NOT_FOUND,
            "payment_intent_not_found",
        ),
        (
            "unknown provider",
            raw_callback(&s, &body, Some(&sign(secret, t, &body)), "paypal").await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (what, r, status, code) in cases {
        assert_eq!((r.status, r.code()), (status, code), "{what}: {:?}", r.body);
    }
    let now = s.order(id).await;
    assert_eq!(
        (now["status"].as_str(), now["payment"]["status"].as_str()),
        (Some("pending_payment"), Some("requires_action"))
    );
    assert_eq!(s.stock("mug-enamel").await, 44, "still held, nothing else");
    // The event id is now used; the same id with another body is refused.
    assert_eq!(
        s.bank_callback(&transfer(&order, "evt_1", "transfer.received"), t)
            .await
            .status,
        StatusCode::OK
    );
    let reused = s
        .bank_callback(&transfer(&order, "evt_1", "transfer.failed"), t + 2)
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (StatusCode::CONFLICT, "event_id_reused")
    );
    assert_eq!(s.order(id).await["status"], "paid");
}

async fn failed_payment_releases_at_once(pg: bool) {
    let (s, _db) = server(pg, false).await;
    let order = ordered(&s, "last-one-vase", 1, "k").await;
    assert_eq!(s.stock("last-one-vase").await, 0);
    let r = s.bank_callback(&json!({"id": "evt_f", "type": "transfer.failed", "reference": order["payment"]["next_action"]["reference"], "reason": "returned"}), now_secs()).await;
    assert_eq!(
        (r.status, &r.body["outcome"]),
        (StatusCode::OK, &json!("payment_failed"))
    );
    assert_eq!(s.stock("last-one-vase").await, 1, "given back at once");
    let now = s.order(order["id"].as_str().unwrap()).await;
    assert_eq!(
        (now["status"].as_str(), now["payment"]["status"].as_str()),
        (Some("payment_failed"), Some("failed"))
    );
    // Someone else may buy it now.
    ordered(&s, "last-one-vase", 1, "k2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_releases_the_stock_at_once() {
    failed_payment_releases_at_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_releases_the_stock_at_once_on_postgres() {
    failed_payment_releases_at_once(true).await;
}

async fn unpaid_order_expires(pg: bool) {
    let db = match pg {
        true => Some(TestDb::new().await),
        false => None,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = match &db {
        Some(db) => config_for(db.url.clone(), false),
        None => config(&dir.path().join("c.db"), false),
    };
    cfg.hold_expiry_secs = 1;
    let s = Server::with_config(cfg).await;
    let order = ordered(&s, "lamp-desk", 2, "k").await;
    assert_eq!(s.stock("lamp-desk").await, 3);
    assert_eq!(order["payment"]["next_action"]["pay_by"], order["hold_until"]);
    let swept = cartsync_server::recovery::sweep_holds(&s.app).await.unwrap();
    assert_eq!((swept, s.stock("lamp-desk").await), (0, 3), "not yet");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let report = cartsync_server::recovery::run_once(&s.app).await.unwrap();
    assert_eq!(report.expired_orders, 1);
    assert_eq!(s.stock("lamp-desk").await, 5, "the stock came back");
    let now = s.order(order["id"].as_str().unwrap()).await;
    assert_eq!(
        (now["status"].as_str(), now["payment"]["status"].as_str()),
        (Some("expired"), Some("canceled"))
    );
    assert_eq!(now["payment"]["next_action"], Value::Null, "nothing to pay any more");
    assert_eq!(cartsync_server::recovery::sweep_holds(&s.app).await.unwrap(), 0, "once");
    assert_eq!(s.app.metrics.orders_expired.get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_expires_and_its_stock_comes_back() {
    unpaid_order_expires(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_expires_and_its_stock_comes_back_on_postgres() {
    unpaid_order_expires(true).await;
}

/// The provider fails its first call (the checkout's answer then never
/// carries an intent), then works: each call counted.
struct Flaky {
    inner: Arc<dyn PaymentProvider>,
    calls: AtomicUsize,
    keys: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl PaymentProvider for Flaky {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<PaymentIntent, PaymentError> {
        self.keys.lock().unwrap().push(request.idempotency_key.to_string());
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(PaymentError::Unavailable("connection reset".into()));
        }
        self.inner.create_intent(request).await
    }
    fn verify_callback(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<PaymentEvent, cartsync_server::payment::CallbackError> {
        self.inner.verify_callback(signature, body, now_ms)
    }
}

async fn retried_after_lost_answers(pg: bool) {
    let db = match pg {
        true => Some(TestDb::new().await),
        false => None,
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = match &db {
        Some(db) => config_for(db.url.clone(), false),
        None => config(&dir.path().join("c.db"), false),
    };
    let mut app = App::from_config(&cfg).await.unwrap();
    let flaky = Arc::new(Flaky {
        inner: app.payments.default_provider().unwrap().clone(),
        calls: AtomicUsize::new(0),
        keys: Default::default(),
    });
    app.payments = Payments::new(vec![flaky.clone()]);
    let s = Server::from_app(Arc::new(app), &dir.path().join("c.db"));
    let t = s.new_cart().await;
    s.add(&t, "tee-navy", 2).await;
    s.ship(&t).await;
    // 1. The order commits, the provider does not answer: 503, retry.
    let first = s.checkout_as_shown(&t, "key-1").await;
    assert_eq!(
        (first.status, first.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "payment_unavailable")
    );
    assert_eq!(first.headers["retry-after"], "1");
    assert_eq!(s.stock("tee-navy").await, 10, "the order holds its stock already");
    // 2. The retry finds the order and gets its intent; the answer is lost.
    let lost = s.checkout_as_shown(&t, "key-1").await;
    assert_eq!(lost.status, StatusCode::CREATED, "{:?}", lost.body);
    // 3. Retried again: the same order, the same intent.
    let again = s.checkout_as_shown(&t, "key-1").await;
    assert_eq!(again.body["order"]["id"], lost.body["order"]["id"]);
    assert_eq!(again.body["order"]["payment"], lost.body["order"]["payment"]);
    assert_eq!(again.body["order"]["payment"]["status"], "requires_action");
    assert_eq!(s.stock("tee-navy").await, 10, "held once");
    let keys = flaky.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2, "the provider was asked on the first two attempts only");
    assert_eq!(keys[0], keys[1], "with one idempotency key derived from the checkout's");
    // One order and one intent in the database.
    let (orders, intents) = match &db {
        Some(db) => {
            let c = db.client().await;
            let n = |sql: &'static str| {
                let c = &c;
                async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
            };
            (
                n("SELECT count(*) FROM orders").await,
                n("SELECT count(*) FROM payment_intents").await,
            )
        }
        None => {
            let c = rusqlite::Connection::open(dir.path().join("c.db")).unwrap();
            let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
            (
                n("SELECT count(*) FROM orders"),
                n("SELECT count(*) FROM payment_intents"),
            )
        }
    };
    assert_eq!((orders, intents), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_retried_after_lost_answers_gets_one_order_and_one_intent() {
    retried_after_lost_answers(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_retried_after_lost_answers_gets_one_order_and_one_intent_on_postgres() {
    retried_after_lost_answers(true).await;
}

async fn last_unit_raced(pg: bool) {
    let (s, _db) = server(pg, false).await;
    let mut carts = Vec::new();
    for _ in 0..6 {
        let t = s.new_cart().await;
        s.add(&t, "last-one-vase", 1).await;
        s.ship(&t).await;
        carts.push(t);
    }
    let handles: Vec<_> = carts
        .iter()
        .map(|t| {
            let (s, t) = (s.handle(), t.clone());
            tokio::spawn(async move { s.checkout_as_shown(&t, "k").await })
        })
        .collect();
    let mut created = 0;
    for h in handles {
        let r = h.await.unwrap();
        match r.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(
                    r.body["problems"],
                    json!([{"type": "out_of_stock", "sku": "last-one-vase", "options": {}, "requested": 1, "available": 0}])
                );
            }
            other => panic!("{other}: {:?}", r.body),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(s.stock("last-one-vase").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_checkouts_of_the_last_unit_make_one_order() {
    last_unit_raced(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_checkouts_of_the_last_unit_make_one_order_on_postgres() {
    last_unit_raced(true).await;
}

#[tokio::test]
async fn orders_are_read_by_id_and_the_dev_lever_pays_them() {
    let s = Server::new(true).await;
    let order = ordered(&s, "cap-canvas", 1, "k").await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(s.order(id).await, order);
    for unknown in ["ord_nope", "nope", &"x".repeat(300)] {
        let r = s.get(&format!("/api/v1/orders/{unknown}")).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "order_not_found"),
            "{unknown}"
        );
    }
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transfer"),
            Some(json!({"type": "transfer.received"})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, &r.body["outcome"]),
        (StatusCode::OK, &json!("paid")),
        "{:?}",
        r.body
    );
    assert_eq!(s.order(id).await["status"], "paid");
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transfer"),
            Some(json!({"type": "transfer.received"})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "payment_intent_not_found"),
        "nothing left to pay"
    );
    let plain = Server::new(false).await;
    let r = plain
        .send(
            Method::POST,
            &format!("/api/v1/admin/orders/{id}/transfer"),
            Some(json!({"type": "transfer.received"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no lever without --dev");
}
