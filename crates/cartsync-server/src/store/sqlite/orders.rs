//! Orders on SQLite: the checkout commit (cart closed, order stored, stock
//! held), reading orders with their status and intent, payment intents,
//! provider events and the release of expired holds. Every write runs as a
//! job of the writer thread, inside its group's `BEGIN IMMEDIATE`
//! transaction: nothing else writes the database meanwhile (other
//! processes wait for the lock), so reading the stock and then taking it
//! cannot race, and the conditional updates only confirm it.

use super::rows::{one_row_or_conflict, to_i64, to_u64, version_of};
use super::Result;
use crate::store::{
    compose, intent_now, CartId, EventApplied, EventOutcome, IntentRef, NewIntent, OrderCommit, OrderCommitted,
    PaymentEvent, PaymentEventKind, Shortfall, StoreError, StoredOrder,
};
use cartsync_core::protocol::v1::{Order, OrderStatus, PaymentIntent, PaymentStatus};
use cartsync_core::Sku;
use rusqlite::{params, Connection, OptionalExtension};

fn bad_state(what: &str) -> StoreError {
    #[derive(Debug, thiserror::Error)]
    #[error("unreadable {0} in the database")]
    struct Unreadable(String);
    StoreError::backend(Unreadable(what.to_string()))
}

fn order_status(text: &str) -> Result<OrderStatus> {
    OrderStatus::parse(text).ok_or_else(|| bad_state("order status"))
}

fn payment_status(text: &str) -> Result<PaymentStatus> {
    PaymentStatus::parse(text).ok_or_else(|| bad_state("payment status"))
}

/// Units of `sku` in stock (0 when the inventory does not track it).
fn stock_of(tx: &Connection, sku: &Sku) -> Result<u32> {
    let stock: Option<i64> = tx
        .prepare_cached("SELECT stock FROM inventory WHERE sku = ?1")?
        .query_row([sku.as_str()], |r| r.get(0))
        .optional()?;
    Ok(u32::try_from(stock.unwrap_or(0)).unwrap_or(0))
}

/// Takes `n` units of `sku` if there are that many.
fn take(tx: &Connection, sku: &Sku, n: u32) -> Result<bool> {
    let changed = tx
        .prepare_cached("UPDATE inventory SET stock = stock - ?1 WHERE sku = ?2 AND stock >= ?1")?
        .execute(params![n, sku.as_str()])?;
    Ok(changed == 1)
}

/// The SKUs of `holds` that have fewer units than they need.
fn shortfalls(tx: &Connection, holds: &[(Sku, u32)]) -> Result<Vec<Shortfall>> {
    let mut short = Vec::new();
    for (sku, requested) in holds {
        let available = stock_of(tx, sku)?;
        if available < *requested {
            short.push(Shortfall {
                sku: sku.clone(),
                requested: *requested,
                available,
            });
        }
    }
    Ok(short)
}

/// [`crate::store::CartStore::commit_order`].
pub(super) fn commit_order(tx: &Connection, c: &OrderCommit<'_>) -> Result<OrderCommitted> {
    // The cart first: a checkout decided on a cart that moved on is decided
    // again (and may then find stock for what the cart holds now).
    let (version, state) = version_of(tx, c.cart)?;
    if version != c.expected_version || state != "open" {
        return Err(StoreError::VersionConflict {
            expected: c.expected_version,
            found: version,
        });
    }
    let short = shortfalls(tx, c.holds)?;
    if !short.is_empty() {
        return Ok(OrderCommitted::OutOfStock(short));
    }
    let changed = tx.execute(
        "UPDATE carts SET state = 'closed', order_id = ?1 WHERE id = ?2 AND version = ?3 AND state = 'open'",
        params![c.order.id, c.cart, to_i64(c.expected_version)],
    )?;
    one_row_or_conflict(tx, changed, c.cart, c.expected_version)?;
    let now = to_i64(c.order.created_at);
    tx.execute(
        "INSERT INTO orders (id, cart_id, idempotency_key, body, created_at, status, hold_until, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending_payment', ?6, ?5)",
        params![
            c.order.id,
            c.cart,
            c.key,
            serde_json::to_string(c.order)?,
            now,
            to_i64(c.order.hold_until)
        ],
    )?;
    for (sku, n) in c.holds {
        if !take(tx, sku, *n)? {
            // Checked above within this transaction: only a broken
            // invariant gets here. The job fails and is rolled back.
            return Err(bad_state("stock that changed within a transaction"));
        }
        tx.prepare_cached("INSERT INTO stock_holds (order_id, sku, quantity, state) VALUES (?1, ?2, ?3, 'held')")?
            .execute(params![c.order.id, sku.as_str(), n])?;
    }
    Ok(OrderCommitted::Ordered)
}

const ORDER_SQL: &str = "SELECT o.body, o.status, o.cart_id, c.owner, i.body, i.status
     FROM orders o JOIN carts c ON c.id = o.cart_id LEFT JOIN payment_intents i ON i.order_id = o.id";

fn read_order(tx: &Connection, condition: &str, args: impl rusqlite::Params) -> Result<Option<StoredOrder>> {
    type Row = (String, String, i64, Option<String>, Option<String>, Option<String>);
    let row: Option<Row> = tx
        .prepare_cached(&format!("{ORDER_SQL} WHERE {condition}"))?
        .query_row(args, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    let Some((body, status, cart, owner, intent, intent_status)) = row else {
        return Ok(None);
    };
    let intent = match (intent, intent_status) {
        (Some(body), Some(status)) => Some((serde_json::from_str::<PaymentIntent>(&body)?, payment_status(&status)?)),
        _ => None,
    };
    let order: Order = serde_json::from_str(&body)?;
    Ok(Some(StoredOrder {
        order: compose(order, order_status(&status)?, intent),
        cart,
        owner,
    }))
}

pub(super) fn order_for_key(tx: &Connection, cart: CartId, key: &str) -> Result<Option<Order>> {
    Ok(read_order(tx, "o.cart_id = ?1 AND o.idempotency_key = ?2", params![cart, key])?.map(|s| s.order))
}

pub(super) fn order(tx: &Connection, id: &str) -> Result<Option<StoredOrder>> {
    read_order(tx, "o.id = ?1", [id])
}

/// [`crate::store::CartStore::put_payment_intent`].
pub(super) fn put_intent(tx: &Connection, n: &NewIntent<'_>) -> Result<PaymentIntent> {
    let now = to_i64(n.intent.created_at);
    tx.execute(
        "INSERT INTO payment_intents (id, provider, idempotency_key, order_id, reference, status, body, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT (provider, idempotency_key) DO NOTHING",
        params![
            n.intent.id,
            n.provider,
            n.idempotency_key,
            n.order_id,
            n.reference,
            n.intent.status.as_str(),
            serde_json::to_string(n.intent)?,
            now
        ],
    )?;
    let (body, status): (String, String) = tx.query_row(
        "SELECT body, status FROM payment_intents WHERE provider = ?1 AND idempotency_key = ?2",
        params![n.provider, n.idempotency_key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(intent_now(serde_json::from_str(&body)?, payment_status(&status)?))
}

fn set_order(tx: &Connection, id: &str, status: OrderStatus, now: u64) -> Result<()> {
    tx.execute(
        "UPDATE orders SET status = ?1, updated_at = ?2 WHERE id = ?3",
        params![status.as_str(), to_i64(now), id],
    )?;
    Ok(())
}

fn set_intent(tx: &Connection, id: &str, status: PaymentStatus, now: u64) -> Result<()> {
    tx.execute(
        "UPDATE payment_intents SET status = ?1, updated_at = ?2 WHERE id = ?3",
        params![status.as_str(), to_i64(now), id],
    )?;
    Ok(())
}

/// The holds of an order in `state`.
fn holds(tx: &Connection, order: &str, state: &str) -> Result<Vec<(Sku, u32)>> {
    let mut stmt =
        tx.prepare_cached("SELECT sku, quantity FROM stock_holds WHERE order_id = ?1 AND state = ?2 ORDER BY sku")?;
    let rows = stmt.query_map(params![order, state], |r| Ok((Sku(r.get(0)?), r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn mark_holds(tx: &Connection, order: &str, from: &str, to: &str) -> Result<()> {
    tx.execute(
        "UPDATE stock_holds SET state = ?1 WHERE order_id = ?2 AND state = ?3",
        params![to, order, from],
    )?;
    Ok(())
}

/// Gives an order's held stock back.
fn release(tx: &Connection, order: &str) -> Result<()> {
    for (sku, n) in holds(tx, order, "held")? {
        tx.prepare_cached("UPDATE inventory SET stock = stock + ?1 WHERE sku = ?2")?
            .execute(params![n, sku.as_str()])?;
    }
    mark_holds(tx, order, "held", "released")
}

/// [`crate::store::CartStore::apply_payment_event`].
pub(super) fn apply_event(tx: &Connection, e: &PaymentEvent) -> Result<EventApplied> {
    let (column, value) = match &e.intent {
        IntentRef::Id(id) => ("id", id),
        IntentRef::Reference(r) => ("reference", r),
    };
    let found: Option<(String, String, String, String)> = tx
        .query_row(
            &format!(
                "SELECT i.id, i.order_id, i.body, o.status FROM payment_intents i JOIN orders o ON o.id = i.order_id
                 WHERE i.provider = ?1 AND i.{column} = ?2"
            ),
            params![e.provider, value],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((intent_id, order_id, body, status)) = found else {
        return Ok(EventApplied::UnknownIntent);
    };
    let seen: Option<(i64, Vec<u8>, String)> = tx
        .query_row(
            "SELECT signed_at, body_hash, outcome FROM payment_events WHERE provider = ?1 AND event_id = ?2",
            params![e.provider, e.event_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((signed_at, hash, outcome)) = seen {
        return seen_before(tx, e, to_u64(signed_at), &hash, &outcome, &order_id);
    }
    let intent: PaymentIntent = serde_json::from_str(&body)?;
    let outcome = transition(tx, &e.kind, &intent, &order_id, order_status(&status)?, e.now)?;
    tx.execute(
        "INSERT INTO payment_events (provider, event_id, signed_at, body_hash, intent_id, outcome, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.provider,
            e.event_id,
            to_i64(e.signed_at),
            &e.body_hash[..],
            intent_id,
            outcome.as_str(),
            to_i64(e.now)
        ],
    )?;
    let order = read_order(tx, "o.id = ?1", [&order_id])?
        .ok_or(StoreError::NotFound)?
        .order;
    Ok(EventApplied::Applied { outcome, order })
}

/// An event id seen before: a different body is a reused id, the same
/// signed message a replay, the same body signed anew a duplicate.
fn seen_before(
    tx: &Connection,
    e: &PaymentEvent,
    signed_at: u64,
    hash: &[u8],
    outcome: &str,
    order_id: &str,
) -> Result<EventApplied> {
    if hash != e.body_hash {
        return Ok(EventApplied::EventIdReused);
    }
    if signed_at == e.signed_at {
        return Ok(EventApplied::Replayed);
    }
    let outcome = EventOutcome::parse(outcome).ok_or_else(|| bad_state("event outcome"))?;
    let order = read_order(tx, "o.id = ?1", [order_id])?
        .ok_or(StoreError::NotFound)?
        .order;
    Ok(EventApplied::Duplicate { outcome, order })
}

/// What an event does to its order (see `store/orders.rs`).
fn transition(
    tx: &Connection,
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
            mark_holds(tx, order, "held", "sold")?;
            set_order(tx, order, Paid, now)?;
            set_intent(tx, &intent.id, PaymentStatus::Succeeded, now)?;
            EventOutcome::Paid
        }
        (PaymentEventKind::Captured { .. }, PaymentFailed | Expired) => {
            // Late money: the order is served if its stock is still there.
            let wanted = holds(tx, order, "released")?;
            if shortfalls(tx, &wanted)?.is_empty() {
                for (sku, n) in &wanted {
                    if !take(tx, sku, *n)? {
                        return Err(bad_state("stock that changed within a transaction"));
                    }
                }
                mark_holds(tx, order, "released", "sold")?;
                set_order(tx, order, Paid, now)?;
                set_intent(tx, &intent.id, PaymentStatus::Succeeded, now)?;
                EventOutcome::Paid
            } else {
                set_intent(tx, &intent.id, PaymentStatus::RefundDue, now)?;
                EventOutcome::RefundDue
            }
        }
        (PaymentEventKind::Failed { .. }, PendingPayment) => {
            release(tx, order)?;
            set_order(tx, order, PaymentFailed, now)?;
            set_intent(tx, &intent.id, PaymentStatus::Failed, now)?;
            EventOutcome::PaymentFailed
        }
        (PaymentEventKind::Failed { .. }, _) => EventOutcome::Ignored,
    })
}

/// [`crate::store::CartStore::expire_holds`].
pub(super) fn expire_holds(tx: &Connection, now: u64, limit: usize) -> Result<Vec<String>> {
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM orders WHERE status = 'pending_payment' AND hold_until <= ?1 ORDER BY hold_until, id LIMIT ?2",
        )?
        .query_map(params![to_i64(now), to_i64(limit as u64)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        release(tx, id)?;
        set_order(tx, id, OrderStatus::Expired, now)?;
        tx.execute(
            "UPDATE payment_intents SET status = 'canceled', updated_at = ?1 WHERE order_id = ?2 AND status = 'requires_action'",
            params![to_i64(now), id],
        )?;
    }
    Ok(ids)
}
