//! Shipping constraints and tax through the real router: the destination's
//! rules, the rendered cart's judged options and tax, `select_shipping`
//! refused for an option that cannot take the bag, and the checkout
//! problems `shipping_unavailable` and `tax_changed`.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};

fn destination(country: &str, postal: &str) -> Value {
    with_id(
        &uuid(),
        None,
        json!({"type": "set_destination", "country": country, "postal_code": postal}),
    )
}

fn select(option: &str) -> Value {
    with_id(&uuid(), None, json!({"type": "select_shipping", "option": option}))
}

fn option<'a>(cart: &'a Value, name: &str) -> &'a Value {
    cart["shipping_options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["option"] == name)
        .unwrap_or_else(|| panic!("no option {name}: {cart}"))
}

fn problem_types(r: &Resp) -> Vec<String> {
    r.body["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", r.body))
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_destination_is_validated_and_stored_canonical() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    let r = s
        .mutate(
            &t,
            vec![
                destination("nl", "1234ab"),
                destination("DE", "1234"),
                destination("Deutschland", "10115"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "applied");
    for (i, message) in [
        (
            1,
            "destination postal_code \"1234\" is invalid: not a postal code of this country",
        ),
        (
            2,
            "destination country \"Deutschland\" is invalid: expected a two-letter ISO 3166-1 code",
        ),
    ] {
        assert_eq!(results[i]["status"], "rejected");
        assert_eq!(results[i]["error"]["code"], "invalid_destination");
        assert_eq!(results[i]["error"]["message"], message);
    }
    assert_eq!(
        r.body["cart"]["destination"],
        json!({"country": "NL", "postal_code": "1234 AB"})
    );
}

#[tokio::test]
async fn the_rendered_cart_judges_every_option_and_the_tax() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "lamp-desk", 1).await; // 2400 g, fragile
    let cart = s.mutate(&t, vec![destination("DE", "10115")]).await.body["cart"].clone();
    assert_eq!(cart["lines"][0]["weight_grams"], 2400);
    assert_eq!(cart["lines"][0]["shipping_class"], "fragile");
    let standard = option(&cart, "standard");
    assert_eq!(
        (&standard["status"], &standard["price"]["amount"]),
        (&json!("available"), &json!(490))
    );
    assert_eq!(option(&cart, "express")["price"]["amount"], 900);
    assert_eq!(option(&cart, "pickup")["price"]["amount"], 0);
    assert_eq!(
        option(&cart, "international")["reason"],
        json!({"code": "country_not_served", "country": "DE"})
    );
    // No option selected yet: no shipping in the total; 79.00 holds 19 %.
    let totals = &cart["totals"];
    assert_eq!(totals["shipping"], Value::Null);
    assert_eq!(totals["tax"]["amount"]["amount"], 1261); // 7900 × 1900 / 11900 = 1261.3
    assert_eq!(totals["estimated_total"]["amount"], 7900);
    assert_eq!(cart["rules"]["tax"]["prices_include_tax"], true);
    let cart = s.mutate(&t, vec![select("standard")]).await.body["cart"].clone();
    assert_eq!(cart["totals"]["shipping"]["amount"], 490);
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 8390);
    assert_eq!(cart["totals"]["tax"]["amount"]["amount"], 1340); // 8390 × 1900 / 11900 = 1339.6
}

#[tokio::test]
async fn selecting_an_option_that_cannot_take_the_bag_is_rejected_with_the_reason() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "lamp-desk", 1).await;
    s.add(&t, "blanket-wool", 1).await; // bulky
    let r = s
        .mutate(
            &t,
            vec![
                select("express"),
                destination("US", "94105"),
                select("standard"),
                select("international"),
                select("drone"),
            ],
        )
        .await;
    let results = r.body["results"].as_array().unwrap();
    let errors: Vec<(&Value, &Value)> = results.iter().map(|x| (&x["status"], &x["error"]["message"])).collect();
    assert_eq!(
        errors,
        vec![
            (&json!("rejected"), &json!("shipping option \"express\" cannot take this cart: it cannot carry blanket-wool (class bulky)")),
            (&json!("applied"), &Value::Null),
            (&json!("rejected"), &json!("shipping option \"standard\" cannot take this cart: it does not deliver to US")),
            (&json!("rejected"), &json!("shipping option \"international\" cannot take this cart: it cannot carry lamp-desk (class fragile)")),
            (&json!("rejected"), &json!("shipping option \"drone\" is not offered")),
        ]
    );
    assert_eq!(results[0]["error"]["code"], "shipping_option_unavailable");
    assert_eq!(results[4]["error"]["code"], "unknown_shipping_option");
    assert_eq!(r.body["cart"]["shipping_option"], Value::Null, "nothing was selected");
}

#[tokio::test]
async fn checkout_reports_shipping_unavailable_with_the_reason() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "mug-enamel", 1).await;
    let r = s.checkout(&t, "k1", 1600, None).await;
    assert_eq!(
        (r.status, problem_types(&r)),
        (StatusCode::CONFLICT, vec!["shipping_unavailable".to_string()])
    );
    assert_eq!(
        r.body["problems"][0],
        json!({"type": "shipping_unavailable", "option": null, "cause": {"code": "destination_required"}})
    );
    s.mutate(&t, vec![destination("FR", "75001")]).await;
    let r = s.checkout(&t, "k2", 1600, None).await;
    assert_eq!(r.body["problems"][0]["cause"], json!({"code": "not_selected"}));
    // Pick up serves DE only: chosen while the bag went to DE, it stays
    // selected when the destination moves to FR, and checkout says why.
    s.mutate(
        &t,
        vec![destination("DE", "10115"), select("pickup"), destination("FR", "75001")],
    )
    .await;
    let r = s.checkout(&t, "k3", 1600, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.body["problems"],
        json!([{"type": "shipping_unavailable", "option": "pickup", "cause": {"code": "country_not_served", "country": "FR"}}]),
        "only the shipping problem: totals follow the option the shopper picks next"
    );
    assert_eq!(option(&r.body["cart"], "pickup")["status"], "unavailable");
    assert_eq!(s.stock("mug-enamel").await, 45, "nothing held");
    let cart = s.mutate(&t, vec![select("standard")]).await.body["cart"].clone();
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 1600);
    let r = s.checkout_as_shown(&t, "k4").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["order"]["destination"]["country"], "FR");
    assert_eq!(r.body["order"]["totals"]["tax"]["rate_bp"], 2000);
}

#[tokio::test]
async fn a_bag_that_outgrows_its_option_is_reported_at_checkout() {
    let s = Server::new(false).await;
    let t = s.new_cart().await;
    s.add(&t, "sneaker-white", 1).await;
    s.ship_to(&t, "DE", "10115", "express", None).await;
    // 12 pairs weigh 10.8 kg: over express's 10 kg. The option stays
    // selected (the shopper is told, not switched).
    let cart = s.add(&t, "sneaker-white", 11).await;
    assert_eq!(cart["shipping_option"], "express");
    assert_eq!(
        option(&cart, "express")["reason"],
        json!({"code": "too_heavy", "weight_grams": 10800, "max_grams": 10000})
    );
    let r = s.checkout_as_shown(&t, "k").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.body["problems"],
        json!([{"type": "shipping_unavailable", "option": "express", "cause": {"code": "too_heavy", "weight_grams": 10800, "max_grams": 10000}}])
    );
}

#[tokio::test]
async fn a_tax_rate_change_is_reported_and_confirmed() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "hoodie-grey", 1).await;
    let cart = s.ship(&t).await;
    let seen_total = cart["totals"]["estimated_total"].clone();
    let seen_tax = cart["totals"]["tax"].clone();
    assert_eq!(
        (seen_total["amount"].as_i64(), seen_tax["amount"]["amount"].as_i64()),
        (Some(6900), Some(1102))
    );
    let r = s.admin_put("/api/v1/admin/tax/DE", json!({"rate_bp": 700})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let body = json!({"expected_total": seen_total, "expected_tax": seen_tax});
    let uri = format!("/api/v1/carts/{t}/checkout");
    let r = s
        .send(axum::http::Method::POST, &uri, Some(body), &[("idempotency-key", "k1")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Prices include tax: the total is the same, the tax inside it is not.
    assert_eq!(
        r.body["problems"],
        json!([{"type": "tax_changed", "country": "DE", "rate_bp": 700,
                "expected": {"amount": 1102, "currency": "EUR"}, "actual": {"amount": 451, "currency": "EUR"}}])
    );
    assert_eq!(r.body["cart"]["totals"]["tax"]["amount"]["amount"], 451);
    assert_eq!(s.stock("hoodie-grey").await, 15, "nothing held");
    let r = s.checkout_as_shown(&t, "k2").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["order"]["totals"]["tax"]["amount"]["amount"], 451);
    // (`{}` without `rate_bp`: found by schemathesis; `null` removes.)
    for bad in [json!({"rate_bp": 10_001}), json!({"rate": 1}), json!({})] {
        assert_eq!(
            s.admin_put("/api/v1/admin/tax/DE", bad).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        s.admin_put("/api/v1/admin/tax/de", json!({"rate_bp": 1})).await.status,
        StatusCode::BAD_REQUEST
    );
    // `null` removes the country's rate.
    let r = s.admin_put("/api/v1/admin/tax/DE", json!({"rate_bp": null})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(!r.body["rates"].as_array().unwrap().iter().any(|t| t["country"] == "DE"));
}

/// With prices that exclude tax, a rate change moves the total by exactly
/// the tax: `tax_changed` explains it (no `total_changed` besides).
#[tokio::test]
async fn exclusive_tax_changes_the_total_and_tax_changed_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog: Value = serde_json::from_str(cartsync_server::catalog::BUNDLED).unwrap();
    catalog["tax"]["prices_include_tax"] = json!(false);
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, catalog.to_string()).unwrap();
    let mut cfg = config(&dir.path().join("c.db"), true);
    cfg.catalog = Some(path);
    let s = Server::with_config(cfg).await;
    let t = s.new_cart().await;
    s.add(&t, "mug-enamel", 1).await;
    let cart = s.ship(&t).await;
    assert_eq!(cart["totals"]["tax"]["included"], false);
    assert_eq!(cart["totals"]["estimated_total"]["amount"], 1904); // 16.00 + 19 %
    s.admin_put("/api/v1/admin/tax/DE", json!({"rate_bp": 2000})).await;
    let body = json!({"expected_total": cart["totals"]["estimated_total"], "expected_tax": cart["totals"]["tax"]});
    let uri = format!("/api/v1/carts/{t}/checkout");
    let r = s
        .send(axum::http::Method::POST, &uri, Some(body), &[("idempotency-key", "k")])
        .await;
    assert_eq!(problem_types(&r), vec!["tax_changed".to_string()]);
    assert_eq!(r.body["problems"][0]["actual"]["amount"], 320);
    assert_eq!(r.body["cart"]["totals"]["estimated_total"]["amount"], 1920);
}

/// A price change moves the VAT inside the total too: reported once, as
/// the price change (with the new total), not as a second `tax_changed`;
/// a rate change is always reported.
#[tokio::test]
async fn a_price_change_does_not_also_report_the_tax_it_moves() {
    let s = Server::new(true).await;
    let t = s.new_cart().await;
    s.add(&t, "mug-enamel", 1).await;
    s.ship(&t).await;
    let seen = s.cart(&t).await["totals"].clone();
    s.admin_put(
        "/api/v1/admin/catalog/mug-enamel",
        json!({"price": {"amount": 1900, "currency": "EUR"}}),
    )
    .await;
    let body = json!({"expected_total": seen["estimated_total"], "expected_tax": seen["tax"]});
    let uri = format!("/api/v1/carts/{t}/checkout");
    let r = s
        .send(
            axum::http::Method::POST,
            &uri,
            Some(body.clone()),
            &[("idempotency-key", "k")],
        )
        .await;
    assert_eq!(problem_types(&r), vec!["price_changed".to_string()]);
    s.admin_put("/api/v1/admin/tax/DE", json!({"rate_bp": 1600})).await;
    let r = s
        .send(axum::http::Method::POST, &uri, Some(body), &[("idempotency-key", "k2")])
        .await;
    assert_eq!(
        problem_types(&r),
        vec!["price_changed".to_string(), "tax_changed".to_string()]
    );
}
