//! Security and abuse through the real router: every endpoint without,
//! with another user's, with an expired and with forged bearer tokens
//! (`alg: none`, a wrong-key HS256, a tampered signature, a tampered
//! claim); the admin and dev routes absent without `--dev`; cart tokens of
//! 192 random bits stored only as SHA-256; bounded bodies and batches; CORS
//! only for configured origins. (Slow clients, which need a socket and a
//! descriptor limit, are in `slow_clients.rs`.)

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use hmac::{KeyInit, Mac};
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with any header and claims, signed with `key` (HS256), or with
/// an empty signature when `key` is `None` (what `alg: none` sends).
fn jwt(header: &str, claims: &Value, key: Option<&[u8]>) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = match key {
        Some(k) => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(k).unwrap();
            mac.update(input.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        None => String::new(),
    };
    format!("{input}.{sig}")
}

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn later() -> u64 {
    cartsync_server::app::now_ms() / 1000 + 3600
}

/// Every kind of bad bearer token for the user `ada`, by name.
fn forged(valid: &str) -> Vec<(&'static str, String)> {
    let secret = SECRET.as_bytes();
    let ada = json!({"sub": "ada", "exp": later()});
    let mut tampered_sig = valid.to_string();
    let last = tampered_sig.pop().unwrap();
    tampered_sig.push(if last == 'A' { 'B' } else { 'A' });
    let parts: Vec<&str> = valid.split('.').collect();
    // The claims changed to another user, the original signature kept.
    let tampered_claims = format!(
        "{}.{}.{}",
        parts[0],
        b64(json!({"sub": "bob", "exp": later()}).to_string().as_bytes()),
        parts[2]
    );
    vec![
        ("expired", jwt(HS256, &json!({"sub": "ada", "exp": 1}), Some(secret))),
        ("alg none", jwt(r#"{"alg":"none","typ":"JWT"}"#, &ada, None)),
        (
            "alg none, signed",
            jwt(r#"{"alg":"none","typ":"JWT"}"#, &ada, Some(secret)),
        ),
        ("wrong key", jwt(HS256, &ada, Some(b"not-the-secret"))),
        ("empty key", jwt(HS256, &ada, Some(b""))),
        ("tampered signature", tampered_sig),
        ("tampered claims", tampered_claims),
        (
            "other header",
            jwt(r#"{"typ":"JWT","alg":"HS256"}"#, &ada, Some(secret)),
        ),
        (
            "HS512 header",
            jwt(r#"{"alg":"HS512","typ":"JWT"}"#, &ada, Some(secret)),
        ),
        ("two parts", parts[..2].join(".")),
        ("garbage", "a.b.c".into()),
        ("empty", String::new()),
    ]
}

/// The cart endpoints, as (name, method, path, body, idempotency key).
fn cart_endpoints(token: &str) -> Vec<(&'static str, Method, String, Option<Value>)> {
    vec![
        ("get", Method::GET, format!("/api/v1/carts/{token}"), None),
        (
            "mutations",
            Method::POST,
            format!("/api/v1/carts/{token}/mutations"),
            Some(json!({"mutations": [add("mug-enamel", 1)]})),
        ),
        ("events", Method::GET, format!("/api/v1/carts/{token}/events"), None),
        ("attach", Method::POST, format!("/api/v1/carts/{token}/attach"), None),
        (
            "checkout",
            Method::POST,
            format!("/api/v1/carts/{token}/checkout"),
            Some(json!({"expected_total": {"amount": 2500, "currency": "EUR"}})),
        ),
    ]
}

async fn call(s: &Server, method: &Method, path: &str, body: &Option<Value>, auth: Option<&str>) -> Resp {
    let mut headers = vec![("idempotency-key", "security-test")];
    let value = auth.map(|a| format!("Bearer {a}"));
    if let Some(v) = &value {
        headers.push(("authorization", v));
    }
    s.send(method.clone(), path, body.clone(), &headers).await
}

/// Version, lines and event count: what a refused request must not change.
async fn state(s: &Server, token: &str, bearer: &str) -> (Value, Value, usize) {
    let r = call(s, &Method::GET, &format!("/api/v1/carts/{token}"), &None, Some(bearer)).await;
    let e = call(
        s,
        &Method::GET,
        &format!("/api/v1/carts/{token}/events"),
        &None,
        Some(bearer),
    )
    .await;
    (
        r.body["version"].clone(),
        r.body["lines"].clone(),
        e.body["events"].as_array().map_or(0, Vec::len),
    )
}

#[tokio::test]
async fn every_cart_endpoint_refuses_missing_foreign_expired_and_forged_bearer_tokens() {
    let s = Server::new(true).await;
    let ada = s.login("ada").await;
    let bob = s.login("bob").await;
    // An account cart of ada's, with one line.
    let anon = s.new_cart().await;
    s.add(&anon, "tee-black", 1).await;
    let r = call(
        &s,
        &Method::POST,
        &format!("/api/v1/carts/{anon}/attach"),
        &None,
        Some(&ada),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let account = r.body["token"].as_str().unwrap().to_string();
    let before = state(&s, &account, &ada).await;
    let mut tried = 0;
    for (name, method, path, body) in cart_endpoints(&account) {
        let none = call(&s, &method, &path, &body, None).await;
        assert_eq!(
            (none.status, none.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{name} without a token"
        );
        let other = call(&s, &method, &path, &body, Some(&bob)).await;
        assert_eq!(
            (other.status, other.code()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{name} as bob"
        );
        for (kind, token) in forged(&ada) {
            let r = call(&s, &method, &path, &body, Some(&token)).await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{name} with a {kind} token: {:?}",
                r.body
            );
            let message = r.body["message"].as_str().unwrap();
            assert!(message.starts_with("Authorization:"), "{message}");
            tried += 1;
        }
        assert_eq!(
            state(&s, &account, &ada).await,
            before,
            "{name}: a refused request changed the cart"
        );
    }
    // An anonymous cart needs no bearer token, but one that is sent must
    // verify: a forged one is refused there too.
    let other_anon = s.new_cart().await;
    for (name, method, path, body) in cart_endpoints(&other_anon) {
        for (kind, token) in forged(&ada) {
            let r = call(&s, &method, &path, &body, Some(&token)).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{name} (anonymous cart) with a {kind} token"
            );
            tried += 1;
        }
    }
    let r = s.cart(&other_anon).await;
    assert_eq!(r["version"], 0, "no forged request reached the anonymous cart");
    // The owner's own token still works.
    let r = call(&s, &Method::GET, &format!("/api/v1/carts/{account}"), &None, Some(&ada)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(tried >= 100, "{tried}");
}

#[tokio::test]
async fn endpoints_without_a_cart_ignore_the_bearer_token_and_reveal_nothing() {
    let s = Server::new(true).await;
    let ada = s.login("ada").await;
    for (kind, token) in forged(&ada) {
        for (method, path) in [
            (Method::POST, "/api/v1/carts"),
            (Method::GET, "/api/v1/catalog"),
            (Method::GET, "/healthz"),
        ] {
            let r = call(&s, &method, path, &None, Some(&token)).await;
            assert!(r.status.is_success(), "{path} with a {kind} token: {}", r.status);
            assert!(
                r.body.get("owner").is_none() && r.body["cart"]["owner"].is_null(),
                "{kind}"
            );
        }
    }
}

#[tokio::test]
async fn admin_and_dev_routes_do_not_exist_without_dev() {
    let s = Server::new(false).await;
    let paths = [
        "/api/v1/dev/login",
        "/api/v1/admin/catalog/tee-black",
        "/api/v1/admin/coupons/SAVE10",
        "/api/v1/admin/cache/flush",
    ];
    for path in paths {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let r = s
                .send(
                    method.clone(),
                    path,
                    Some(json!({"user": "ada", "price": {"amount": 1, "currency": "EUR"}})),
                    &[],
                )
                .await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::NOT_FOUND, "not_found"),
                "{method} {path}"
            );
        }
    }
    // Nothing changed: the price is still the catalog's.
    let r = s.get("/api/v1/catalog").await;
    let tee = r.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "tee-black")
        .unwrap()
        .clone();
    assert_ne!(tee["price"]["amount"], 1);
    // With --dev they exist.
    let dev = Server::new(true).await;
    assert_eq!(
        dev.post("/api/v1/dev/login", json!({"user": "ada"})).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cart_tokens_carry_192_random_bits_and_are_stored_only_hashed() {
    // The alphabet and length: 32 URL-safe base64 characters = 24 bytes.
    let mut per_position = vec![std::collections::BTreeSet::new(); 32];
    let mut all = std::collections::BTreeSet::new();
    for _ in 0..4000 {
        let (token, hash) = cartsync_server::tokens::mint().unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(cartsync_server::tokens::hash(&token), Some(hash));
        for (i, c) in token.chars().enumerate() {
            per_position[i].insert(c);
        }
        assert!(all.insert(token), "a token repeated");
    }
    // Every position draws on the whole 64-character alphabet (4000
    // draws miss a given character with probability ~1e-27): no fixed or
    // low-entropy part, so the token carries its 32 × 6 = 192 bits.
    for (i, seen) in per_position.iter().enumerate() {
        assert_eq!(seen.len(), 64, "position {i} uses {} characters", seen.len());
    }
    // On disk: the SHA-256, never the token.
    let s = Server::new(false).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let t = s.new_cart().await;
        s.add(&t, "tee-black", 1).await;
        tokens.push(t);
    }
    let dir = s.db.parent().unwrap().to_path_buf();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for t in &tokens {
        assert!(!contains(t.as_bytes()), "the token {t} is on disk");
        let hash = cartsync_server::tokens::hash(t).unwrap();
        assert!(contains(&hash), "the token's hash is not on disk");
    }
    // A guessed token (well-formed, unknown) is simply not found.
    let r = s.get(&format!("/api/v1/carts/{}", "A".repeat(32))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "cart_not_found"));
}

#[tokio::test]
async fn bodies_and_batches_are_bounded() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    let batch: Vec<Value> = (0..101).map(|_| add("tee-black", 1)).collect();
    let r = s.mutate(&t, batch).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "too_many_mutations"));
    let big = vec![b' '; 64 * 1024 + 1];
    for path in [
        format!("/api/v1/carts/{t}/mutations"),
        format!("/api/v1/carts/{t}/checkout"),
        "/api/v1/dev/login".to_string(),
        "/api/v1/admin/coupons/SAVE10".to_string(),
    ] {
        let method = if path.contains("admin") {
            Method::PUT
        } else {
            Method::POST
        };
        let req = Request::builder()
            .method(method)
            .uri(&path)
            .header("content-type", "application/json")
            .header("idempotency-key", "k")
            .body(Body::from(big.clone()))
            .unwrap();
        let r = s.raw(req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            "{path}"
        );
    }
    assert_eq!(s.cart(&t).await["version"], 0);
}

#[tokio::test]
async fn cors_headers_only_for_configured_origins_on_real_requests_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("c.db"), false);
    cfg.cors_origin = vec!["https://shop.example".into()];
    let s = Server::with_config(cfg).await;
    let get = |origin: &str| {
        Request::builder()
            .method(Method::GET)
            .uri("/api/v1/catalog")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let r = s.raw(get("https://shop.example")).await;
    assert_eq!(r.headers["access-control-allow-origin"], "https://shop.example");
    for origin in [
        "https://evil.example",
        "https://shop.example.evil.example",
        "null",
        "http://shop.example",
    ] {
        let r = s.raw(get(origin)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.get("access-control-allow-origin").is_none(), "{origin}");
        assert!(r.headers.get("access-control-allow-credentials").is_none(), "{origin}");
    }
}
