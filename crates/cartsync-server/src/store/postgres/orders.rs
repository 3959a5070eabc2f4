//! Orders on PostgreSQL: the checkout commit (cart closed, order stored,
//! stock held), reading orders with their status and intent, payment
//! intents, provider events and the release of expired holds. Each is one
//! transaction under READ COMMITTED with explicit row locks, always taken
//! in one order so that concurrent transactions never deadlock: a cart or
//! an order first, then inventory rows in SKU order. A conditional
//! decrement (`stock >= n`) that waits for another transaction re-checks
//! its condition on the committed stock, so the last unit sells once
//! whichever instances the shoppers reach.

use super::connect::classify;
use super::rows::{to_i64, to_u64};
use super::{json, parse, PostgresStore, Result};
use crate::store::{
    compose, intent_now, CartId, EventApplied, EventOutcome, IntentRef, NewIntent, OrderCommit, OrderCommitted,
    PaymentEvent, PaymentEventKind, Shortfall, StoreError, StoredOrder,
};
use cartsync_core::protocol::v1::{Order, OrderStatus, PaymentIntent, PaymentStatus};
use cartsync_core::Sku;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(StoreError::backend)
}

fn bad_state(what: &str) -> StoreError {
    #[derive(Debug, thiserror::Error)]
    #[error("unreadable {0} in the database")]
    struct Unreadable(String);
    StoreError::backend(Unreadable(what.to_string()))
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Takes `n` units of `sku` if there are that many (waiting for, then
/// re-checking against, a concurrent change of the row).
async fn take(tx: &Transaction<'_>, sku: &Sku, n: u32) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE inventory SET stock = stock - $1 WHERE sku = $2 AND stock >= $1",
            &[&count(n), &sku.as_str()],
        )
        .await
        .map_err(classify)?;
    Ok(changed == 1)
}

async fn stock_of(tx: &Transaction<'_>, sku: &Sku) -> Result<u32> {
    let row = tx
        .query_opt("SELECT stock FROM inventory WHERE sku = $1", &[&sku.as_str()])
        .await
        .map_err(classify)?;
    let stock: i32 = match &row {
        Some(r) => get(r, 0)?,
        None => 0,
    };
    Ok(u32::try_from(stock).unwrap_or(0))
}

/// Takes every `(sku, n)` (SKU order) or reports what is short; the caller
/// rolls back on a shortfall.
async fn take_all(tx: &Transaction<'_>, holds: &[(Sku, u32)]) -> Result<Vec<Shortfall>> {
    let mut sorted = holds.to_vec();
    sorted.sort();
    let mut short = Vec::new();
    for (sku, n) in &sorted {
        if !take(tx, sku, *n).await? {
            short.push(Shortfall {
                sku: sku.clone(),
                requested: *n,
                available: stock_of(tx, sku).await?,
            });
        }
    }
    Ok(short)
}

/// [`crate::store::CartStore::commit_order`].
pub(super) async fn commit_order(store: &PostgresStore, c: &OrderCommit<'_>) -> Result<OrderCommitted> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(classify)?;
    let row = tx
        .query_opt("SELECT version, state FROM carts WHERE id = $1 FOR UPDATE", &[&c.cart])
        .await
        .map_err(classify)?
        .ok_or(StoreError::NotFound)?;
    let (version, state): (i64, &str) = (get(&row, 0)?, get(&row, 1)?);
    if to_u64(version) != c.expected_version || state != "open" {
        return Err(StoreError::VersionConflict {
            expected: c.expected_version,
            found: to_u64(version),
        });
    }
    let short = take_all(&tx, c.holds).await?;
    if !short.is_empty() {
        // Dropping the transaction rolls back the units that were taken.
        return Ok(OrderCommitted::OutOfStock(short));
    }
    tx.execute(
        "UPDATE carts SET state = 'closed', order_id = $1, revision = revision + 1 WHERE id = $2",
        &[&c.order.id, &c.cart],
    )
    .await
    .map_err(classify)?;
    let now = to_i64(c.order.created_at);
    tx.execute(
        "INSERT INTO orders (id, cart_id, idempotency_key, body, created_at, status, hold_until, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'pending_payment', $6, $5)",
        &[
            &c.order.id,
            &c.cart,
            &c.key,
            &json(c.order)?,
            &now,
            &to_i64(c.order.hold_until),
        ],
    )
    .await
    .map_err(classify)?;
    let skus: Vec<&str> = c.holds.iter().map(|(s, _)| s.as_str()).collect();
    let units: Vec<i32> = c.holds.iter().map(|(_, n)| count(*n)).collect();
    tx.execute(
        "INSERT INTO stock_holds (order_id, sku, quantity, state)
         SELECT $1, sku, quantity, 'held' FROM unnest($2::TEXT[], $3::INT[]) AS h (sku, quantity)",
        &[&c.order.id, &skus, &units],
    )
    .await
    .map_err(classify)?;
    tx.commit().await.map_err(classify)?;
    Ok(OrderCommitted::Ordered)
}

const ORDER_SQL: &str = "SELECT o.body, o.status, o.cart_id, c.owner, i.body, i.status
     FROM orders o JOIN carts c ON c.id = o.cart_id LEFT JOIN payment_intents i ON i.order_id = o.id";

fn stored_order(row: &Row) -> Result<StoredOrder> {
    let intent = match (get::<Option<&str>>(row, 4)?, get::<Option<&str>>(row, 5)?) {
        (Some(body), Some(status)) => Some((
            parse::<PaymentIntent>(body)?,
            PaymentStatus::parse(status).ok_or_else(|| bad_state("payment status"))?,
        )),
        _ => None,
    };
    let status = OrderStatus::parse(get(row, 1)?).ok_or_else(|| bad_state("order status"))?;
    Ok(StoredOrder {
        order: compose(parse(get(row, 0)?)?, status, intent),
        cart: get(row, 2)?,
        owner: get(row, 3)?,
    })
}

pub(super) async fn order_for_key(store: &PostgresStore, cart: CartId, key: &str) -> Result<Option<Order>> {
    let sql = format!("{ORDER_SQL} WHERE o.cart_id = $1 AND o.idempotency_key = $2");
    let rows = store.query(&sql, &[&cart, &key]).await?;
    rows.first().map(|r| stored_order(r).map(|s| s.order)).transpose()
}

pub(super) async fn order(store: &PostgresStore, id: &str) -> Result<Option<StoredOrder>> {
    let sql = format!("{ORDER_SQL} WHERE o.id = $1");
    let rows = store.query(&sql, &[&id]).await?;
    rows.first().map(stored_order).transpose()
}

async fn order_in(tx: &Transaction<'_>, id: &str) -> Result<Order> {
    let row = tx
        .query_opt(&format!("{ORDER_SQL} WHERE o.id = $1"), &[&id])
        .await
        .map_err(classify)?
        .ok_or(StoreError::NotFound)?;
    Ok(stored_order(&row)?.order)
}

/// [`crate::store::CartStore::put_payment_intent`].
pub(super) async fn put_intent(store: &PostgresStore, n: &NewIntent<'_>) -> Result<PaymentIntent> {
    let now = to_i64(n.intent.created_at);
    store
        .execute(
            "INSERT INTO payment_intents (id, provider, idempotency_key, order_id, reference, status, body, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (provider, idempotency_key) DO NOTHING",
            &[
                &n.intent.id,
                &n.provider,
                &n.idempotency_key,
                &n.order_id,
                &n.reference,
                &n.intent.status.as_str(),
                &json(n.intent)?,
                &now,
            ],
        )
        .await?;
    let rows = store
        .query(
            "SELECT body, status FROM payment_intents WHERE provider = $1 AND idempotency_key = $2",
            &[&n.provider, &n.idempotency_key],
        )
        .await?;
    let row = rows.first().ok_or(StoreError::NotFound)?;
    let status = PaymentStatus::parse(get(row, 1)?).ok_or_else(|| bad_state("payment status"))?;
    Ok(intent_now(parse(get(row, 0)?)?, status))
}

async fn set_order(tx: &Transaction<'_>, id: &str, status: OrderStatus, now: u64) -> Result<()> {
    tx.execute(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3",
        &[&status.as_str(), &to_i64(now), &id],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

async fn set_intent(tx: &Transaction<'_>, id: &str, status: PaymentStatus, now: u64) -> Result<()> {
    tx.execute(
        "UPDATE payment_intents SET status = $1, updated_at = $2 WHERE id = $3",
        &[&status.as_str(), &to_i64(now), &id],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

async fn holds(tx: &Transaction<'_>, order: &str, state: &str) -> Result<Vec<(Sku, u32)>> {
    let rows = tx
        .query(
            "SELECT sku, quantity FROM stock_holds WHERE order_id = $1 AND state = $2 ORDER BY sku",
            &[&order, &state],
        )
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|r| Ok((Sku(get(r, 0)?), u32::try_from(get::<i32>(r, 1)?).unwrap_or(0))))
        .collect()
}

async fn mark_holds(tx: &Transaction<'_>, order: &str, from: &str, to: &str) -> Result<()> {
    tx.execute(
        "UPDATE stock_holds SET state = $1 WHERE order_id = $2 AND state = $3",
        &[&to, &order, &from],
    )
    .await
    .map_err(classify)?;
    Ok(())
}

/// Gives an order's held stock back (SKU order).
async fn release(tx: &Transaction<'_>, order: &str) -> Result<()> {
    for (sku, n) in holds(tx, order, "held").await? {
        tx.execute(
            "UPDATE inventory SET stock = stock + $1 WHERE sku = $2",
            &[&count(n), &sku.as_str()],
        )
        .await
        .map_err(classify)?;
    }
    mark_holds(tx, order, "held", "released").await
}

/// [`crate::store::CartStore::apply_payment_event`]: the intent, then its
/// order locked, then the event's row read again under that lock (so two
/// deliveries of one event at once apply it once).
pub(super) async fn apply_event(store: &PostgresStore, e: &PaymentEvent) -> Result<EventApplied> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(classify)?;
    let (column, value) = match &e.intent {
        IntentRef::Id(id) => ("id", id),
        IntentRef::Reference(r) => ("reference", r),
    };
    let found = tx
        .query_opt(
            &format!("SELECT id, order_id, body FROM payment_intents WHERE provider = $1 AND {column} = $2"),
            &[&e.provider, value],
        )
        .await
        .map_err(classify)?;
    let Some(found) = found else {
        return Ok(EventApplied::UnknownIntent);
    };
    let (intent_id, order_id): (String, String) = (get(&found, 0)?, get(&found, 1)?);
    let intent: PaymentIntent = parse(get(&found, 2)?)?;
    let status_row = tx
        .query_one("SELECT status FROM orders WHERE id = $1 FOR UPDATE", &[&order_id])
        .await
        .map_err(classify)?;
    let status = OrderStatus::parse(get(&status_row, 0)?).ok_or_else(|| bad_state("order status"))?;
    let seen = tx
        .query_opt(
            "SELECT signed_at, body_hash, outcome FROM payment_events WHERE provider = $1 AND event_id = $2",
            &[&e.provider, &e.event_id],
        )
        .await
        .map_err(classify)?;
    if let Some(seen) = seen {
        let (signed_at, hash, outcome): (i64, &[u8], &str) = (get(&seen, 0)?, get(&seen, 1)?, get(&seen, 2)?);
        if hash != e.body_hash {
            return Ok(EventApplied::EventIdReused);
        }
        if to_u64(signed_at) == e.signed_at {
            return Ok(EventApplied::Replayed);
        }
        let outcome = EventOutcome::parse(outcome).ok_or_else(|| bad_state("event outcome"))?;
        let order = order_in(&tx, &order_id).await?;
        return Ok(EventApplied::Duplicate { outcome, order });
    }
    let outcome = transition(&tx, &e.kind, &intent, &order_id, status, e.now).await?;
    tx.execute(
        "INSERT INTO payment_events (provider, event_id, signed_at, body_hash, intent_id, outcome, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &e.provider,
            &e.event_id,
            &to_i64(e.signed_at),
            &&e.body_hash[..],
            &intent_id,
            &outcome.as_str(),
            &to_i64(e.now),
        ],
    )
    .await
    .map_err(classify)?;
    let order = order_in(&tx, &order_id).await?;
    tx.commit().await.map_err(classify)?;
    Ok(EventApplied::Applied { outcome, order })
}

/// What an event does to its order (see `store/orders.rs`).
async fn transition(
    tx: &Transaction<'_>,
    kind: &PaymentEventKind,
    intent: &PaymentIntent,
    order: &str,
    status: OrderStatus,
    now: u64,
) -> Result<EventOutcome> {
    use OrderStatus::*;
    Ok(match (kind, status) {
        (PaymentEventKind::Captured { amount }, _) if *amount != intent.amount => EventOutcome::AmountMismatch,
        (PaymentEventKind::Captured { .. }, Paid) => EventOutcome::AlreadyPaid,
        (PaymentEventKind::Captured { .. }, PendingPayment) => {
            mark_holds(tx, order, "held", "sold").await?;
            set_order(tx, order, Paid, now).await?;
            set_intent(tx, &intent.id, PaymentStatus::Succeeded, now).await?;
            EventOutcome::Paid
        }
        (PaymentEventKind::Captured { .. }, PaymentFailed | Expired) => {
            // Late money: the order is served if its stock is still there
            // (all of it, or none: a savepoint undoes a partial take).
            let wanted = holds(tx, order, "released").await?;
            tx.batch_execute("SAVEPOINT retake").await.map_err(classify)?;
            if take_all(tx, &wanted).await?.is_empty() {
                tx.batch_execute("RELEASE SAVEPOINT retake").await.map_err(classify)?;
                mark_holds(tx, order, "released", "sold").await?;
                set_order(tx, order, Paid, now).await?;
                set_intent(tx, &intent.id, PaymentStatus::Succeeded, now).await?;
                EventOutcome::Paid
            } else {
                tx.batch_execute("ROLLBACK TO SAVEPOINT retake")
                    .await
                    .map_err(classify)?;
                set_intent(tx, &intent.id, PaymentStatus::RefundDue, now).await?;
                EventOutcome::RefundDue
            }
        }
        (PaymentEventKind::Failed { .. }, PendingPayment) => {
            release(tx, order).await?;
            set_order(tx, order, PaymentFailed, now).await?;
            set_intent(tx, &intent.id, PaymentStatus::Failed, now).await?;
            EventOutcome::PaymentFailed
        }
        (PaymentEventKind::Failed { .. }, _) => EventOutcome::Ignored,
    })
}

/// [`crate::store::CartStore::expire_holds`]: orders another transaction
/// holds (a payment arriving right now) are skipped until the next sweep.
pub(super) async fn expire_holds(store: &PostgresStore, now: u64, limit: usize) -> Result<Vec<String>> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(classify)?;
    let rows = tx
        .query(
            "SELECT id FROM orders WHERE status = 'pending_payment' AND hold_until <= $1
             ORDER BY hold_until, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&to_i64(now), &to_i64(limit as u64)],
        )
        .await
        .map_err(classify)?;
    let ids: Vec<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_>>()?;
    // One pass over every SKU the orders hold, in SKU order (the lock order
    // of every other transaction here), rather than order by order.
    let held = tx
        .query(
            "SELECT sku, SUM(quantity)::INT FROM stock_holds WHERE order_id = ANY($1) AND state = 'held'
             GROUP BY sku ORDER BY sku",
            &[&ids],
        )
        .await
        .map_err(classify)?;
    for row in &held {
        let (sku, n): (&str, i32) = (get(row, 0)?, get(row, 1)?);
        tx.execute("UPDATE inventory SET stock = stock + $1 WHERE sku = $2", &[&n, &sku])
            .await
            .map_err(classify)?;
    }
    tx.execute(
        "UPDATE stock_holds SET state = 'released' WHERE order_id = ANY($1) AND state = 'held'",
        &[&ids],
    )
    .await
    .map_err(classify)?;
    let at = to_i64(now);
    for sql in [
        "UPDATE orders SET status = 'expired', updated_at = $2 WHERE id = ANY($1)",
        "UPDATE payment_intents SET status = 'canceled', updated_at = $2 WHERE order_id = ANY($1) AND status = 'requires_action'",
    ] {
        tx.execute(sql, &[&ids, &at]).await.map_err(classify)?;
    }
    tx.commit().await.map_err(classify)?;
    Ok(ids)
}
