//! Protocol v1's orders: what checkout commits (lines at their prices,
//! shipping, destination, totals with tax), the stock hold's end, and the
//! payment intent with what the shopper must do next.

use crate::model::{Destination, Options, Sku};
use crate::money::{Money, Totals};
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// A line of an order, at the price committed at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OrderLine {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub quantity: u32,
    pub name: String,
    pub unit_price: Money,
}

/// Where an order is in its life. `pending_payment` holds the order's
/// stock until `hold_until`; it becomes `paid` when the payment succeeds,
/// `payment_failed` when it fails, `expired` when the hold runs out first
/// (stock is given back in both of those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    PaymentFailed,
    Expired,
}

impl OrderStatus {
    /// The wire name (`"pending_payment"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Expired => "expired",
        }
    }

    /// Reads a wire name.
    pub fn parse(text: &str) -> Option<OrderStatus> {
        [
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            OrderStatus::PaymentFailed,
            OrderStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Where a payment intent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Waiting for the shopper (`next_action` says what to do).
    RequiresAction,
    Succeeded,
    Failed,
    /// The order expired before the money came; nothing will be taken.
    Canceled,
    /// The money came after the order could no longer be served: it is
    /// owed back.
    RefundDue,
}

impl PaymentStatus {
    /// The wire name (`"requires_action"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::RefundDue => "refund_due",
        }
    }

    /// Reads a wire name.
    pub fn parse(text: &str) -> Option<PaymentStatus> {
        [
            PaymentStatus::RequiresAction,
            PaymentStatus::Succeeded,
            PaymentStatus::Failed,
            PaymentStatus::Canceled,
            PaymentStatus::RefundDue,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What the shopper must do to pay, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case", try_from = "WireNextAction")]
pub enum NextAction {
    /// Transfer `amount` to the account with `reference` by `pay_by` (ms).
    BankTransfer {
        beneficiary: String,
        iban: String,
        bic: String,
        reference: String,
        amount: Money,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        pay_by: u64,
    },
    /// Continue at the provider's page (a card provider's hosted payment
    /// or 3-D Secure step).
    Redirect { url: String },
}

/// The flat shape a next action is read from.
#[derive(Deserialize)]
struct WireNextAction {
    #[serde(rename = "type")]
    kind: String,
    beneficiary: Option<String>,
    iban: Option<String>,
    bic: Option<String>,
    reference: Option<String>,
    amount: Option<Money>,
    pay_by: Option<u64>,
    url: Option<String>,
}

impl TryFrom<WireNextAction> for NextAction {
    type Error = String;

    fn try_from(w: WireNextAction) -> Result<Self, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| ["next action needs the field `", field, "`"].concat())
        }
        Ok(match w.kind.as_str() {
            "bank_transfer" => NextAction::BankTransfer {
                beneficiary: need(w.beneficiary, "beneficiary")?,
                iban: need(w.iban, "iban")?,
                bic: need(w.bic, "bic")?,
                reference: need(w.reference, "reference")?,
                amount: need(w.amount, "amount")?,
                pay_by: need(w.pay_by, "pay_by")?,
            },
            "redirect" => NextAction::Redirect {
                url: need(w.url, "url")?,
            },
            other => return Err(["unknown next action `", other, "`"].concat()),
        })
    }
}

/// The payment behind an order, created with an idempotency key derived
/// from the checkout's `Idempotency-Key` (a retried checkout gets the same
/// intent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PaymentIntent {
    pub id: String,
    /// The provider that holds it (`bank_transfer`).
    pub provider: String,
    pub status: PaymentStatus,
    pub amount: Money,
    /// What the shopper must do next; `null` once nothing is asked of them.
    #[serde(default)]
    pub next_action: Option<NextAction>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: u64,
}

/// An order built from a revalidated cart snapshot: the prices, shipping
/// and tax committed at checkout, its stock held, and its payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub coupons: Vec<String>,
    pub shipping_option: Option<String>,
    #[serde(default)]
    pub destination: Option<Destination>,
    pub totals: Totals,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: u64,
    /// The order's stock is held until then (ms since the epoch) unless it
    /// is paid first.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub hold_until: u64,
    /// The payment intent; `null` only while the provider has not answered
    /// yet (a retried checkout with the same key creates it).
    #[serde(default)]
    pub payment: Option<Box<PaymentIntent>>,
}

/// `POST /carts/{token}/checkout` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CheckoutResponse {
    pub order: Order,
}
