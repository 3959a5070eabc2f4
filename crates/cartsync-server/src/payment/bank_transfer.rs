//! Pay by invoice / bank transfer: the built-in provider, real without an
//! outside service. Its intent tells the shopper the account, the amount,
//! a reference to quote and the date to pay by (when the order's stock
//! hold runs out); the bank (or the merchant's bank-statement import)
//! reports each transfer with a signed callback:
//!
//! ```json
//! {"id": "evt_…", "type": "transfer.received", "reference": "CS-…", "amount": {"amount": 5490, "currency": "EUR"}}
//! {"id": "evt_…", "type": "transfer.failed", "reference": "CS-…", "reason": "returned by the payer's bank"}
//! ```
//!
//! Intents live in the cart database (`payment_intents`), keyed by the
//! derived idempotency key, so asking twice gives the intent made first.
//! Their id and reference are derived from that key too: a retried
//! request computes the same ones.

use super::signature;
use super::{CallbackError, IntentRequest, PaymentError, PaymentProvider};
use crate::store::{CartStore, IntentRef, NewIntent, PaymentEvent, PaymentEventKind};
use cartsync_core::protocol::v1::{NextAction, PaymentIntent, PaymentStatus};
use cartsync_core::Money;
use serde::Deserialize;
use std::sync::Arc;

/// The account shoppers pay into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub beneficiary: String,
    pub iban: String,
    pub bic: String,
}

/// The bank-transfer provider.
pub struct BankTransfer {
    store: Arc<dyn CartStore>,
    account: BankAccount,
    /// Shared with whoever sends the callbacks.
    secret: Vec<u8>,
    /// How far a callback's timestamp may be from now, in seconds.
    tolerance_secs: u64,
}

/// Its name in URLs and intents.
pub const NAME: &str = "bank_transfer";

/// Letters and digits a person reads and types without confusing them.
const REFERENCE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";

impl BankTransfer {
    pub fn new(store: Arc<dyn CartStore>, account: BankAccount, secret: Vec<u8>, tolerance_secs: u64) -> Self {
        BankTransfer {
            store,
            account,
            secret,
            tolerance_secs,
        }
    }

    /// The intent id and transfer reference for an idempotency key:
    /// `pi_` and 32 hex digits; `CS-XXXX-XXXX-XXXX` (12 of 30 symbols, ~59
    /// bits, unique per provider by index).
    pub fn ids(key: &str) -> (String, String) {
        let h = crate::tokens::sha256(key.as_bytes());
        let id: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
        let symbols: Vec<char> = h[16..28]
            .iter()
            .map(|b| REFERENCE_ALPHABET[usize::from(*b) % REFERENCE_ALPHABET.len()] as char)
            .collect();
        let groups: Vec<String> = symbols.chunks(4).map(|c| c.iter().collect()).collect();
        (format!("pi_{id}"), format!("CS-{}", groups.join("-")))
    }
}

/// A callback body.
#[derive(Debug, Deserialize)]
struct BankEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    reference: String,
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    reason: Option<String>,
}

#[async_trait::async_trait]
impl PaymentProvider for BankTransfer {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<PaymentIntent, PaymentError> {
        let (id, reference) = BankTransfer::ids(request.idempotency_key);
        let amount = request.order.totals.estimated_total.clone();
        let intent = PaymentIntent {
            id,
            provider: NAME.into(),
            status: PaymentStatus::RequiresAction,
            amount: amount.clone(),
            next_action: Some(NextAction::BankTransfer {
                beneficiary: self.account.beneficiary.clone(),
                iban: self.account.iban.clone(),
                bic: self.account.bic.clone(),
                reference: reference.clone(),
                amount,
                pay_by: request.order.hold_until,
            }),
            created_at: request.now,
        };
        Ok(self
            .store
            .put_payment_intent(NewIntent {
                provider: NAME,
                idempotency_key: request.idempotency_key,
                order_id: &request.order.id,
                intent: &intent,
                reference: Some(&reference),
            })
            .await?)
    }

    fn verify_callback(&self, header: Option<&str>, body: &[u8], now_ms: u64) -> Result<PaymentEvent, CallbackError> {
        let signed_at = signature::verify(&self.secret, header, body, now_ms / 1000, self.tolerance_secs)?;
        let event: BankEvent = serde_json::from_slice(body).map_err(|e| CallbackError::Body(format!("body: {e}")))?;
        if event.id.is_empty() || event.id.len() > 255 {
            return Err(CallbackError::Body("id: must be 1 to 255 characters".into()));
        }
        let kind = match event.kind.as_str() {
            "transfer.received" => PaymentEventKind::Captured {
                amount: event
                    .amount
                    .ok_or_else(|| CallbackError::Body("amount: required for transfer.received".into()))?,
            },
            "transfer.failed" => PaymentEventKind::Failed {
                reason: event.reason.unwrap_or_default(),
            },
            other => {
                return Err(CallbackError::Body(format!(
                    "type: {other:?} is not transfer.received or transfer.failed"
                )))
            }
        };
        Ok(PaymentEvent {
            provider: NAME.into(),
            event_id: event.id,
            signed_at,
            body_hash: crate::tokens::sha256(body),
            intent: IntentRef::Reference(event.reference),
            kind,
            now: now_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_from_the_key() {
        let (id, reference) = BankTransfer::ids("k1");
        assert_eq!(BankTransfer::ids("k1"), (id.clone(), reference.clone()));
        assert_ne!(BankTransfer::ids("k2").0, id);
        assert!(id.starts_with("pi_") && id.len() == 35);
        assert_eq!(reference.len(), "CS-XXXX-XXXX-XXXX".len());
        assert!(reference[3..]
            .bytes()
            .all(|b| b == b'-' || REFERENCE_ALPHABET.contains(&b)));
    }
}
