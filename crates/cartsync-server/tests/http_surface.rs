//! CORS, the static directory and the bundled-vs-file catalog.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("c.db"), false);
    cfg.cors_origin = vec!["https://shop.example".into()];
    let s = Server::with_config(cfg).await;
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/carts")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,idempotency-key")
            .body(Body::empty())
            .unwrap()
    };
    let r = s.raw(preflight("https://shop.example")).await;
    assert_eq!(r.headers["access-control-allow-origin"], "https://shop.example");
    let r = s.raw(preflight("https://evil.example")).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    // Without --cors-origin: same origin only (no CORS headers at all).
    let plain = Server::new(false).await;
    let r = plain.raw(preflight("https://shop.example")).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn static_dir_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "<h1>shop</h1>").unwrap();
    let mut cfg = config(&dir.path().join("c.db"), false);
    cfg.static_dir = Some(www);
    let s = Server::with_config(cfg).await;
    let r = s.get("/index.html").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "<h1>shop</h1>");
    let r = s.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    // The API still answers JSON errors under /api/v1.
    let r = s.get("/api/v1/nope").await;
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn catalog_file_replaces_the_bundled_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.json");
    std::fs::write(
        &file,
        r#"{"currency": "USD", "products": [{"sku": "widget", "name": "Widget", "price": {"amount": 999, "currency": "USD"}, "stock": 3}],
            "shipping": [{"option": "ground", "price": {"amount": 0, "currency": "USD"}}]}"#,
    )
    .unwrap();
    let mut cfg = config(&dir.path().join("c.db"), false);
    cfg.catalog = Some(file.clone());
    let s = Server::with_config(cfg).await;
    let r = s.get("/api/v1/catalog").await;
    assert_eq!(r.body["products"].as_array().unwrap().len(), 1);
    let t = s.new_cart().await;
    let cart = s.add(&t, "widget", 2).await;
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 1998);
    assert_eq!(cart["totals"]["estimated_total"]["currency"], "USD");
    // A bad catalog is refused at start.
    std::fs::write(&file, r#"{"currency": "USD", "products": [{"sku": "a b", "name": "x", "price": {"amount": 1, "currency": "USD"}, "stock": 1}]}"#).unwrap();
    let mut cfg = config(&dir.path().join("c2.db"), false);
    cfg.catalog = Some(file);
    assert!(cartsync_server::build(&cfg).await.is_err());
}
