//! The simulated authority: the core's `decide_batch` on an in-memory
//! durable state (carts, idempotency records, event logs). A restart loses
//! only what was in flight; everything here is durable.

use cartsync_core::engine::{Failure, Request, RequestKind, Response};
use cartsync_core::protocol::v1::{
    CartView, CheckoutProblem, CheckoutRejected, CheckoutResponse, ConflictResponse, CreateCartResponse,
    MutationsResponse, Order,
};
use cartsync_core::{
    decide_batch, AppliedEvent, Cart, CartError, Command, CommandCheck, ErrorBody, IdempotencyRecord, Limits, Money,
    MutationId, Totals,
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
    /// Account carts answer only requests signed in as their owner.
    pub owner: Option<String>,
}

/// An order and the cart it was placed for.
#[derive(Debug, Clone)]
pub struct Placed {
    pub token: String,
    pub order: Order,
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
    /// Orders by checkout key (a retried checkout gets its order back).
    pub orders: BTreeMap<String, Placed>,
}

/// What the authority charges: 1.00 EUR a unit.
pub fn priced(cart: &Cart) -> CartView {
    let mut view = CartView::bare(cart);
    let total = Money::new(100 * cart.total_quantity() as i64, "EUR");
    view.totals = Some(Totals {
        subtotal: total.clone(),
        discount: Money::zero("EUR"),
        estimated_total: total,
    });
    view
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

    /// An account cart: only requests signed in as `owner` reach it.
    pub fn create_account(&mut self, owner: &str, now: u64) -> String {
        let token = self.create(now);
        if let Some(stored) = self.carts.get_mut(&token) {
            stored.owner = Some(owner.to_string());
        }
        token
    }

    /// Handles one request inside one "transaction".
    pub fn handle(&mut self, request: &Request, now: u64) -> Reply {
        let refused = |e: CartError| Reply::Failed(Failure::Permanent(e.to_body()));
        let token = match &request.kind {
            RequestKind::CreateCart => {
                let token = self.create(now);
                let cart = priced(&self.carts[&token].cart);
                return Reply::Answer(Box::new(Response::Created(CreateCartResponse { token, cart })));
            }
            RequestKind::Mutations { token, .. } | RequestKind::Checkout { token, .. } => token,
            RequestKind::Attach { .. } => {
                return refused(CartError::BadRequest {
                    message: "attach is not simulated".into(),
                })
            }
        };
        if let RequestKind::Checkout { key, .. } = &request.kind {
            if let Some(placed) = self.orders.get(key).filter(|p| p.token == *token) {
                let order = placed.order.clone();
                return Reply::Answer(Box::new(Response::Ordered(CheckoutResponse { order })));
            }
        }
        let Some(stored) = self.carts.get_mut(token) else {
            return refused(CartError::CartNotFound);
        };
        if stored.owner.is_some() && stored.owner != request.auth {
            return Reply::Failed(Failure::Permanent(ErrorBody {
                code: "unauthorized".into(),
                message: "sign in as the cart's owner".into(),
            }));
        }
        if stored.closed {
            return refused(CartError::CartClosed);
        }
        match &request.kind {
            RequestKind::Checkout { key, body, .. } => {
                let view = priced(&stored.cart);
                let actual = view.totals.clone().map(|t| t.estimated_total);
                if actual.as_ref() != Some(&body.expected_total) {
                    let actual = actual.unwrap_or_else(|| Money::zero("EUR"));
                    return Reply::Answer(Box::new(Response::CheckoutRejected(CheckoutRejected {
                        code: "checkout_revalidation_failed".into(),
                        message: "the total changed".into(),
                        problems: vec![CheckoutProblem::TotalChanged {
                            expected: body.expected_total.clone(),
                            actual,
                        }],
                        cart: view,
                    })));
                }
                stored.closed = true;
                let order = Order {
                    id: format!("order-{}", self.orders.len() + 1),
                    status: "pending_payment".into(),
                    lines: Vec::new(),
                    coupons: Vec::new(),
                    shipping_option: None,
                    totals: view.totals.clone().unwrap_or_else(|| unreachable!("priced")),
                    created_at: now,
                };
                self.orders.insert(
                    key.clone(),
                    Placed {
                        token: token.clone(),
                        order: order.clone(),
                    },
                );
                Reply::Answer(Box::new(Response::Ordered(CheckoutResponse { order })))
            }
            RequestKind::Mutations { body, .. } => {
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
                let cart = priced(&stored.cart);
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
            _ => unreachable!("handled above"),
        }
    }
}
