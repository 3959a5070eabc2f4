//! Protocol v1 through the real router: create, read, events, catalog,
//! health and metrics.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn create_returns_201_with_an_opaque_url_safe_token_and_an_empty_cart() {
    let s = Server::new(false).await;
    let r = s.send(Method::POST, "/api/v1/carts", None, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.body["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(r.body["cart"]["version"], 0);
    assert_eq!(r.body["cart"]["lines"], json!([]));
    assert_eq!(r.headers["etag"], "\"0\"");
    let other = s.new_cart().await;
    assert_ne!(token, other);
}

#[tokio::test]
async fn only_the_token_hash_is_stored() {
    let s = Server::new(false).await;
    let token = s.new_cart().await;
    let bytes = std::fs::read(&s.db).unwrap_or_default();
    let wal = std::fs::read(s.db.with_extension("db-wal")).unwrap_or_default();
    let hay = [bytes, wal].concat();
    assert!(!hay.windows(token.len()).any(|w| w == token.as_bytes()));
}

#[tokio::test]
async fn get_returns_the_rendered_cart_with_etag_and_304() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 2).await;
    let r = s.get(&format!("/api/v1/carts/{t}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["etag"], "\"1\"");
    let cart = &r.body;
    assert_eq!(cart["version"], 1);
    assert_eq!(cart["owner"], json!(null));
    let line = &cart["lines"][0];
    assert_eq!(line["sku"], "tee-black");
    assert_eq!(line["quantity"], 2);
    assert_eq!(line["name"], "Organic Tee, Black");
    assert_eq!(line["unit_price"], json!({"amount": 2500, "currency": "EUR"}));
    assert_eq!(line["image"], "/images/tee-black.svg");
    assert_eq!(cart["totals"]["subtotal"]["amount"], 5000);
    assert_eq!(cart["totals"]["discount"]["amount"], 0);
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 5000);
    assert!(cart["updated_at"].as_u64().unwrap() > 0);
    let r = s
        .send(
            Method::GET,
            &format!("/api/v1/carts/{t}"),
            None,
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn unknown_or_malformed_tokens_are_404_cart_not_found() {
    let s = Server::new(false).await;
    for t in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nope", "%20%20", &"x".repeat(300)] {
        for r in [
            s.get(&format!("/api/v1/carts/{t}")).await,
            s.mutate(t, vec![add("tee-black", 1)]).await,
            s.get(&format!("/api/v1/carts/{t}/events")).await,
            s.checkout(t, "k", 1, None).await,
        ] {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{t}: {:?}", r.body);
            assert_eq!(r.code(), "cart_not_found");
        }
    }
}

#[tokio::test]
async fn events_list_the_log_after_a_version() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let ids: Vec<_> = (0..3).map(|_| add("tee-black", 1)).collect();
    s.mutate(&t, ids.clone()).await;
    let r = s.get(&format!("/api/v1/carts/{t}/events")).await;
    assert_eq!(r.status, StatusCode::OK);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["version"], i as u64 + 1);
        assert_eq!(e["kind"], "mutation");
        assert_eq!(e["mutation_id"], ids[i]["id"]);
        assert_eq!(e["command"]["type"], "add_item");
        assert!(e["at"].as_u64().unwrap() > 0);
    }
    let r = s.get(&format!("/api/v1/carts/{t}/events?after=2")).await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    let r = s.get(&format!("/api/v1/carts/{t}/events?after=x")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "bad_request");
    assert!(r.body["message"].as_str().unwrap().contains("after"));
}

#[tokio::test]
async fn catalog_lists_products_with_price_image_and_stock() {
    let s = Server::new(false).await;
    let r = s.get("/api/v1/catalog").await;
    assert_eq!(r.status, StatusCode::OK);
    let products = r.body["products"].as_array().unwrap();
    assert!(products.len() >= 24);
    let p = &products[0];
    for k in ["sku", "name", "price", "image", "stock"] {
        assert!(!p[k].is_null(), "{k}");
    }
    assert_eq!(p["price"]["currency"], "EUR");
}

#[tokio::test]
async fn healthz_metrics_and_unknown_routes() {
    let s = Server::new(false).await;
    let r = s.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    let m = s.mutate(&t, vec![add("nope-nope", 1)]).await;
    assert_eq!(m.body["results"][0]["status"], "rejected");
    s.get(&format!("/api/v1/carts/{t}")).await;
    let r = s.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.body.as_str().unwrap();
    for needle in [
        "cartsync_http_requests_total{class=\"2xx\"}",
        "cartsync_mutations_total{status=\"applied\"} 1",
        "cartsync_mutations_total{status=\"rejected\"} 1",
        "cartsync_mutations_total{status=\"duplicate\"} 0",
        "cartsync_mutations_total{status=\"conflict\"} 0",
        "cartsync_cache_requests_total{result=\"hit\"} 1",
        "cartsync_checkouts_total{outcome=\"created\"} 0",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    let r = s.get("/api/v1/carts").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
    let r = s.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
    // Without --dev the dev and admin endpoints do not exist.
    let r = s.post("/api/v1/dev/login", json!({"user": "ada"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s.post("/api/v1/admin/cache/flush", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .admin_put("/api/v1/admin/catalog/tee-black", json!({"stock": 1}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
