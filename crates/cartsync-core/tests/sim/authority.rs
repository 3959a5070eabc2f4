//! The simulated authority: the core's `decide_batch` on an in-memory
//! durable state (carts, idempotency records, event logs). A restart loses
//! only what was in flight; everything here is durable.

use cartsync_core::engine::{Failure, Request, Response};
use cartsync_core::protocol::v1::{CartView, ConflictResponse, CreateCartResponse, MutationsResponse};
use cartsync_core::{
    decide_batch, AppliedEvent, Cart, CartError, Command, CommandCheck, IdempotencyRecord, Limits, MutationId,
};
use std::collections::BTreeMap;

/// The catalog check: `ghost` is not a product, `drone` is not a shipping
/// option. Both pass the client's local validation.
pub struct Catalog;

impl CommandCheck for Catalog {
    fn check(&self, command: &Command) -> Result<(), CartError> {
        match command {
            Command::AddItem { sku, .. } | Command::SetQuantity { sku, .. } if sku.as_str() == "ghost" => {
                Err(CartError::UnknownSku { sku: sku.to_string() })
            }
            Command::SelectShipping { option } if option == "drone" => {
                Err(CartError::UnknownShippingOption { option: option.clone() })
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct StoredCart {
    pub cart: Cart,
    pub events: Vec<AppliedEvent>,
    pub closed: bool,
}

/// What a request got: an answer or a failure.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer(Box<Response>),
    Failed(Failure),
}

#[derive(Debug, Default)]
pub struct Authority {
    pub carts: BTreeMap<String, StoredCart>,
    /// Global: mutation ids are UUIDs, so a mutation resent to a fresh cart
    /// after its first cart was closed is still recognised.
    pub idempotency: BTreeMap<MutationId, IdempotencyRecord>,
    pub next_token: u64,
    pub limits: Limits,
}

impl Authority {
    pub fn create(&mut self, now: u64) -> String {
        self.next_token += 1;
        let token = format!("cart-{}", self.next_token);
        let cart = Cart {
            updated_at: now,
            ..Cart::default()
        };
        self.carts.insert(
            token.clone(),
            StoredCart {
                cart,
                ..StoredCart::default()
            },
        );
        token
    }

    /// Handles one request inside one "transaction".
    pub fn handle(&mut self, request: &Request, now: u64) -> Reply {
        match request {
            Request::CreateCart { .. } => {
                let token = self.create(now);
                let cart = CartView::bare(&self.carts[&token].cart);
                Reply::Answer(Box::new(Response::Created(CreateCartResponse { token, cart })))
            }
            Request::Mutations { token, body, .. } => {
                let Some(stored) = self.carts.get_mut(token) else {
                    return Reply::Failed(Failure::Permanent(CartError::CartNotFound.to_body()));
                };
                if stored.closed {
                    return Reply::Failed(Failure::Permanent(CartError::CartClosed.to_body()));
                }
                let decision = match decide_batch(
                    &stored.cart,
                    &self.idempotency,
                    &body.mutations,
                    &self.limits,
                    &Catalog,
                    now,
                ) {
                    Ok(d) => d,
                    Err(e) => return Reply::Failed(Failure::Permanent(e.to_body())),
                };
                stored.cart = decision.cart;
                stored.events.extend(decision.events);
                self.idempotency.extend(decision.records);
                let cart = CartView::bare(&stored.cart);
                let results = decision.results;
                Reply::Answer(Box::new(match decision.conflict {
                    Some(c) => Response::Conflict(ConflictResponse {
                        code: "version_conflict".into(),
                        message: format!("expected {}, found {}", c.expected, c.found),
                        cart,
                        results,
                    }),
                    None => Response::Mutations(MutationsResponse { cart, results }),
                }))
            }
        }
    }
}
