//! The payment behind an order, through a [`PaymentProvider`].
//!
//! Checkout first commits the order (stock held), then asks the provider
//! for a payment intent with an idempotency key derived from the
//! checkout's `Idempotency-Key` ([`intent_key`]). A checkout retried with
//! the same key after a lost answer finds its order and asks again with
//! the same derived key, and the provider answers with the intent it
//! already made: one order, one intent (Stripe's rule for
//! `Idempotency-Key`). The provider reports what happens to the money
//! through signed callbacks (`POST /api/v1/payments/{provider}/callback`),
//! applied once per event id by the store.
//!
//! **Plugging in a card provider.** Implement [`PaymentProvider`] for it:
//! `create_intent` calls the provider's API (e.g. Stripe's `POST
//! /v1/payment_intents` with `amount`, `currency`, `metadata[order_id]`
//! and the header `Idempotency-Key: <request.idempotency_key>`), stores
//! the answer with [`crate::store::CartStore::put_payment_intent`] under
//! the same key, and returns it with `next_action` set to what the
//! shopper must do (`Redirect { url }` for a hosted payment page or a
//! 3-D Secure step); a network failure is `PaymentError::Unavailable` (the
//! shopper's retry uses the same key, so no second charge can appear).
//! `verify_callback` checks the provider's own signature scheme (Stripe:
//! the `Stripe-Signature` header, HMAC-SHA256 over `"<t>.<body>"` with the
//! endpoint secret, as [`signature`] does) and maps its events
//! (`payment_intent.succeeded`, `payment_intent.payment_failed`) onto
//! [`PaymentEventKind`]; the store's transition rules are the same for
//! every provider. Register it in [`Payments::new`].

pub mod bank_transfer;
pub mod signature;

use crate::store::{CartId, PaymentEvent, StoreError};
use cartsync_core::protocol::v1::{Order, PaymentIntent};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use bank_transfer::{BankAccount, BankTransfer};
pub use signature::SignatureError;

/// What a provider needs to create an intent for an order.
#[derive(Debug, Clone, Copy)]
pub struct IntentRequest<'a> {
    /// Derived from the checkout's key ([`intent_key`]): the same for
    /// every retry of one checkout.
    pub idempotency_key: &'a str,
    /// The order (its id, total and hold).
    pub order: &'a Order,
    /// Milliseconds since the epoch.
    pub now: u64,
}

/// Why an intent could not be created.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider could not be reached, or did not answer in time: the
    /// checkout may be retried with the same key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request.
    #[error("payment provider refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a callback was refused before it reached the store.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed, but not an event of this provider (the message names the
    /// field).
    #[error("{0}")]
    Body(String),
}

/// A payment provider. See the module docs for how a card provider plugs
/// in.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The name in `/api/v1/payments/{name}/callback` and in
    /// `PaymentIntent::provider`.
    fn name(&self) -> &'static str;

    /// Creates the intent for an order, or returns the one already created
    /// with `request.idempotency_key`.
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<PaymentIntent, PaymentError>;

    /// Checks a callback's signature (header value, exact body bytes) at
    /// `now_ms` and reads the event it carries.
    fn verify_callback(&self, signature: Option<&str>, body: &[u8], now_ms: u64)
        -> Result<PaymentEvent, CallbackError>;
}

/// The providers a server takes payments with, by name.
#[derive(Clone, Default)]
pub struct Payments {
    by_name: BTreeMap<&'static str, Arc<dyn PaymentProvider>>,
    default: Option<Arc<dyn PaymentProvider>>,
}

impl Payments {
    /// `providers`, the first being the one new orders use.
    pub fn new(providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        Payments {
            default: providers.first().cloned(),
            by_name: providers.into_iter().map(|p| (p.name(), p)).collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.by_name.get(name)
    }

    /// The provider new orders are paid with.
    pub fn default_provider(&self) -> Option<&Arc<dyn PaymentProvider>> {
        self.default.as_ref()
    }
}

/// The idempotency key of the payment intent of the checkout `key` on
/// `cart`: the same for every retry, distinct across carts (checkout keys
/// are the client's, unique per cart only).
///
/// ```
/// use cartsync_server::payment::intent_key;
/// assert_eq!(intent_key(7, "k"), intent_key(7, "k"));
/// assert_ne!(intent_key(7, "k"), intent_key(8, "k"));
/// assert_eq!(intent_key(7, "k").len(), 64);
/// ```
pub fn intent_key(cart: CartId, key: &str) -> String {
    let mut text = b"cartsync/payment-intent/v1\0".to_vec();
    text.extend_from_slice(cart.to_string().as_bytes());
    text.push(0);
    text.extend_from_slice(key.as_bytes());
    crate::tokens::sha256(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
