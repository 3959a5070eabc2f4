//! Mutations decided on a process's hot copy of a cart (no store read)
//! stay correct when the copy is stale: another process wrote, closed or
//! answered the cart, or the recovery worker repaired its snapshot. The
//! commit's condition catches each, and the batch is decided again on what
//! is stored.

mod common;

use axum::http::{Method, StatusCode};
use common::*;

fn retries(s: &Server) -> u64 {
    s.app.metrics.store_retries.get()
}

fn lines(cart: &serde_json::Value) -> usize {
    cart["lines"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_copy_made_stale_by_another_process_is_decided_again() {
    let a = Server::new(false).await;
    let t = a.new_cart().await;
    a.add(&t, "tee-black", 1).await; // A's copy: version 1
    let b = Server::on(&a.db, false).await;
    assert_eq!(b.add(&t, "mug-enamel", 1).await["version"], 2);
    let before = retries(&a);
    let cart = a.add(&t, "cap-canvas", 1).await;
    assert_eq!((cart["version"].as_u64(), lines(&cart)), (Some(3), 3));
    assert_eq!(retries(&a), before + 1, "the stale copy lost its commit once");
    // A's copy is current again: the next mutation commits on it.
    assert_eq!(a.add(&t, "tee-black", 1).await["version"], 4);
    assert_eq!(retries(&a), before + 1);
    assert_eq!(b.cart(&t).await["version"], 4);
}

#[tokio::test]
async fn a_resend_to_a_process_with_a_hot_copy_gets_the_stored_result() {
    let a = Server::new(false).await;
    let t = a.new_cart().await;
    let b = Server::on(&a.db, false).await;
    b.add(&t, "tee-black", 1).await; // B has a copy
    let m = add("mug-enamel", 2);
    let first = a.mutate(&t, vec![m.clone()]).await;
    assert_eq!(first.body["results"][0]["status"], "applied");
    assert_eq!(first.body["results"][0]["version"], 2);
    // B's copy (version 1) knows nothing of `m`; the store does.
    let resent = b.mutate(&t, vec![m.clone()]).await;
    assert_eq!(resent.status, StatusCode::OK);
    assert_eq!(resent.body["results"][0]["status"], "duplicate");
    assert_eq!(resent.body["results"][0]["version"], 2);
    assert_eq!(quantity_of(&resent.body["cart"], "mug-enamel"), 2);
    // And to A, whose copy is current: the record is found all the same.
    let again = a.mutate(&t, vec![m]).await;
    assert_eq!(again.body["results"][0]["status"], "duplicate");
    assert_eq!(again.body["cart"]["version"], 2);
}

#[tokio::test]
async fn a_cart_closed_in_another_process_refuses_mutations() {
    let a = Server::new(false).await;
    let t = a.new_cart().await;
    a.add(&t, "tee-black", 1).await;
    let cart = a.ship(&t).await;
    let b = Server::on(&a.db, false).await;
    let total = cart["totals"]["estimated_total"]["amount"].as_i64().unwrap();
    assert_eq!(b.checkout(&t, "k1", total, None).await.status, StatusCode::CREATED);
    let r = a.mutate(&t, vec![add("mug-enamel", 1)]).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "cart_closed"));
}

#[tokio::test]
async fn a_repair_at_the_same_version_is_not_overwritten_by_the_copy() {
    let a = Server::new(false).await;
    let t = a.new_cart().await;
    a.add(&t, "tee-black", 1).await;
    a.add(&t, "mug-enamel", 1).await; // A's copy: two lines, version 2
    let hash = cartsync_server::tokens::hash(&t).unwrap();
    let stored = a.app.store.load_by_token(&hash).await.unwrap();
    let mut repaired = stored.cart.clone();
    repaired.lines.retain(|l| l.sku.as_str() == "tee-black");
    // Another process's recovery worker, say: same version, other lines.
    a.app.store.repair_snapshot(stored.id, 2, &repaired).await.unwrap();
    let cart = a.add(&t, "cap-canvas", 1).await;
    assert_eq!(cart["version"], 3);
    assert_eq!(quantity_of(&cart, "mug-enamel"), 0, "decided on the repaired snapshot");
    assert_eq!(lines(&cart), 2);
}

#[tokio::test]
async fn a_cart_merged_in_another_process_is_gone_even_for_a_batch_the_copy_refuses() {
    let a = Server::new(true).await;
    let t = a.new_cart().await;
    a.add(&t, "tee-black", 1).await;
    let b = Server::on(&a.db, true).await;
    let jwt = b.login("ada").await;
    let auth = format!("Bearer {jwt}");
    let path = format!("/api/v1/carts/{t}/attach");
    let attached = b.send(Method::POST, &path, None, &[("authorization", &auth)]).await;
    assert_eq!(attached.status, StatusCode::OK, "{:?}", attached.body);
    let too_many: Vec<_> = (0..101).map(|_| add("mug-enamel", 1)).collect();
    for batch in [too_many, vec![add("mug-enamel", 1)]] {
        let r = a.mutate(&t, batch).await;
        assert_eq!((r.status, r.code()), (StatusCode::GONE, "cart_merged"));
    }
}
