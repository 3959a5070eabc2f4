//! Attach (anonymous → account merge), user tokens, account-cart access,
//! and the `--dev` admin endpoints.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

async fn attach(s: &Server, token: &str, bearer: Option<&str>) -> Resp {
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    s.send(Method::POST, &format!("/api/v1/carts/{token}/attach"), None, &headers)
        .await
}

#[tokio::test]
async fn dev_login_issues_an_hs256_jwt() {
    let s = Server::new(true).await;
    let jwt = s.login("ada").await;
    assert_eq!(jwt.split('.').count(), 3);
    let claims = cartsync_server::auth::Jwt::new(SECRET).verify(&jwt, 0).unwrap();
    assert_eq!(claims.sub, "ada");
    let r = s.post("/api/v1/dev/login", json!({"user": ""})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "bad_request");
    let r = s.post("/api/v1/dev/login", json!({"name": "ada"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn attach_creates_the_account_cart_and_retires_the_anonymous_token() {
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    s.add(&anon, "tee-black", 2).await;
    let jwt = s.login("ada").await;
    let r = attach(&s, &anon, Some(&jwt)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let account = r.body["token"].as_str().unwrap().to_string();
    assert_ne!(account, anon);
    assert_eq!(r.body["cart"]["owner"], "ada");
    assert_eq!(quantity_of(&r.body["cart"], "tee-black"), 2);
    assert_eq!(r.body["merge_report"]["added"][0]["sku"], "tee-black");
    // The anonymous token is gone for good (another user's sign-in with it
    // gets nothing either).
    for r in [
        s.get(&format!("/api/v1/carts/{anon}")).await,
        s.mutate(&anon, vec![add("tee-black", 1)]).await,
        attach(&s, &anon, Some(&s.login("bo").await)).await,
    ] {
        assert_eq!(r.status, StatusCode::GONE, "{:?}", r.body);
        assert_eq!(r.code(), "cart_merged");
    }
    // Events of the account cart show the merge.
    let auth = format!("Bearer {jwt}");
    let ev = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{account}/events"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(ev.body["events"][0]["kind"], "merge");
    assert!(ev.body["events"][0]["merge_report"].is_object());
}

/// Sign-in whose answer was lost is resent: it gets the same account cart
/// under a fresh token and the same report, and nothing is merged twice.
#[tokio::test]
async fn a_resent_attach_gets_the_account_cart_again() {
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    s.add(&anon, "tee-black", 2).await;
    let jwt = s.login("ada").await;
    let first = attach(&s, &anon, Some(&jwt)).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = attach(&s, &anon, Some(&jwt)).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_ne!(again.body["token"], first.body["token"], "a fresh token");
    assert_eq!(again.body["cart"], first.body["cart"], "the same cart, merged once");
    assert_eq!(again.body["merge_report"], first.body["merge_report"]);
    assert_eq!(quantity_of(&again.body["cart"], "tee-black"), 2);
    let token = again.body["token"].as_str().unwrap();
    let auth = format!("Bearer {jwt}");
    let r = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{token}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["version"], first.body["cart"]["version"]);
    // Once the account cart is checked out, the old token has nothing left to give.
    let account = first.body["token"].as_str().unwrap();
    let shipped = s.ship_to(account, "DE", "10115", "standard", Some(&jwt)).await;
    let total = shipped["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    let order = s.checkout(account, "k-1", total, Some(&jwt)).await;
    assert_eq!(order.status, StatusCode::CREATED, "{:?}", order.body);
    let late = attach(&s, &anon, Some(&jwt)).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.code(), "cart_merged");
}

#[tokio::test]
async fn account_carts_need_their_owners_token() {
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    let ada = s.login("ada").await;
    let bo = s.login("bo").await;
    let account = attach(&s, &anon, Some(&ada)).await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let uri = format!("/api/v1/carts/{account}");
    let r = s.get(&uri).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthorized");
    let r = s
        .send(Method::GET, &uri, None, &[("authorization", &format!("Bearer {bo}"))])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    let r = s.mutate(&account, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = s.mutate_as(&account, &bo, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s.mutate_as(&account, &ada, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = s
        .send(Method::GET, &uri, None, &[("authorization", &format!("Bearer {ada}"))])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(quantity_of(&r.body, "tee-black"), 1);
    // The cache must not bypass the owner check either.
    let r = s.get(&uri).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Bad bearer tokens are 401 even on anonymous carts.
    let other = s.new_cart().await;
    let r = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{other}"),
            None,
            &[("authorization", "Bearer x.y.z")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let forged = cartsync_server::auth::Jwt::new("wrong").issue("ada", u64::MAX / 2);
    let r = s.mutate_as(&account, &forged, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let expired = cartsync_server::auth::Jwt::new(SECRET).issue("ada", 1);
    let r = s.mutate_as(&account, &expired, vec![add("tee-black", 1)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn attach_needs_a_valid_bearer_and_rejects_foreign_account_carts() {
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    let r = attach(&s, &anon, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = attach(&s, &anon, Some("nope")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = attach(&s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Some(&s.login("ada").await)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "cart_not_found");
    let ada = s.login("ada").await;
    let account = attach(&s, &anon, Some(&ada)).await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Attaching the account cart itself again is a no-op for its owner...
    let r = attach(&s, &account, Some(&ada)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token"], account);
    // ...and forbidden for anyone else.
    let r = attach(&s, &account, Some(&s.login("bo").await)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn second_device_merges_into_the_same_account_cart() {
    let s = Server::new(true).await;
    let ada = s.login("ada").await;
    let phone = s.new_cart().await;
    s.add(&phone, "tee-black", 1).await;
    let first = attach(&s, &phone, Some(&ada)).await;
    let laptop = s.new_cart().await;
    s.add(&laptop, "tee-black", 2).await;
    s.add(&laptop, "mug-enamel", 1).await;
    let second = attach(&s, &laptop, Some(&ada)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(quantity_of(&second.body["cart"], "tee-black"), 3);
    assert_eq!(second.body["merge_report"]["summed"][0]["quantity"], 3);
    // Both account tokens open the same cart.
    let a = first.body["token"].as_str().unwrap();
    let auth = format!("Bearer {ada}");
    let r = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{a}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.body["version"], second.body["cart"]["version"]);
    assert_eq!(quantity_of(&r.body, "mug-enamel"), 1);
}

#[tokio::test]
async fn admin_endpoints_change_price_stock_coupons_and_flush_the_cache() {
    let s = Server::new(true).await;
    let r = s
        .admin_put(
            "/api/v1/admin/catalog/tee-black",
            json!({"price": {"amount": 2700, "currency": "EUR"}, "stock": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["price"]["amount"], 2700);
    assert_eq!(r.body["stock"], 3);
    let cat = s.get("/api/v1/catalog").await;
    let tee = cat.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "tee-black")
        .unwrap()
        .clone();
    assert_eq!(tee["stock"], 3);
    let r = s.admin_put("/api/v1/admin/catalog/nope", json!({"stock": 3})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "unknown_sku");
    let r = s
        .admin_put(
            "/api/v1/admin/catalog/tee-black",
            json!({"price": {"amount": 1, "currency": "USD"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .admin_put("/api/v1/admin/catalog/tee-black", json!({"colour": "red"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .admin_put("/api/v1/admin/coupons/flash50", json!({"percent_off": 50}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["code"], "FLASH50");
    assert_eq!(r.body["active"], true);
    let r = s
        .admin_put(
            "/api/v1/admin/coupons/SAVE10",
            json!({"percent_off": 10, "active": false}),
        )
        .await;
    assert_eq!(r.body["active"], false);
    let r = s.admin_put("/api/v1/admin/coupons/bad%20code", json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .admin_put("/api/v1/admin/coupons/X", json!({"percent_off": 500}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .admin_put(
            "/api/v1/admin/coupons/X",
            json!({"amount_off": {"amount": 5, "currency": "USD"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("amount_off"));
    let t = s.new_cart().await;
    s.get(&format!("/api/v1/carts/{t}")).await;
    let r = s.post("/api/v1/admin/cache/flush", json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["flushed"].as_u64().unwrap() >= 1);
    assert!(s.app.cache.entries() == Some(0));
}

#[tokio::test]
async fn a_mutation_merged_at_login_is_a_duplicate_on_the_account_cart() {
    // The add reached the anonymous cart but its answer was lost; the user
    // logs in; the SDK resends the pending add to the account cart.
    let s = Server::new(true).await;
    let anon = s.new_cart().await;
    let lost = add("tee-black", 1);
    s.mutate(&anon, vec![lost.clone()]).await;
    let ada = s.login("ada").await;
    let r = attach(&s, &anon, Some(&ada)).await;
    let account = r.body["token"].as_str().unwrap().to_string();
    let resent = s.mutate_as(&account, &ada, vec![lost]).await;
    assert_eq!(resent.status, StatusCode::OK);
    assert_eq!(resent.body["results"][0]["status"], "duplicate");
    assert_eq!(quantity_of(&resent.body["cart"], "tee-black"), 1);
}
