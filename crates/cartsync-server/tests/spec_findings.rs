//! Regressions for what schemathesis found when it checked the server
//! against `docs/openapi.yaml` (issue 14). Each says whether the server or
//! the spec was fixed; the spec side is held by the schemathesis run in
//! `make test` (`scripts/schemathesis.sh`), the server side here.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// Server fix: a mutations `409 cart_closed` carries the `ETag` the spec
/// documents on every mutations 409 (it was missing).
#[tokio::test]
async fn a_mutations_409_cart_closed_carries_the_etag() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    // Destination and standard shipping (free for one tee): versions 2, 3.
    s.ship(&t).await;
    let r = s.checkout(&t, "k1", 2500, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = s.mutate(&t, vec![add("tee-black", 1)]).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "cart_closed"));
    assert_eq!(r.headers["etag"], "\"3\"");
    // The plain error body has exactly code and message (the spec's
    // CartClosedError, told apart from ConflictResponse by `code`).
    assert_eq!(r.body.as_object().unwrap().len(), 2, "{:?}", r.body);
    // A version conflict's body is the other branch, with the same header.
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    let stale = with_id(&uuid(), Some(0), json!({"type": "clear"}));
    let r = s.mutate(&t, vec![stale]).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "version_conflict"));
    assert_eq!(r.headers["etag"], "\"1\"");
    assert!(r.body["cart"].is_object() && r.body["results"].is_array());
}

/// Server fix: `dev/login` counted `user` in UTF-8 bytes while its
/// message and the spec say characters.
#[tokio::test]
async fn dev_login_counts_characters_not_bytes() {
    let s = Server::new(true).await;
    let r = s.post("/api/v1/dev/login", json!({"user": "ü".repeat(64)})).await;
    assert_eq!(r.status, StatusCode::OK, "64 two-byte characters: {:?}", r.body);
    let r = s.post("/api/v1/dev/login", json!({"user": "ü".repeat(65)})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(r.body["message"].as_str().unwrap().contains("characters"));
    for bad in ["", "   ", "a\u{7}b"] {
        let r = s.post("/api/v1/dev/login", json!({ "user": bad })).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}");
    }
}

/// Spec fix: the admin levers' money is a non-negative amount in the
/// catalog's currency (the spec allowed any `Money`); null fields leave
/// things as they are (the spec did not allow null).
#[tokio::test]
async fn admin_money_and_null_fields_are_what_the_spec_says() {
    let s = Server::new(true).await;
    for body in [
        json!({"price": {"amount": -1, "currency": "EUR"}}),
        json!({"price": {"amount": 100, "currency": "USD"}}),
        json!({"stock": 2_147_483_648_u64}),
    ] {
        let r = s.admin_put("/api/v1/admin/catalog/tee-black", body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{body}");
    }
    let r = s
        .admin_put(
            "/api/v1/admin/catalog/tee-black",
            json!({"price": null, "stock": null, "name": null, "image": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["price"]["amount"], 2500);
    for body in [
        json!({"amount_off": {"amount": -5, "currency": "EUR"}}),
        json!({"min_subtotal": {"amount": 5, "currency": "GBP"}}),
        json!({"percent_off": 101}),
    ] {
        let r = s.admin_put("/api/v1/admin/coupons/SAVE5", body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{body}");
    }
    let r = s
        .admin_put(
            "/api/v1/admin/coupons/SAVE5",
            json!({"percent_off": 5, "amount_off": null, "min_subtotal": null, "active": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], true);
}
