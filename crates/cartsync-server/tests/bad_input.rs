//! Every malformed request: the status, the code, a message naming the
//! field, and a cart left exactly as it was.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::{json, Value};

/// Version, rendered cart and event count: what must not change.
async fn fingerprint(s: &Server, t: &str) -> (Value, usize) {
    s.app.cache.flush().await.unwrap();
    let cart = s.cart(t).await;
    let events = s.get(&format!("/api/v1/carts/{t}/events")).await;
    (cart, events.body["events"].as_array().unwrap().len())
}

async fn raw_post(s: &Server, uri: &str, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .header("idempotency-key", "k")
        .body(Body::from(body))
        .unwrap();
    s.raw(req).await
}

#[tokio::test]
async fn malformed_mutation_requests_are_400_naming_the_field_and_change_nothing() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    let before = fingerprint(&s, &t).await;
    let ok = add("tee-black", 1);
    let id = uuid();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{".to_vec(), "body"),
        (b"".to_vec(), "body"),
        (b"not json".to_vec(), "body"),
        (b"{\"mutations\": []} trailing".to_vec(), "body"),
        (br#"[]"#.to_vec(), "body"),
        (br#"{}"#.to_vec(), "mutations"),
        (br#"{"mutations": "x"}"#.to_vec(), "mutations"),
        (br#"{"mutations": null}"#.to_vec(), "mutations"),
        (
            serde_json::to_vec(&json!({"mutations": [ok.clone(), {"id": "not-a-uuid", "command": {"type": "clear"}}]})).unwrap(),
            "mutations[1].id",
        ),
        (serde_json::to_vec(&json!({"mutations": [{"command": {"type": "clear"}}]})).unwrap(), "id"),
        (serde_json::to_vec(&json!({"mutations": [{"id": 5, "command": {"type": "clear"}}]})).unwrap(), "mutations[0].id"),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "base_version": "x", "command": {"type": "clear"}}]})).unwrap(),
            "mutations[0].base_version",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "base_version": -1, "command": {"type": "clear"}}]})).unwrap(),
            "mutations[0].base_version",
        ),
        (serde_json::to_vec(&json!({"mutations": [{"id": id}]})).unwrap(), "command"),
        (
            serde_json::to_vec(&json!({"mutations": [ok.clone(), {"id": id, "command": {"type": "teleport"}}]})).unwrap(),
            "mutations[1].command.type",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"sku": "tee-black"}}]})).unwrap(),
            "mutations[0].command.type",
        ),
        (serde_json::to_vec(&json!({"mutations": [{"id": id, "command": "add_item"}]})).unwrap(), "mutations[0].command"),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "add_item", "sku": "tee-black", "quantity": "two"}}]}))
                .unwrap(),
            "mutations[0].command.quantity",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "add_item", "sku": "tee-black", "quantity": 1.5}}]}))
                .unwrap(),
            "mutations[0].command.quantity",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "add_item", "sku": 7, "quantity": 1}}]})).unwrap(),
            "mutations[0].command.sku",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "add_item", "quantity": 1}}]})).unwrap(),
            "mutations[0].command.sku",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "add_item", "sku": "tee-black", "quantity": 1, "options": {"size": 3}}}]}))
                .unwrap(),
            "mutations[0].command.options",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "apply_coupon", "code": null}}]})).unwrap(),
            "mutations[0].command.code",
        ),
        (
            serde_json::to_vec(&json!({"mutations": [{"id": id, "command": {"type": "select_shipping"}}]})).unwrap(),
            "mutations[0].command.option",
        ),
    ];
    for (body, field) in cases {
        let shown = String::from_utf8_lossy(&body).to_string();
        let r = raw_post(&s, &format!("/api/v1/carts/{t}/mutations"), body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{shown}: {:?}", r.body);
        assert_eq!(r.code(), "bad_request", "{shown}");
        let message = r.body["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{shown}: message {message:?} should name {field:?}"
        );
        assert_eq!(fingerprint(&s, &t).await, before, "{shown} changed the cart");
    }
    // The valid mutation that shared a batch with a malformed one was not
    // applied either: sending it now applies it.
    let r = s.mutate(&t, vec![ok]).await;
    assert_eq!(r.body["results"][0]["status"], "applied");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_change_nothing() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let before = fingerprint(&s, &t).await;
    let big = json!({"mutations": [{"id": uuid(), "command": {"type": "add_item", "sku": "tee-black", "quantity": 1, "options": {"note": "x".repeat(70 * 1024)}}}]});
    let r = raw_post(
        &s,
        &format!("/api/v1/carts/{t}/mutations"),
        serde_json::to_vec(&big).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");
    let r = raw_post(&s, &format!("/api/v1/carts/{t}/checkout"), vec![b' '; 65 * 1024]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit is parsed (and here rejected per mutation).
    let near = json!({"mutations": [{"id": uuid(), "command": {"type": "add_item", "sku": "tee-black", "quantity": 1, "options": {"note": "x".repeat(60 * 1024)}}}]});
    let r = raw_post(
        &s,
        &format!("/api/v1/carts/{t}/mutations"),
        serde_json::to_vec(&near).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["results"][0]["error"]["code"], "invalid_option");
    let (cart, events) = fingerprint(&s, &t).await;
    assert_eq!((cart["lines"].clone(), events), (before.0["lines"].clone(), before.1));
}

#[tokio::test]
async fn limit_violations_are_per_mutation_rejections_that_change_nothing() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 998).await;
    let before = fingerprint(&s, &t).await;
    let r = s
        .mutate(
            &t,
            vec![
                add("tee-black", 2),
                add("unknown-sku", 1),
                with_id(
                    &uuid(),
                    None,
                    json!({"type": "add_item", "sku": "x".repeat(65), "quantity": 1}),
                ),
                add("tee-black", i64::MAX),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let codes: Vec<_> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            json!("quantity_out_of_range"),
            json!("unknown_sku"),
            json!("invalid_sku"),
            json!("quantity_out_of_range")
        ]
    );
    let (cart, events) = fingerprint(&s, &t).await;
    assert_eq!(cart, before.0);
    assert_eq!(events, before.1);
}

#[tokio::test]
async fn malformed_requests_on_other_endpoints() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    let before = fingerprint(&s, &t).await;
    let checkout = format!("/api/v1/carts/{t}/checkout");
    for (body, field) in [
        (b"{".to_vec(), "body"),
        (
            br#"{"expected_total": {"amount": "1", "currency": "EUR"}}"#.to_vec(),
            "expected_total.amount",
        ),
        (br#"{"expected_total": {"amount": 1}}"#.to_vec(), "expected_total"),
        (br#"{"total": 5}"#.to_vec(), "expected_total"),
    ] {
        let r = raw_post(&s, &checkout, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(field), "{:?}", r.body);
    }
    for q in [
        "after=-1",
        "after=abc",
        "after=1.5",
        "after=99999999999999999999999",
        // Found by schemathesis: fits a u64, not an int64.
        "after=10000000000000000000",
        "after=9223372036854775808",
    ] {
        let r = s.get(&format!("/api/v1/carts/{t}/events?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.code(), "bad_request");
    }
    let r = raw_post(&s, "/api/v1/dev/login", br#"{"user": 5}"#.to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("user"));
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{t}/attach"),
            None,
            &[("authorization", "Basic abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{t}/mutations"),
            Some(json!({"mutations": [add("tee-black", 1)]})),
            &[("authorization", "Bearer garbage")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(fingerprint(&s, &t).await, before, "nothing changed");
}
