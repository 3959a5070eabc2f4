//! One test per row of the failure table ('Where It Breaks'): the weak
//! design's failure must not happen here.

mod common;

use axum::http::{Method, StatusCode};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::{rebase, Mutation};
use common::*;
use serde_json::json;

/// Cache eviction: the projection is dropped; the cart is rebuilt from the
/// durable store, not lost.
#[tokio::test]
async fn cache_eviction_rehydrates_the_cart() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 2).await;
    s.add(&t, "mug-enamel", 1).await;
    let before = s.cart(&t).await;
    let r = s.post("/api/v1/admin/cache/flush", json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(s.app.cache.entries() == Some(0));
    let after = s.cart(&t).await;
    assert_eq!(before, after);
    let m = s.get("/metrics").await;
    assert!(m
        .body
        .as_str()
        .unwrap()
        .contains("cartsync_cache_requests_total{result=\"miss\"} 1"));
    // And the rebuilt projection is cached again.
    s.cart(&t).await;
    assert_eq!(s.app.cache.entries(), Some(1));
}

/// Anonymous login: the account cart is merged with the anonymous one,
/// never overwritten by it.
#[tokio::test]
async fn anonymous_login_merges_instead_of_overwriting() {
    let s = Server::new(true).await;
    let ada = s.login("ada").await;
    let auth = format!("Bearer {ada}");
    // Ada's account cart from an earlier session.
    let earlier = s.new_cart().await;
    s.add(&earlier, "hoodie-grey", 1).await;
    s.mutate(
        &earlier,
        vec![with_id(
            &uuid(),
            None,
            json!({"type": "select_shipping", "option": "express"}),
        )],
    )
    .await;
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{earlier}/attach"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Today, logged out, she fills a new anonymous cart, then logs in.
    let anon = s.new_cart().await;
    s.add(&anon, "hoodie-grey", 2).await;
    s.mutate(
        &anon,
        vec![with_id(
            &uuid(),
            None,
            json!({"type": "add_item", "sku": "hoodie-grey", "quantity": 1, "options": {"size": "L"}}),
        )],
    )
    .await;
    s.mutate(
        &anon,
        vec![with_id(
            &uuid(),
            None,
            json!({"type": "apply_coupon", "code": "SAVE10"}),
        )],
    )
    .await;
    let r = s
        .send(
            Method::POST,
            &format!("/api/v1/carts/{anon}/attach"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cart = &r.body["cart"];
    let lines = cart["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "same sku with other options stays a separate line");
    assert_eq!(lines[0]["quantity"], 3, "1 from the account + 2 anonymous");
    assert_eq!(lines[1]["options"], json!({"size": "L"}));
    assert_eq!(cart["shipping_option"], "express", "the account cart's choice wins");
    assert_eq!(cart["coupons"][0]["code"], "SAVE10");
    let report = &r.body["merge_report"];
    assert_eq!(report["summed"][0]["account_quantity"], 1);
    assert_eq!(report["summed"][0]["anonymous_quantity"], 2);
    assert_eq!(report["coupons_pending"], json!(["SAVE10"]));
}

/// Multi-tab edits: both tabs write conditionally; the second gets 409 with
/// the current cart, rebases with the core's rules and succeeds without
/// overwriting the first tab's change.
#[tokio::test]
async fn multi_tab_edits_are_conditional_writes() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 1).await;
    s.add(&t, "mug-enamel", 1).await;
    let v = s.cart(&t).await["version"].as_u64().unwrap();
    let tab_a = with_id(
        &uuid(),
        Some(v),
        json!({"type": "set_quantity", "sku": "tee-black", "quantity": 4}),
    );
    let tab_b = with_id(&uuid(), Some(v), json!({"type": "remove_item", "sku": "mug-enamel"}));
    let a = s.mutate(&t, vec![tab_a]).await;
    assert_eq!(a.status, StatusCode::OK);
    let b = s.mutate(&t, vec![tab_b.clone()]).await;
    assert_eq!(b.status, StatusCode::CONFLICT);
    assert_eq!(b.code(), "version_conflict");
    assert_eq!(
        quantity_of(&b.body["cart"], "tee-black"),
        4,
        "409 carries the current cart"
    );
    // Tab B rebases its pending mutation onto the cart it was sent.
    let server: CartView = serde_json::from_value(b.body["cart"].clone()).unwrap();
    let pending: Mutation = serde_json::from_value(tab_b.clone()).unwrap();
    let (_, _) = rebase(
        &server.to_cart(),
        std::slice::from_ref(&pending),
        &cartsync_core::Limits::default(),
    );
    let mut resend = tab_b;
    resend["base_version"] = json!(server.version);
    let b2 = s.mutate(&t, vec![resend]).await;
    assert_eq!(b2.status, StatusCode::OK, "{:?}", b2.body);
    assert_eq!(quantity_of(&b2.body["cart"], "tee-black"), 4, "tab A's write survives");
    assert_eq!(quantity_of(&b2.body["cart"], "mug-enamel"), 0, "tab B's write lands");
}

/// Mobile retry: the same mutation id sent twice (the response was lost)
/// is applied once.
#[tokio::test]
async fn mobile_retry_is_applied_once() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let m = add("socks-stripe", 1);
    let first = s.mutate(&t, vec![m.clone()]).await;
    let retry = s.mutate(&t, vec![m.clone()]).await;
    assert_eq!(first.body["results"][0]["status"], "applied");
    assert_eq!(retry.body["results"][0]["status"], "duplicate");
    assert_eq!(retry.body["results"][0]["version"], first.body["results"][0]["version"]);
    assert_eq!(quantity_of(&retry.body["cart"], "socks-stripe"), 1);
    // Concurrent retries too.
    let m2 = add("socks-stripe", 1);
    let (x, y) = tokio::join!(s.mutate(&t, vec![m2.clone()]), s.mutate(&t, vec![m2.clone()]));
    let statuses = [
        x.body["results"][0]["status"].clone(),
        y.body["results"][0]["status"].clone(),
    ];
    assert!(
        statuses.contains(&json!("applied")) && statuses.contains(&json!("duplicate")),
        "{statuses:?}"
    );
    assert_eq!(quantity_of(&s.cart(&t).await, "socks-stripe"), 2);
    // Concurrent retries of a mutation that is rejected (the version does
    // not move): one decision, the other answered from its record.
    for _ in 0..10 {
        let bad = add("no-such-sku", 1);
        let (x, y) = tokio::join!(s.mutate(&t, vec![bad.clone()]), s.mutate(&t, vec![bad.clone()]));
        assert_eq!(
            (x.status, y.status),
            (StatusCode::OK, StatusCode::OK),
            "{:?} {:?}",
            x.body,
            y.body
        );
        let mut statuses = [
            x.body["results"][0]["status"].clone(),
            y.body["results"][0]["status"].clone(),
        ];
        statuses.sort_by_key(|v| v.to_string());
        assert_eq!(statuses, [json!("duplicate"), json!("rejected")]);
    }
}

/// Failover: a second server instance on the same database, with a cold
/// cache, serves and continues the cart.
#[tokio::test]
async fn failover_to_a_second_instance_with_a_cold_cache() {
    let first = Server::new(false).await;
    let t = first.new_cart().await;
    first.add(&t, "tee-black", 2).await;
    let seen = first.cart(&t).await;
    let second = Server::on(&first.db, false).await;
    assert!(second.app.cache.entries() == Some(0));
    let served = second.cart(&t).await;
    assert_eq!(served, seen);
    let cart = second.add(&t, "tee-black", 1).await;
    assert_eq!(cart["version"], 2);
    assert_eq!(quantity_of(&cart, "tee-black"), 3);
    let events = second.get(&format!("/api/v1/carts/{t}/events")).await;
    assert_eq!(events.body["events"].as_array().unwrap().len(), 2);
}

/// Price drift: checkout reprices the snapshot; the shopper is told the
/// old and new price instead of being charged a stale total.
#[tokio::test]
async fn price_drift_is_caught_at_checkout() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "tee-black", 2).await;
    let cart = s.ship(&t).await;
    let seen_total = cart["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    assert_eq!(seen_total, 5000);
    s.admin_put(
        "/api/v1/admin/catalog/tee-black",
        json!({"price": {"amount": 3000, "currency": "EUR"}}),
    )
    .await;
    let r = s.checkout(&t, "k1", seen_total, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "checkout_revalidation_failed");
    let p = &r.body["problems"][0];
    assert_eq!(p["type"], "price_changed");
    assert_eq!(p["sku"], "tee-black");
    assert_eq!(p["old_price"]["amount"], 2500);
    assert_eq!(p["new_price"]["amount"], 3000);
    assert_eq!(r.body["cart"]["totals"]["estimated_total"]["amount"], 6000);
    assert_eq!(r.body["cart"]["lines"][0]["unit_price"]["amount"], 3000);
    let ok = s.checkout(&t, "k2", 6000, None).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    assert_eq!(ok.body["order"]["lines"][0]["unit_price"]["amount"], 3000);
}

/// Inventory race: two carts hold the last unit; concurrent checkouts give
/// one order and one `out_of_stock`.
#[tokio::test]
async fn inventory_race_gives_one_order_and_one_out_of_stock() {
    let s = Server::new(false).await;
    let a = s.new_cart().await;
    let b = s.new_cart().await;
    s.add(&a, "last-one-vase", 1).await;
    s.add(&b, "last-one-vase", 1).await;
    s.ship(&a).await;
    s.ship(&b).await;
    let (ra, rb) = tokio::join!(s.checkout(&a, "ka", 4500, None), s.checkout(&b, "kb", 4500, None));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let loser = if ra.status == StatusCode::CONFLICT { &ra } else { &rb };
    assert_eq!(loser.code(), "checkout_revalidation_failed");
    let p = &loser.body["problems"][0];
    assert_eq!(p["type"], "out_of_stock");
    assert_eq!(p["sku"], "last-one-vase");
    assert_eq!(p["requested"], 1);
    assert_eq!(p["available"], 0);
    assert_eq!(s.stock("last-one-vase").await, 0);
}

/// Promotion conflict: a coupon shown as applied is revalidated before the
/// order; an expired one is reported, not silently honoured or dropped.
#[tokio::test]
async fn promotion_conflict_revalidates_the_coupon() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "hoodie-grey", 1).await;
    s.ship(&t).await;
    let r = s
        .mutate(
            &t,
            vec![with_id(
                &uuid(),
                None,
                json!({"type": "apply_coupon", "code": "SAVE10"}),
            )],
        )
        .await;
    assert_eq!(r.body["cart"]["coupons"][0]["state"], "applied");
    let seen = r.body["cart"]["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    assert_eq!(seen, 6210);
    s.admin_put(
        "/api/v1/admin/coupons/SAVE10",
        json!({"percent_off": 10, "active": false}),
    )
    .await;
    let r = s.checkout(&t, "k1", seen, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let p = &r.body["problems"][0];
    assert_eq!(p["type"], "coupon_rejected");
    assert_eq!(p["code"], "SAVE10");
    assert_eq!(p["reason"], "expired");
    assert_eq!(r.body["cart"]["coupons"][0]["state"], "rejected");
    assert_eq!(r.body["cart"]["totals"]["estimated_total"]["amount"], 6900);
    let ok = s.checkout(&t, "k2", 6900, None).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(ok.body["order"]["coupons"], json!([]));
}

/// The same race across two server instances on one database: stock lives
/// in the database, so the reservation is atomic across processes too.
#[tokio::test]
async fn inventory_race_across_two_instances() {
    let one = Server::new(false).await;
    let two = Server::on(&one.db, false).await;
    let a = one.new_cart().await;
    let b = two.new_cart().await;
    one.add(&a, "last-one-vase", 1).await;
    two.add(&b, "last-one-vase", 1).await;
    one.ship(&a).await;
    two.ship(&b).await;
    let (ra, rb) = tokio::join!(one.checkout(&a, "ka", 4500, None), two.checkout(&b, "kb", 4500, None));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    // Stock survives a restart: a third instance still sees none left.
    let three = Server::on(&one.db, false).await;
    assert_eq!(three.stock("last-one-vase").await, 0);
}
