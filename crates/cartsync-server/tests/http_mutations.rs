//! `POST /carts/{token}/mutations` through the real router: applied,
//! duplicate, rejected (with the core's codes), conflicts and batch limits.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn mutations_apply_in_order_with_per_mutation_results() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let a = uuid();
    let r = s
        .mutate(
            &t,
            vec![
                with_id(
                    &a,
                    None,
                    json!({"type": "add_item", "sku": "tee-black", "quantity": 2, "options": {"size": "M"}}),
                ),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "set_quantity", "sku": "tee-black", "options": {"size": "M"}, "quantity": 5}),
                ),
                with_id(&uuid(), None, json!({"type": "apply_coupon", "code": "save10"})),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "select_shipping", "option": "express"}),
                ),
                with_id(
                    &uuid(),
                    None,
                    json!({"type": "add_item", "sku": "mug-enamel", "quantity": 1}),
                ),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "remove_item", "sku": "mug-enamel", "options": {}}),
                ),
            ],
        )
        .await;
    // base_version 1 is stale for the non-commutative commands (the cart
    // was at 0 when the batch started), so the batch stops at index 1.
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.code(), "version_conflict");
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["cart"]["version"], 1);

    let r = s
        .mutate(
            &t,
            vec![
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "set_quantity", "sku": "tee-black", "options": {"size": "M"}, "quantity": 5}),
                ),
                with_id(&uuid(), None, json!({"type": "apply_coupon", "code": "save10"})),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "select_shipping", "option": "express"}),
                ),
                with_id(
                    &uuid(),
                    None,
                    json!({"type": "add_item", "sku": "mug-enamel", "quantity": 1}),
                ),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "remove_item", "sku": "mug-enamel", "options": {}}),
                ),
                with_id(&uuid(), None, json!({"type": "remove_coupon", "code": "NOPE"})),
                with_id(&uuid(), None, json!({"type": "clear"})),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 7);
    for (i, res) in results.iter().enumerate() {
        assert_eq!(res["status"], "applied", "{i}: {res}");
        assert_eq!(res["version"], 2 + i as u64);
        assert!(res.get("error").is_none() || res["error"].is_null());
    }
    let cart = &r.body["cart"];
    assert_eq!(cart["version"], 8);
    assert_eq!(cart["lines"], json!([]));
    assert_eq!(cart["shipping_option"], "express");
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 900, "express shipping");
}

#[tokio::test]
async fn coupons_are_rendered_with_pricings_verdict() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "hoodie-grey", 1).await;
    let r = s
        .mutate(
            &t,
            vec![
                with_id(&uuid(), None, json!({"type": "apply_coupon", "code": "SAVE10"})),
                with_id(&uuid(), None, json!({"type": "apply_coupon", "code": "SUMMER24"})),
                with_id(&uuid(), None, json!({"type": "apply_coupon", "code": "BOGUS"})),
            ],
        )
        .await;
    let cart = &r.body["cart"];
    assert_eq!(cart["coupons"][0], json!({"code": "SAVE10", "state": "applied"}));
    assert_eq!(
        cart["coupons"][1],
        json!({"code": "SUMMER24", "state": "rejected", "reason": "expired"})
    );
    assert_eq!(
        cart["coupons"][2],
        json!({"code": "BOGUS", "state": "rejected", "reason": "unknown_coupon"})
    );
    assert_eq!(cart["totals"]["discount"]["amount"], 690);
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 6210);
}

#[tokio::test]
async fn invalid_commands_are_rejected_per_mutation_with_the_cores_codes() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let cases = [
        (
            json!({"type": "add_item", "sku": "tee-black", "quantity": 0}),
            "quantity_out_of_range",
        ),
        (
            json!({"type": "add_item", "sku": "tee-black", "quantity": 1000}),
            "quantity_out_of_range",
        ),
        (
            json!({"type": "add_item", "sku": "tee-black", "quantity": -3}),
            "quantity_out_of_range",
        ),
        (
            json!({"type": "add_item", "sku": "no-such-thing", "quantity": 1}),
            "unknown_sku",
        ),
        (
            json!({"type": "add_item", "sku": "bad sku!", "quantity": 1}),
            "invalid_sku",
        ),
        (json!({"type": "add_item", "sku": "", "quantity": 1}), "invalid_sku"),
        (
            json!({"type": "add_item", "sku": "tee-black", "quantity": 1, "options": {"": "x"}}),
            "invalid_option",
        ),
        (
            json!({"type": "add_item", "sku": "tee-black", "quantity": 1,
                   "options": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            "too_many_options",
        ),
        (
            json!({"type": "apply_coupon", "code": "x".repeat(33)}),
            "invalid_coupon_code",
        ),
        (
            json!({"type": "select_shipping", "option": "teleport"}),
            "unknown_shipping_option",
        ),
        (
            json!({"type": "select_shipping", "option": "no way"}),
            "invalid_shipping_option",
        ),
    ];
    let mutations: Vec<_> = cases.iter().map(|(c, _)| with_id(&uuid(), None, c.clone())).collect();
    let mut all = mutations.clone();
    all.push(add("tee-black", 1));
    let r = s.mutate(&t, all).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for (i, (_, code)) in cases.iter().enumerate() {
        let res = &r.body["results"][i];
        assert_eq!(res["status"], "rejected", "{i}");
        assert_eq!(res["error"]["code"], *code, "{i}: {res}");
        assert!(res["error"]["message"].as_str().unwrap().len() > 3);
    }
    // The batch went on after the rejections.
    assert_eq!(r.body["results"][cases.len()]["status"], "applied");
    assert_eq!(r.body["cart"]["version"], 1);
    // A rejection is recorded too: resending it is a duplicate with the
    // same error, not a second decision.
    let again = s.mutate(&t, vec![mutations[3].clone()]).await;
    assert_eq!(again.body["results"][0]["status"], "duplicate");
    assert_eq!(again.body["results"][0]["error"]["code"], "unknown_sku");
}

#[tokio::test]
async fn line_and_coupon_limits_reject_per_mutation() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let skus: Vec<String> = s.app.pricing.products().iter().map(|p| p.sku.0.clone()).collect();
    let mut muts = Vec::new();
    for sku in &skus {
        for size in 0..5 {
            muts.push(with_id(
                &uuid(),
                None,
                json!({"type": "add_item", "sku": sku, "quantity": 1, "options": {"size": size.to_string()}}),
            ));
        }
    }
    for chunk in muts.chunks(100) {
        s.mutate(&t, chunk.to_vec()).await;
    }
    let cart = s.cart(&t).await;
    assert_eq!(cart["lines"].as_array().unwrap().len(), 100);
    let r = s
        .mutate(
            &t,
            vec![with_id(
                &uuid(),
                None,
                json!({"type": "add_item", "sku": "tee-black", "quantity": 1, "options": {"size": "XXL"}}),
            )],
        )
        .await;
    assert_eq!(r.body["results"][0]["error"]["code"], "too_many_lines");
    let coupons: Vec<_> = (0..11)
        .map(|i| with_id(&uuid(), None, json!({"type": "apply_coupon", "code": format!("C{i}")})))
        .collect();
    let r = s.mutate(&t, coupons).await;
    assert_eq!(r.body["results"][10]["error"]["code"], "too_many_coupons");
}

#[tokio::test]
async fn same_id_twice_is_applied_once_and_a_reused_id_is_refused() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let m = add("tee-black", 1);
    let first = s.mutate(&t, vec![m.clone()]).await;
    assert_eq!(first.body["results"][0]["status"], "applied");
    let second = s.mutate(&t, vec![m.clone(), m.clone()]).await;
    assert_eq!(second.body["results"][0]["status"], "duplicate");
    assert_eq!(second.body["results"][0]["version"], 1);
    assert_eq!(second.body["results"][1]["status"], "duplicate");
    assert_eq!(quantity_of(&second.body["cart"], "tee-black"), 1);
    let mut reused = m.clone();
    reused["command"]["quantity"] = json!(7);
    let r = s.mutate(&t, vec![reused]).await;
    assert_eq!(r.body["results"][0]["status"], "rejected");
    assert_eq!(r.body["results"][0]["error"]["code"], "idempotency_key_reused");
    assert_eq!(r.body["cart"]["version"], 1);
}

#[tokio::test]
async fn stale_base_version_is_409_with_current_cart_and_committed_prefix() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await; // v1
    s.add(&t, "mug-enamel", 1).await; // v2
    let first = add("cap-canvas", 1);
    let r = s
        .mutate(
            &t,
            vec![
                first.clone(),
                with_id(
                    &uuid(),
                    Some(1),
                    json!({"type": "set_quantity", "sku": "tee-black", "quantity": 3}),
                ),
                add("sticker-pack", 1),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "version_conflict");
    assert!(r.body["message"].as_str().unwrap().contains("expected 1"));
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["results"][0]["status"], "applied");
    assert_eq!(r.body["cart"]["version"], 3);
    assert_eq!(quantity_of(&r.body["cart"], "tee-black"), 1);
    assert_eq!(quantity_of(&r.body["cart"], "sticker-pack"), 0);
    // The prefix is committed: resending it is a duplicate.
    let again = s.mutate(&t, vec![first]).await;
    assert_eq!(again.body["results"][0]["status"], "duplicate");
}

#[tokio::test]
async fn too_many_mutations_is_400() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let r = s.mutate(&t, (0..101).map(|_| add("sticker-pack", 1)).collect()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "too_many_mutations");
    assert_eq!(s.cart(&t).await["version"], 0);
    let r = s.mutate(&t, (0..100).map(|_| add("sticker-pack", 1)).collect()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["cart"]["version"], 100);
}

/// Many clients adding to one cart at once (tabs, a phone): every add is
/// applied, none is turned away as `busy`, and the quantities add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_to_one_cart_all_apply() {
    let s = std::sync::Arc::new(Server::new(false).await);
    let t = s.new_cart().await;
    let (clients, each) = (8, 25);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (s, t) = (s.clone(), t.clone());
            tokio::spawn(async move {
                for _ in 0..each {
                    let r = s
                        .mutate(
                            &t,
                            vec![with_id(
                                &uuid(),
                                None,
                                json!({"type": "add_item", "sku": "mug-enamel", "quantity": 1}),
                            )],
                        )
                        .await;
                    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                    assert_eq!(r.body["results"][0]["status"], "applied");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
    let cart = s.cart(&t).await;
    assert_eq!(cart["lines"][0]["quantity"], clients * each);
    assert_eq!(cart["version"], clients * each);
}
