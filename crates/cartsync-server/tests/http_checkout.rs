//! Checkout: orders, idempotency keys, closed carts and request errors.
//! (Shipping and tax problems: `http_terms.rs`; payment: `http_payments.rs`.)

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn checkout_creates_a_pending_order_and_closes_the_cart() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 2).await;
    s.mutate(
        &t,
        vec![with_id(
            &uuid(),
            None,
            json!({"type": "apply_coupon", "code": "SAVE10"}),
        )],
    )
    .await;
    s.ship(&t).await;
    let cart = s.cart(&t).await;
    let total = cart["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    assert_eq!(total, 4500);
    let r = s.checkout(&t, "key-1", total, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let order = &r.body["order"];
    assert!(order["id"].as_str().unwrap().starts_with("ord_"));
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["lines"][0]["sku"], "tee-black");
    assert_eq!(order["lines"][0]["quantity"], 2);
    assert_eq!(order["lines"][0]["unit_price"]["amount"], 2500);
    assert_eq!(order["lines"][0]["name"], "Organic Tee, Black");
    assert_eq!(order["coupons"], json!(["SAVE10"]));
    assert_eq!(order["totals"]["estimated_total"]["amount"], 4500);
    // Free standard shipping under 2 kg; VAT (DE 19 %) is inside the total:
    // 45.00 holds 7.1849 = 7.18.
    assert_eq!(order["totals"]["shipping"]["amount"], 0);
    assert_eq!(
        order["totals"]["tax"],
        json!({"country": "DE", "rate_bp": 1900, "amount": {"amount": 718, "currency": "EUR"}, "included": true})
    );
    assert_eq!(order["destination"], json!({"country": "DE", "postal_code": "10115"}));
    assert_eq!(order["shipping_option"], "standard");
    // Paid by bank transfer: what the shopper must do, by when.
    let payment = &order["payment"];
    assert_eq!(payment["provider"], "bank_transfer");
    assert_eq!(payment["status"], "requires_action");
    assert_eq!(payment["amount"]["amount"], 4500);
    let action = &payment["next_action"];
    assert_eq!(action["type"], "bank_transfer");
    assert_eq!(action["amount"]["amount"], 4500);
    assert_eq!(action["iban"], "DE89 3704 0044 0532 0130 00");
    assert!(action["reference"].as_str().unwrap().starts_with("CS-"));
    assert_eq!(action["pay_by"], order["hold_until"]);
    assert_eq!(
        order["hold_until"].as_u64().unwrap() - order["created_at"].as_u64().unwrap(),
        3_600_000,
        "held for --hold-expiry-secs"
    );
    // Stock is held.
    let cat = s.get("/api/v1/catalog").await;
    let tee = cat.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "tee-black")
        .unwrap()
        .clone();
    assert_eq!(tee["stock"], 38);
    // The same key gives the same order; the cart is closed to everything else.
    let again = s.checkout(&t, "key-1", total, None).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["order"], *order);
    let other = s.checkout(&t, "key-2", total, None).await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.code(), "cart_closed");
    let r = s.mutate(&t, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "cart_closed");
    // Still readable.
    assert_eq!(s.cart(&t).await["version"], cart["version"]);
    let m = s.get("/metrics").await;
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains("cartsync_checkouts_total{outcome=\"created\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("cartsync_checkouts_total{outcome=\"replayed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("cartsync_checkouts_total{outcome=\"cart_closed\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn concurrent_submits_with_one_key_create_one_order() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "mug-enamel", 1).await;
    s.ship(&t).await;
    let (a, b, c) = tokio::join!(
        s.checkout(&t, "same", 1600, None),
        s.checkout(&t, "same", 1600, None),
        s.checkout(&t, "same", 1600, None)
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    assert_eq!(a.body["order"]["id"], b.body["order"]["id"]);
    assert_eq!(a.body["order"]["id"], c.body["order"]["id"]);
    assert_eq!(a.body["order"]["payment"]["id"], b.body["order"]["payment"]["id"]);
    assert_eq!(a.body["order"]["payment"]["id"], c.body["order"]["payment"]["id"]);
    let stock = s.stock("mug-enamel").await;
    assert_eq!(stock, 44, "held once");
}

#[tokio::test]
async fn checkout_request_errors() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let uri = format!("/api/v1/carts/{t}/checkout");
    let body = json!({"expected_total": {"amount": 0, "currency": "EUR"}});
    let r = s.send(Method::POST, &uri, Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("Idempotency-Key"));
    let long = "k".repeat(256);
    let r = s
        .send(Method::POST, &uri, Some(body.clone()), &[("idempotency-key", &long)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .send(
            Method::POST,
            &uri,
            Some(json!({"expected_total": 5})),
            &[("idempotency-key", "k")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["message"].as_str().unwrap().contains("expected_total"),
        "{:?}",
        r.body
    );
    let r = s
        .send(Method::POST, &uri, Some(json!({})), &[("idempotency-key", "k")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s.checkout(&t, "k", 0, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "cart_empty");
}

#[tokio::test]
async fn checkout_of_merged_and_account_carts() {
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    s.add(&anon, "cap-canvas", 1).await;
    // The destination and the option go with the cart into the account's.
    s.ship(&anon).await;
    let ada = s.login("ada").await;
    let auth = format!("Bearer {ada}");
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{anon}/attach"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    let account = r.body["token"].as_str().unwrap().to_string();
    let r = s.checkout(&anon, "k", 2200, Some(&ada)).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.code(), "cart_merged");
    let r = s.checkout(&account, "k", 2200, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = s.checkout(&account, "k", 2200, Some(&s.login("bo").await)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s.checkout(&account, "k", 2200, Some(&ada)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

#[tokio::test]
async fn a_total_mismatch_without_price_change_is_total_changed() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "mug-enamel", 1).await;
    s.ship(&t).await;
    let r = s.checkout(&t, "k", 1, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "checkout_revalidation_failed");
    assert_eq!(r.body["problems"].as_array().unwrap().len(), 1, "{:?}", r.body);
    assert_eq!(r.body["problems"][0]["type"], "total_changed");
    assert_eq!(r.body["problems"][0]["actual"]["amount"], 1600);
    assert_eq!(r.body["cart"]["version"], 3);
    assert_eq!(s.stock("mug-enamel").await, 45);
    // Nothing was held or closed.
    let r = s.checkout(&t, "k", 1600, None).await;
    assert_eq!(r.status, StatusCode::CREATED);
}
