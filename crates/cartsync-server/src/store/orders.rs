//! What the store keeps about orders once they exist: the stock each one
//! holds, its payment intent and the payment provider's events. Every
//! change here is one transaction, so an order's status, its holds and the
//! stock always agree:
//!
//! | order status | its holds | stock |
//! |---|---|---|
//! | `pending_payment` | `held` | taken |
//! | `paid` | `sold` | taken for good |
//! | `payment_failed`, `expired` | `released` | given back |

use cartsync_core::protocol::v1::{Order, OrderStatus, PaymentIntent, PaymentStatus};
use cartsync_core::{Money, Sku};

/// A line that could not be held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub sku: Sku,
    pub requested: u32,
    pub available: u32,
}

/// Everything a checkout commits in one transaction: the cart closed (if
/// still open at `expected_version`), the order stored under its key, and
/// the stock of `holds` (units per SKU, summed over the lines) taken and
/// held for it — all of it, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct OrderCommit<'a> {
    pub cart: super::CartId,
    pub expected_version: u64,
    pub key: &'a str,
    /// The order as created (`pending_payment`, `hold_until` set, no
    /// payment yet).
    pub order: &'a Order,
    pub holds: &'a [(Sku, u32)],
}

/// What [`super::CartStore::commit_order`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommitted {
    /// The cart is closed, the order stored, the stock held.
    Ordered,
    /// Some lines could not be held; nothing was written.
    OutOfStock(Vec<Shortfall>),
}

/// An order with the cart it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub order: Order,
    pub cart: super::CartId,
    /// The account the cart belonged to (`None` for a guest's).
    pub owner: Option<String>,
}

/// A payment intent to store. The store keeps the first intent per
/// `(provider, idempotency_key)` and returns it for every later call with
/// the same key, so a provider built on the store is idempotent by key.
#[derive(Debug, Clone, Copy)]
pub struct NewIntent<'a> {
    pub provider: &'a str,
    pub idempotency_key: &'a str,
    pub order_id: &'a str,
    /// The intent as created (`requires_action`).
    pub intent: &'a PaymentIntent,
    /// What the provider's events name the intent by, besides its id (a
    /// bank transfer's reference); unique per provider.
    pub reference: Option<&'a str>,
}

/// How a provider event names its intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentRef {
    Id(String),
    Reference(String),
}

/// What a provider event says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEventKind {
    /// The money arrived.
    Captured { amount: Money },
    /// The payment failed (declined, returned, cancelled by the payer).
    Failed { reason: String },
}

/// A verified provider event, to apply once per `(provider, event_id)`.
#[derive(Debug, Clone)]
pub struct PaymentEvent {
    pub provider: String,
    pub event_id: String,
    /// The signature's timestamp (seconds): the same event signed anew is
    /// a retry, the same signed message again is a replay.
    pub signed_at: u64,
    /// SHA-256 of the event's body without its signature.
    pub body_hash: [u8; 32],
    pub intent: IntentRef,
    pub kind: PaymentEventKind,
    pub now: u64,
}

/// What an event did to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// `pending_payment → paid` (or a late payment whose stock could be
    /// taken again).
    Paid,
    /// `pending_payment → payment_failed`; the stock was given back.
    PaymentFailed,
    /// The order was already paid.
    AlreadyPaid,
    /// A failure for an order no longer waiting for payment.
    Ignored,
    /// The money came for an order that expired or failed and whose stock
    /// is gone: the order stays as it is and the intent is `refund_due`.
    RefundDue,
    /// The captured amount is not the intent's: nothing changes (the
    /// merchant reconciles by hand).
    AmountMismatch,
}

impl EventOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventOutcome::Paid => "paid",
            EventOutcome::PaymentFailed => "payment_failed",
            EventOutcome::AlreadyPaid => "already_paid",
            EventOutcome::Ignored => "ignored",
            EventOutcome::RefundDue => "refund_due",
            EventOutcome::AmountMismatch => "amount_mismatch",
        }
    }

    pub fn parse(text: &str) -> Option<EventOutcome> {
        [
            EventOutcome::Paid,
            EventOutcome::PaymentFailed,
            EventOutcome::AlreadyPaid,
            EventOutcome::Ignored,
            EventOutcome::RefundDue,
            EventOutcome::AmountMismatch,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// What [`super::CartStore::apply_payment_event`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventApplied {
    /// First seen: applied and recorded.
    Applied { outcome: EventOutcome, order: Order },
    /// Seen before with the same body and a newer signature (the provider
    /// retried): the first outcome, nothing applied again.
    Duplicate { outcome: EventOutcome, order: Order },
    /// The very same signed message again: refused.
    Replayed,
    /// The event id was seen with a different body: refused.
    EventIdReused,
    /// No intent of this provider matches.
    UnknownIntent,
}

/// An order as stored (its body as created) brought up to date with its
/// status and its intent.
pub fn compose(mut order: Order, status: OrderStatus, intent: Option<(PaymentIntent, PaymentStatus)>) -> Order {
    order.status = status;
    order.payment = intent.map(|(intent, status)| Box::new(intent_now(intent, status)));
    order
}

/// An intent as stored (as created) with its current status: the next
/// action stands only while the shopper still has to act.
pub fn intent_now(mut intent: PaymentIntent, status: PaymentStatus) -> PaymentIntent {
    intent.status = status;
    if status != PaymentStatus::RequiresAction {
        intent.next_action = None;
    }
    intent
}

/// The units each SKU of `lines` needs, summed over lines with other
/// options, in SKU order (the order rows are locked in).
pub fn units_per_sku(lines: &[cartsync_core::Line]) -> Vec<(Sku, u32)> {
    let mut per: std::collections::BTreeMap<Sku, u32> = std::collections::BTreeMap::new();
    for l in lines {
        let n = per.entry(l.sku.clone()).or_default();
        *n = n.saturating_add(l.quantity);
    }
    per.into_iter().collect()
}
