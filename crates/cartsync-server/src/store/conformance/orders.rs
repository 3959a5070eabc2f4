//! Conformance checks of orders: the checkout commit and its stock holds,
//! all or nothing, also under concurrency. (Payments: `payments.rs`.)

use super::*;
use crate::store::{OrderCommit, OrderCommitted, StoredOrder};
use cartsync_core::protocol::v1::OrderStatus;

/// An order as checkout builds it, holding its stock until `hold_until`.
pub(super) fn order(id: &str, hold_until: u64) -> Order {
    Order {
        id: id.into(),
        status: OrderStatus::PendingPayment,
        lines: vec![],
        coupons: vec![],
        shipping_option: Some("standard".into()),
        destination: None,
        totals: Totals {
            subtotal: Money::new(1000, "EUR"),
            discount: Money::zero("EUR"),
            shipping: None,
            tax: None,
            estimated_total: Money::new(1000, "EUR"),
        },
        created_at: 1,
        hold_until,
        payment: None,
    }
}

/// Commits `order` for `cart` (at `version`) holding `holds`; panics unless
/// it was ordered.
pub(super) async fn place(s: &dyn CartStore, cart: i64, version: u64, key: &str, order: &Order, holds: &[(&str, u32)]) {
    let holds: Vec<(Sku, u32)> = holds.iter().map(|(sku, n)| (Sku::new(*sku), *n)).collect();
    let commit = OrderCommit {
        cart,
        expected_version: version,
        key,
        order,
        holds: &holds,
    };
    assert_eq!(s.commit_order(commit).await.expect("commit"), OrderCommitted::Ordered);
}

pub(super) async fn stock(s: &dyn CartStore, sku: &str) -> u32 {
    s.stock(&Sku::new(sku)).await.expect("stock").expect("tracked")
}

pub(super) async fn stored(s: &dyn CartStore, id: &str) -> StoredOrder {
    s.order(id).await.expect("order").expect("stored")
}

/// A cart with one mutation applied (version 1).
pub(super) async fn cart(s: &dyn CartStore, n: u8) -> i64 {
    let r = s.create_cart(&token(n), 10).await.expect("create");
    commit(s, r.id, &[add(u128::from(n) * 100, "tee", 1)], 20)
        .await
        .expect("commit");
    r.id
}

pub async fn order_closes_once(s: &dyn CartStore) {
    let id = cart(s, 1).await;
    s.set_stock(&Sku::new("tee"), 5).await.expect("stock");
    let o1 = order("o1", 100);
    let stale = OrderCommit {
        cart: id,
        expected_version: 0,
        key: "k",
        order: &o1,
        holds: &[],
    };
    assert!(matches!(
        s.commit_order(stale).await,
        Err(StoreError::VersionConflict { expected: 0, found: 1 })
    ));
    place(s, id, 1, "k", &o1, &[("tee", 1)]).await;
    assert_eq!(s.order_for_key(id, "k").await.expect("lookup"), Some(o1.clone()));
    assert_eq!(s.order_for_key(id, "other").await.expect("lookup"), None);
    let found = stored(s, "o1").await;
    assert_eq!((found.order, found.cart, found.owner), (o1, id, None));
    assert_eq!(s.order("nope").await.expect("lookup"), None);
    assert_eq!(
        s.load(id).await.expect("load").state,
        CartState::Closed { order_id: "o1".into() }
    );
    let again = order("o2", 100);
    let closed = OrderCommit {
        cart: id,
        expected_version: 1,
        key: "k2",
        order: &again,
        holds: &[],
    };
    assert!(matches!(
        s.commit_order(closed).await,
        Err(StoreError::VersionConflict { .. })
    ));
    let d = decide_batch(
        &s.load(id).await.expect("load").cart,
        &BTreeMap::new(),
        &[add(2, "mug", 1)],
        &Limits::default(),
        &(),
        30,
    )
    .expect("decide");
    assert!(
        matches!(
            s.commit_batch(BatchCommit::new(id, 1, &d, &[], 30)).await,
            Err(StoreError::VersionConflict { .. })
        ),
        "closed carts take no mutations"
    );
}

/// The order's stock is taken in its transaction, all or nothing: a short
/// SKU writes nothing (cart open, stock as it was, no order).
pub async fn order_holds_its_stock_all_or_nothing(s: &dyn CartStore) {
    let id = cart(s, 1).await;
    s.set_stock(&Sku::new("tee"), 3).await.expect("stock");
    s.set_stock(&Sku::new("mug"), 1).await.expect("stock");
    let o = order("o1", 100);
    let holds = [(Sku::new("mug"), 2), (Sku::new("tee"), 2), (Sku::new("gone"), 1)];
    let commit = OrderCommit {
        cart: id,
        expected_version: 1,
        key: "k",
        order: &o,
        holds: &holds,
    };
    match s.commit_order(commit).await.expect("commit") {
        OrderCommitted::OutOfStock(mut short) => {
            short.sort_by(|a, b| a.sku.cmp(&b.sku));
            let got: Vec<_> = short
                .iter()
                .map(|x| (x.sku.as_str(), x.requested, x.available))
                .collect();
            assert_eq!(got, vec![("gone", 1, 0), ("mug", 2, 1)]);
        }
        other => panic!("expected out of stock, got {other:?}"),
    }
    assert_eq!((stock(s, "tee").await, stock(s, "mug").await), (3, 1), "nothing taken");
    assert_eq!(s.load(id).await.expect("load").state, CartState::Open);
    assert_eq!(s.order("o1").await.expect("lookup"), None);
    place(s, id, 1, "k", &o, &[("mug", 1), ("tee", 2)]).await;
    assert_eq!((stock(s, "tee").await, stock(s, "mug").await), (1, 0));
}

/// Eight carts commit an order for the last unit at once: one order, seven
/// shortfalls, stock 0.
pub async fn concurrent_orders_of_the_last_unit(s: &dyn CartStore) {
    s.set_stock(&Sku::new("vase"), 1).await.expect("stock");
    let mut carts = Vec::new();
    for n in 1..=8u8 {
        carts.push(cart(s, n).await);
    }
    let orders: Vec<Order> = (1..=8).map(|n| order(&format!("o{n}"), 100)).collect();
    let holds = [(Sku::new("vase"), 1)];
    let attempts = carts.iter().zip(&orders).map(|(id, o)| {
        s.commit_order(OrderCommit {
            cart: *id,
            expected_version: 1,
            key: "k",
            order: o,
            holds: &holds,
        })
    });
    let results = futures_join_all(attempts).await;
    let ordered = results
        .iter()
        .filter(|r| matches!(r, Ok(OrderCommitted::Ordered)))
        .count();
    let short = results
        .iter()
        .filter(|r| matches!(r, Ok(OrderCommitted::OutOfStock(s)) if s[0].available == 0))
        .count();
    assert_eq!((ordered, short), (1, 7), "{results:?}");
    assert_eq!(stock(s, "vase").await, 0);
}

/// Runs the futures concurrently (on one task: the stores' own threads and
/// connections do the waiting).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
