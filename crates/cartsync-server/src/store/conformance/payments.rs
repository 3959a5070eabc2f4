//! Conformance checks of payments: intents kept per idempotency key,
//! provider events applied once each (paid, failed, late money), expired
//! holds, and a payment racing the expiry sweep.

use super::orders::{cart, order, place, stock, stored};
use super::*;
use crate::store::{EventApplied, EventOutcome, IntentRef, NewIntent, PaymentEvent, PaymentEventKind};
use cartsync_core::protocol::v1::{NextAction, OrderStatus, PaymentIntent, PaymentStatus};

fn intent(id: &str, reference: &str) -> PaymentIntent {
    PaymentIntent {
        id: id.into(),
        provider: "bank".into(),
        status: PaymentStatus::RequiresAction,
        amount: Money::new(1000, "EUR"),
        next_action: Some(NextAction::BankTransfer {
            beneficiary: "B".into(),
            iban: "DE00".into(),
            bic: "X".into(),
            reference: reference.into(),
            amount: Money::new(1000, "EUR"),
            pay_by: 100,
        }),
        created_at: 5,
    }
}

/// Gives `order` the intent `pi_<order>` with reference `R-<order>`.
async fn pay_by_transfer(s: &dyn CartStore, order: &str) -> PaymentIntent {
    let (id, reference) = (format!("pi_{order}"), format!("R-{order}"));
    s.put_payment_intent(NewIntent {
        provider: "bank",
        idempotency_key: &format!("key-{order}"),
        order_id: order,
        intent: &intent(&id, &reference),
        reference: Some(&reference),
    })
    .await
    .expect("intent")
}

fn event(id: &str, order: &str, signed_at: u64, kind: PaymentEventKind) -> PaymentEvent {
    let mut hash = [0u8; 32];
    hash[..id.len().min(32)].copy_from_slice(&id.as_bytes()[..id.len().min(32)]);
    hash[31] = matches!(kind, PaymentEventKind::Captured { .. }) as u8;
    PaymentEvent {
        provider: "bank".into(),
        event_id: id.into(),
        signed_at,
        body_hash: hash,
        intent: IntentRef::Reference(format!("R-{order}")),
        kind,
        now: 50,
    }
}

fn captured() -> PaymentEventKind {
    PaymentEventKind::Captured {
        amount: Money::new(1000, "EUR"),
    }
}

fn failed() -> PaymentEventKind {
    PaymentEventKind::Failed {
        reason: "returned".into(),
    }
}

async fn outcome(s: &dyn CartStore, e: &PaymentEvent) -> EventOutcome {
    match s.apply_payment_event(e).await.expect("event") {
        EventApplied::Applied { outcome, .. } => outcome,
        other => panic!("expected the event to apply, got {other:?}"),
    }
}

/// One intent per idempotency key: asking again returns the first one, and
/// the order carries it.
pub async fn payment_intent_is_kept_per_key(s: &dyn CartStore) {
    let id = cart(s, 1).await;
    place(s, id, 1, "k", &order("o1", 100), &[]).await;
    let first = pay_by_transfer(s, "o1").await;
    assert_eq!(first, intent("pi_o1", "R-o1"));
    let mut other = intent("pi_other", "R-other");
    other.amount = Money::new(1, "EUR");
    let again = s
        .put_payment_intent(NewIntent {
            provider: "bank",
            idempotency_key: "key-o1",
            order_id: "o1",
            intent: &other,
            reference: Some("R-other"),
        })
        .await
        .expect("intent");
    assert_eq!(again, first, "the intent made first stands");
    let shown = stored(s, "o1").await.order;
    assert_eq!(shown.payment.as_deref(), Some(&first));
    assert_eq!(s.order_for_key(id, "k").await.expect("lookup"), Some(shown));
}

/// The money arrives: the order is paid, its intent succeeded (nothing more
/// to do), the stock stays taken for good (an expiry sweep leaves it).
pub async fn captured_payment_marks_paid_and_keeps_the_stock(s: &dyn CartStore) {
    s.set_stock(&Sku::new("tee"), 4).await.expect("stock");
    let id = cart(s, 1).await;
    place(s, id, 1, "k", &order("o1", 100), &[("tee", 3)]).await;
    pay_by_transfer(s, "o1").await;
    assert_eq!(outcome(s, &event("e1", "o1", 10, captured())).await, EventOutcome::Paid);
    let o = stored(s, "o1").await.order;
    assert_eq!(o.status, OrderStatus::Paid);
    let intent = o.payment.expect("intent");
    assert_eq!((intent.status, intent.next_action), (PaymentStatus::Succeeded, None));
    assert_eq!(s.expire_holds(1_000, 10).await.expect("sweep"), Vec::<String>::new());
    assert_eq!(stock(s, "tee").await, 1);
    assert_eq!(
        outcome(s, &event("e2", "o1", 11, captured())).await,
        EventOutcome::AlreadyPaid
    );
    assert_eq!(
        outcome(s, &event("e3", "o1", 12, failed())).await,
        EventOutcome::Ignored
    );
    assert_eq!(stored(s, "o1").await.order.status, OrderStatus::Paid);
}

/// A failed payment gives the stock back at once; money arriving later
/// takes it again if it is still there, else the intent is refund_due.
pub async fn failed_payment_releases_the_stock_at_once(s: &dyn CartStore) {
    s.set_stock(&Sku::new("tee"), 2).await.expect("stock");
    let (a, b) = (cart(s, 1).await, cart(s, 2).await);
    place(s, a, 1, "k", &order("o1", 100), &[("tee", 2)]).await;
    pay_by_transfer(s, "o1").await;
    assert_eq!(
        outcome(s, &event("e1", "o1", 10, failed())).await,
        EventOutcome::PaymentFailed
    );
    assert_eq!(stock(s, "tee").await, 2, "released at once");
    let o = stored(s, "o1").await.order;
    assert_eq!(o.status, OrderStatus::PaymentFailed);
    assert_eq!(o.payment.map(|p| p.status), Some(PaymentStatus::Failed));
    // Late money while the stock is still there: the order is served.
    assert_eq!(outcome(s, &event("e2", "o1", 11, captured())).await, EventOutcome::Paid);
    assert_eq!(
        (stored(s, "o1").await.order.status, stock(s, "tee").await),
        (OrderStatus::Paid, 0)
    );
    // An order whose stock went to someone else: money owed back.
    s.set_stock(&Sku::new("tee"), 1).await.expect("stock");
    place(s, b, 1, "k", &order("o2", 100), &[("tee", 1)]).await;
    pay_by_transfer(s, "o2").await;
    assert_eq!(
        outcome(s, &event("e3", "o2", 12, failed())).await,
        EventOutcome::PaymentFailed
    );
    s.set_stock(&Sku::new("tee"), 0).await.expect("sold elsewhere");
    assert_eq!(
        outcome(s, &event("e4", "o2", 13, captured())).await,
        EventOutcome::RefundDue
    );
    let o = stored(s, "o2").await.order;
    assert_eq!(
        (o.status, o.payment.map(|p| p.status)),
        (OrderStatus::PaymentFailed, Some(PaymentStatus::RefundDue))
    );
    assert_eq!(stock(s, "tee").await, 0);
}

/// Each event id applies once: resent with a new signature it is a
/// duplicate with the first outcome; the same signed message again is a
/// replay; the id with another body is refused; an unknown reference and
/// a wrong amount change nothing.
pub async fn payment_events_apply_once(s: &dyn CartStore) {
    s.set_stock(&Sku::new("tee"), 5).await.expect("stock");
    let id = cart(s, 1).await;
    place(s, id, 1, "k", &order("o1", 100), &[("tee", 1)]).await;
    pay_by_transfer(s, "o1").await;
    let mut wrong = event(
        "e0",
        "o1",
        9,
        PaymentEventKind::Captured {
            amount: Money::new(999, "EUR"),
        },
    );
    wrong.body_hash[30] = 1;
    assert_eq!(outcome(s, &wrong).await, EventOutcome::AmountMismatch);
    assert_eq!(stored(s, "o1").await.order.status, OrderStatus::PendingPayment);
    let e = event("e1", "o1", 10, failed());
    assert_eq!(outcome(s, &e).await, EventOutcome::PaymentFailed);
    let retried = PaymentEvent {
        signed_at: 20,
        ..e.clone()
    };
    match s.apply_payment_event(&retried).await.expect("retry") {
        EventApplied::Duplicate { outcome, order } => {
            assert_eq!(
                (outcome, order.status),
                (EventOutcome::PaymentFailed, OrderStatus::PaymentFailed)
            );
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(stock(s, "tee").await, 5, "released once, not twice");
    assert_eq!(s.apply_payment_event(&e).await.expect("replay"), EventApplied::Replayed);
    let mut reused = PaymentEvent {
        signed_at: 30,
        ..e.clone()
    };
    reused.body_hash[0] ^= 1;
    assert_eq!(
        s.apply_payment_event(&reused).await.expect("reuse"),
        EventApplied::EventIdReused
    );
    let lost = PaymentEvent {
        intent: IntentRef::Reference("R-nobody".into()),
        event_id: "e9".into(),
        ..e.clone()
    };
    assert_eq!(
        s.apply_payment_event(&lost).await.expect("unknown"),
        EventApplied::UnknownIntent
    );
    let by_id = PaymentEvent {
        intent: IntentRef::Id("pi_o1".into()),
        ..event("e5", "o1", 40, captured())
    };
    assert_eq!(
        outcome(s, &by_id).await,
        EventOutcome::Paid,
        "late money, stock still there"
    );
}

/// Unpaid orders whose hold ran out give their stock back and expire, their
/// intents canceled; orders still within their hold and paid ones stay.
pub async fn expired_holds_are_released(s: &dyn CartStore) {
    s.set_stock(&Sku::new("tee"), 10).await.expect("stock");
    s.set_stock(&Sku::new("mug"), 10).await.expect("stock");
    let (a, b, c) = (cart(s, 1).await, cart(s, 2).await, cart(s, 3).await);
    place(s, a, 1, "k", &order("o1", 100), &[("mug", 1), ("tee", 2)]).await;
    place(s, b, 1, "k", &order("o2", 10_000), &[("tee", 3)]).await;
    place(s, c, 1, "k", &order("o3", 100), &[("tee", 1)]).await;
    pay_by_transfer(s, "o1").await;
    pay_by_transfer(s, "o3").await;
    assert_eq!(outcome(s, &event("e1", "o3", 10, captured())).await, EventOutcome::Paid);
    assert_eq!(stock(s, "tee").await, 4);
    assert_eq!(
        s.expire_holds(99, 10).await.expect("sweep"),
        Vec::<String>::new(),
        "not yet"
    );
    assert_eq!(s.expire_holds(5_000, 10).await.expect("sweep"), vec!["o1".to_string()]);
    assert_eq!((stock(s, "tee").await, stock(s, "mug").await), (6, 10));
    let o1 = stored(s, "o1").await.order;
    assert_eq!(
        (o1.status, o1.payment.map(|p| (p.status, p.next_action))),
        (OrderStatus::Expired, Some((PaymentStatus::Canceled, None)))
    );
    assert_eq!(stored(s, "o2").await.order.status, OrderStatus::PendingPayment);
    assert_eq!(s.expire_holds(5_000, 10).await.expect("again"), Vec::<String>::new());
    assert_eq!(s.expire_holds(20_000, 1).await.expect("o2 now"), vec!["o2".to_string()]);
    assert_eq!(stock(s, "tee").await, 9);
}

/// Money arriving while the sweep expires the same order: whichever comes
/// first, the order and the stock agree (paid with its units taken, or
/// expired with them back), and no unit is lost or made up.
pub async fn payment_racing_expiry_keeps_stock_consistent(s: &dyn CartStore) {
    s.set_stock(&Sku::new("tee"), 6).await.expect("stock");
    for round in 0..6u8 {
        let id = cart(s, 10 + round).await;
        let name = format!("r{round}");
        place(s, id, 1, "k", &order(&name, 100), &[("tee", 1)]).await;
        pay_by_transfer(s, &name).await;
        let pay = event(&format!("pay-{round}"), &name, 10, captured());
        let (paid, swept) = tokio::join!(s.apply_payment_event(&pay), s.expire_holds(5_000, 10));
        paid.expect("event");
        swept.expect("sweep");
        // A payment that lost the race was applied to an expired order:
        // late money takes the stock again, as it is still there.
        let o = stored(s, &name).await.order;
        assert_eq!(o.status, OrderStatus::Paid, "round {round}");
    }
    assert_eq!(stock(s, "tee").await, 0, "six units sold, none lost or made up");
}
