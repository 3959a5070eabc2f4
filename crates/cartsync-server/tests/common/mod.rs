//! Test harness: a server (the real router over a temp SQLite file, or a
//! fresh PostgreSQL database) driven through `tower::ServiceExt::oneshot`,
//! and a few request helpers.
#![allow(dead_code)]

pub mod cluster;
pub mod pg;
pub mod process;
pub mod proxy;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use cartsync_server::{build, AppState, Config};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tower::ServiceExt;

pub const SECRET: &str = "test-secret";

pub fn config(db: &Path, dev: bool) -> Config {
    config_for(format!("sqlite://{}", db.display()), dev)
}

/// The config of a test server on the database at `url`.
pub fn config_for(url: String, dev: bool) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: url,
        cache: "memory".into(),
        cache_prefix: "cartsync:".into(),
        cache_capacity: 100_000,
        cache_timeout_ms: 250,
        pg_pool_size: 8,
        store_timeout_ms: 2_000,
        instance: None,
        static_dir: None,
        catalog: None,
        secret: Some(SECRET.into()),
        dev,
        cors_origin: vec![],
        anonymous_cart_retention_days: 30,
        idempotency_retention_days: 30,
        recovery_interval_secs: 3600,
        cache_ttl_secs: 300,
        user_token_ttl_secs: 3600,
        header_timeout_ms: 10_000,
        body_timeout_ms: 10_000,
        max_connections: None,
        hold_expiry_secs: 3600,
        payment_callback_secret: Some(CALLBACK_SECRET.into()),
        payment_callback_tolerance_secs: 300,
        bank_beneficiary: "Tidewater Supply Co.".into(),
        bank_iban: "DE89 3704 0044 0532 0130 00".into(),
        bank_bic: "COBADEFFXXX".into(),
    }
}

/// The secret test servers verify payment callbacks with.
pub const CALLBACK_SECRET: &str = "test-callback-secret";

/// One server instance. Dropping it drops the router; the temp dir lives as
/// long as the `Server` that created it.
pub struct Server {
    pub router: Router,
    pub app: AppState,
    pub db: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// A response, JSON-decoded when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Server {
    pub async fn new(dev: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cartsync.db");
        let mut s = Server::on(&db, dev).await;
        s._dir = Some(dir);
        s
    }

    /// A second instance on the same database file (its own cold cache).
    pub async fn on(db: &Path, dev: bool) -> Server {
        Server::with_config(config(db, dev)).await
    }

    pub async fn with_config(config: Config) -> Server {
        let db = PathBuf::from(config.database.trim_start_matches("sqlite://"));
        let (router, app) = build(&config).await.unwrap();
        Server {
            router,
            app,
            db,
            _dir: None,
        }
    }

    /// Another handle on the same instance (for spawned tasks).
    pub fn handle(&self) -> Server {
        Server {
            router: self.router.clone(),
            app: self.app.clone(),
            db: self.db.clone(),
            _dir: None,
        }
    }

    /// A server around a hand-built `App` (e.g. with a test store).
    pub fn from_app(app: AppState, db: &Path) -> Server {
        Server {
            router: cartsync_server::http::router(app.clone(), None, &[]),
            app,
            db: db.to_path_buf(),
            _dir: None,
        }
    }

    pub async fn raw(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp { status, headers, body }
    }

    pub async fn send(&self, method: Method, uri: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.raw(b.body(body).unwrap()).await
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.send(Method::GET, uri, None, &[]).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Resp {
        self.send(Method::POST, uri, Some(body), &[]).await
    }

    /// `POST /carts` → the token.
    pub async fn new_cart(&self) -> String {
        let r = self.send(Method::POST, "/api/v1/carts", None, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    pub async fn cart(&self, token: &str) -> Value {
        let r = self.get(&format!("/api/v1/carts/{token}")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }

    pub async fn mutate(&self, token: &str, mutations: Vec<Value>) -> Resp {
        self.post(
            &format!("/api/v1/carts/{token}/mutations"),
            json!({ "mutations": mutations }),
        )
        .await
    }

    pub async fn mutate_as(&self, token: &str, bearer: &str, mutations: Vec<Value>) -> Resp {
        let auth = format!("Bearer {bearer}");
        self.send(
            Method::POST,
            &format!("/api/v1/carts/{token}/mutations"),
            Some(json!({ "mutations": mutations })),
            &[("authorization", &auth)],
        )
        .await
    }

    /// Adds `qty` of `sku` without a base version; asserts it applied.
    pub async fn add(&self, token: &str, sku: &str, qty: i64) -> Value {
        let r = self.mutate(token, vec![add(sku, qty)]).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["results"][0]["status"], "applied", "{:?}", r.body);
        r.body["cart"].clone()
    }

    pub async fn login(&self, user: &str) -> String {
        let r = self.post("/api/v1/dev/login", json!({ "user": user })).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    pub async fn checkout(&self, token: &str, key: &str, expected: i64, bearer: Option<&str>) -> Resp {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![("idempotency-key", key)];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.send(
            Method::POST,
            &format!("/api/v1/carts/{token}/checkout"),
            Some(json!({"expected_total": {"amount": expected, "currency": "EUR"}})),
            &headers,
        )
        .await
    }

    /// Sets the destination (DE 10115) and selects standard shipping, as a
    /// shopper does before checkout; asserts both applied.
    pub async fn ship(&self, token: &str) -> Value {
        self.ship_to(token, "DE", "10115", "standard", None).await
    }

    /// Sets the destination and selects `option`; asserts both applied.
    pub async fn ship_to(&self, token: &str, country: &str, postal: &str, option: &str, bearer: Option<&str>) -> Value {
        let mutations = vec![
            with_id(
                &uuid(),
                None,
                json!({"type": "set_destination", "country": country, "postal_code": postal}),
            ),
            with_id(&uuid(), None, json!({"type": "select_shipping", "option": option})),
        ];
        let r = match bearer {
            Some(b) => self.mutate_as(token, b, mutations).await,
            None => self.mutate(token, mutations).await,
        };
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        for result in r.body["results"].as_array().unwrap() {
            assert_eq!(result["status"], "applied", "{:?}", r.body);
        }
        r.body["cart"].clone()
    }

    /// Checkout at the total and tax the cart shows now.
    pub async fn checkout_as_shown(&self, token: &str, key: &str) -> Resp {
        let cart = self.cart(token).await;
        let total = &cart["totals"]["estimated_total"];
        let tax = &cart["totals"]["tax"];
        self.send(
            Method::POST,
            &format!("/api/v1/carts/{token}/checkout"),
            Some(json!({"expected_total": total, "expected_tax": tax})),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// The bank's callback, signed with the test secret at `t` (seconds).
    pub async fn bank_callback(&self, body: &Value, t: u64) -> Resp {
        let bytes = serde_json::to_vec(body).unwrap();
        let sig = cartsync_server::payment::signature::sign(CALLBACK_SECRET.as_bytes(), t, &bytes);
        self.raw(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/payments/bank_transfer/callback")
                .header("content-type", "application/json")
                .header("cartsync-signature", sig)
                .body(Body::from(bytes))
                .unwrap(),
        )
        .await
    }

    /// An order as `GET /orders/{id}` shows it.
    pub async fn order(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["order"].clone()
    }

    /// Units left in the inventory.
    pub async fn stock(&self, sku: &str) -> u32 {
        self.app.inventory.levels().await.unwrap()[&cartsync_core::Sku::new(sku)]
    }

    pub async fn admin_put(&self, uri: &str, body: Value) -> Resp {
        self.send(Method::PUT, uri, Some(body), &[]).await
    }
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn add(sku: &str, qty: i64) -> Value {
    json!({"id": uuid(), "base_version": null, "command": {"type": "add_item", "sku": sku, "quantity": qty, "options": {}}})
}

pub fn with_id(id: &str, base: Option<u64>, command: Value) -> Value {
    json!({"id": id, "base_version": base, "command": command})
}

pub fn quantity_of(cart: &Value, sku: &str) -> i64 {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["sku"] == sku)
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum()
}
