//! Random request bodies (a seeded generator, so failures replay) against
//! the mutations and checkout endpoints: the server answers every one with
//! a protocol status and a `{"code", "message"}` or result body, never a 500
//! or a panic, and the cart stays consistent with its event log.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cartsync_core::{Random, SplitMix64};
use common::*;
use serde_json::{json, Value};

fn pick<'a, T>(rng: &mut SplitMix64, items: &'a [T]) -> &'a T {
    &items[(rng.next_u64() % items.len() as u64) as usize]
}

/// A JSON value of a random shape, biased towards what the server expects.
fn junk(rng: &mut SplitMix64, depth: u32) -> Value {
    match rng.next_u64() % if depth > 2 { 6 } else { 8 } {
        0 => Value::Null,
        1 => json!(rng.next_u64().is_multiple_of(2)),
        2 => json!((rng.next_u64() as i64) >> (rng.next_u64() % 64)),
        3 => json!(*pick(rng, &[0.5, -1.0, 1e300, 999.0])),
        4 => json!(pick(
            rng,
            &["", "tee-black", "ADD_ITEM", "a b", "ü", "x".repeat(70).as_str(), "8f8f"]
        )
        .to_string()),
        5 => json!(uuid::Uuid::from_u64_pair(rng.next_u64(), rng.next_u64()).to_string()),
        6 => Value::Array((0..rng.next_u64() % 4).map(|_| junk(rng, depth + 1)).collect()),
        _ => {
            let keys = [
                "type",
                "sku",
                "quantity",
                "options",
                "code",
                "option",
                "id",
                "base_version",
                "command",
            ];
            Value::Object(
                (0..rng.next_u64() % 5)
                    .map(|_| (pick(rng, &keys).to_string(), junk(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

fn mutation(rng: &mut SplitMix64) -> Value {
    let types = [
        "add_item",
        "set_quantity",
        "remove_item",
        "apply_coupon",
        "remove_coupon",
        "select_shipping",
        "clear",
        "explode",
    ];
    let mut command = json!({"type": pick(rng, &types)});
    // Mostly well-typed fields (so batches get past the parser to the
    // core's checks), sometimes junk, sometimes missing.
    for field in ["sku", "quantity", "options", "code", "option"] {
        if rng.next_u64().is_multiple_of(8) {
            continue;
        }
        let value = if rng.next_u64().is_multiple_of(12) {
            junk(rng, 1)
        } else {
            match field {
                "sku" => json!(pick(rng, &["tee-black", "mug-enamel", "nope", "a b", ""])),
                "quantity" => json!((rng.next_u64() % 1200) as i64 - 100),
                "options" => json!({"size": pick(rng, &["S", "M", ""])}),
                "code" => json!(pick(rng, &["SAVE10", "save10", "BOGUS", "no way"])),
                _ => json!(pick(rng, &["standard", "express", "teleport"])),
            }
        };
        command[field] = value;
    }
    let mut m = json!({"id": uuid::Uuid::from_u64_pair(rng.next_u64() % 50, 1).to_string(), "command": command});
    match rng.next_u64() % 16 {
        0 => m["base_version"] = junk(rng, 2),
        1 => m["id"] = junk(rng, 2),
        2..=5 => m["base_version"] = json!(rng.next_u64() % 40),
        _ => {}
    }
    m
}

#[tokio::test]
async fn random_bodies_never_break_the_server() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let seed = 0x5eed_cafe;
    let mut rng = SplitMix64(seed);
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..600 {
        let body = match rng.next_u64() % 10 {
            0 => junk(&mut rng, 0),
            1 => json!({"mutations": junk(&mut rng, 1)}),
            _ => json!({"mutations": (0..1 + rng.next_u64() % 3).map(|_| mutation(&mut rng)).collect::<Vec<_>>()}),
        };
        let (uri, allowed): (String, &[StatusCode]) = if i % 10 == 9 {
            (
                format!("/api/v1/carts/{t}/checkout"),
                &[StatusCode::CREATED, StatusCode::BAD_REQUEST, StatusCode::CONFLICT],
            )
        } else {
            (
                format!("/api/v1/carts/{t}/mutations"),
                &[StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::CONFLICT],
            )
        };
        let req = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header("idempotency-key", format!("k{i}"))
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        let r = s.raw(req).await;
        *seen.entry(r.status.as_u16()).or_insert(0) += 1;
        assert!(
            allowed.contains(&r.status),
            "seed {seed:#x} step {i}: {} for {body}: {:?}",
            r.status,
            r.body
        );
        assert!(
            r.body.get("code").is_some() || r.body.get("results").is_some() || r.body.get("order").is_some(),
            "seed {seed:#x} step {i}: {:?}",
            r.body
        );
        if r.status == StatusCode::CREATED {
            break; // the cart is closed now
        }
    }
    eprintln!("fuzz statuses: {seen:?}");
    // The generator reaches both the parser's and the core's rejections.
    assert!(
        seen.get(&200).is_some_and(|n| *n > 20) && seen.get(&400).is_some_and(|n| *n > 20),
        "{seen:?}"
    );
    let applied = s.get(&format!("/api/v1/carts/{t}/events")).await;
    assert!(!applied.body["events"].as_array().unwrap().is_empty());
    // The cart still matches its log.
    let app = s.app.clone();
    let report = cartsync_server::recovery::run_once(&app).await.unwrap();
    assert_eq!(report.repaired, 0);
    assert_eq!(report.unreplayable, 0);
}
