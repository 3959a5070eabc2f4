//! The simulated authority: the core's `decide_batch` and `merge` on an
//! in-memory durable state (carts, idempotency records, event logs). A
//! restart loses only what was in flight; everything here is durable.
//! Sign-in (`attach`) merges an anonymous cart into the account cart as the
//! server does: the anonymous cart is closed as merged (its mutations answer
//! `cart_merged`), the account cart gets the merged snapshot as its new
//! replay base and one more version, and a resent attach of a merged cart
//! gets the account cart and the merge's report again.

use cartsync_core::engine::{Failure, Request, RequestKind, Response};
use cartsync_core::protocol::v1::{
    AttachResponse, CartView, CheckoutProblem, CheckoutRejected, CheckoutResponse, ConflictResponse,
    CreateCartResponse, MutationsResponse, Order, OrderStatus,
};
use cartsync_core::{
    decide_batch, merge, shipping, terms, AppliedEvent, Cart, CartError, CartRules, Command, CommandCheck, ErrorBody,
    IdempotencyRecord, Limits, MergeReport, Money, MutationId, ShippingRule, TaxRate, TaxRules, WeightBand,
};
use std::collections::BTreeMap;

/// The catalog check: `ghost` is not a product; `drone` is not a shipping
/// option; `express` takes neither the bulky `c` nor more than 2.5 kg, and
/// serves only DE; `std` serves DE and FR. All of these pass the client's
/// local validation (before the view knows the rules).
pub struct Catalog;

impl CommandCheck for Catalog {
    fn check(&self, cart: &Cart, command: &Command) -> Result<(), CartError> {
        match command {
            Command::AddItem { sku, .. } | Command::SetQuantity { sku, .. } if sku.as_str() == "ghost" => {
                Err(CartError::UnknownSku { sku: sku.to_string() })
            }
            Command::SelectShipping { option } => {
                let view = priced(cart);
                shipping::check_select(&rules().shipping, &view.lines, cart.destination.as_ref(), option)
            }
            _ => Ok(()),
        }
    }
}

/// The simulated catalog's shipping and tax rules.
pub fn rules() -> CartRules {
    let band = |up_to: Option<u32>, amount| WeightBand {
        up_to_grams: up_to,
        price: Money::new(amount, "EUR"),
    };
    CartRules {
        shipping: vec![
            ShippingRule {
                option: "std".into(),
                name: "Standard".into(),
                countries: vec!["DE".into(), "FR".into()],
                max_weight_grams: Some(10_000),
                excluded_classes: vec![],
                bands: vec![band(Some(2_000), 0), band(None, 500)],
            },
            ShippingRule {
                option: "express".into(),
                name: "Express".into(),
                countries: vec!["DE".into()],
                max_weight_grams: Some(2_500),
                excluded_classes: vec!["bulky".into()],
                bands: vec![band(None, 900)],
            },
        ],
        tax: TaxRules {
            prices_include_tax: true,
            rates: vec![
                TaxRate {
                    country: "DE".into(),
                    rate_bp: 1900,
                },
                TaxRate {
                    country: "FR".into(),
                    rate_bp: 2000,
                },
            ],
        },
    }
}

#[derive(Debug, Clone, Default)]
pub struct StoredCart {
    pub cart: Cart,
    pub events: Vec<AppliedEvent>,
    pub closed: bool,
    /// Account carts answer only requests signed in as their owner.
    pub owner: Option<String>,
    /// Merged at sign-in into this account cart (then also `closed`).
    pub merged_into: Option<String>,
    /// The report of that merge (a resent attach gets it again).
    pub report: MergeReport,
    /// The last merge into this cart: the snapshot it committed (the
    /// replay base) and how many events came before it.
    pub base: Option<(Cart, usize)>,
    /// Merges into this cart (each is one version).
    pub merges: u64,
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

/// What the authority charges: 1.00 EUR a unit of 500 g (`c` is bulky),
/// shipping and tax by [`rules`], no discounts.
pub fn priced(cart: &Cart) -> CartView {
    let mut view = CartView::bare(cart);
    for line in &mut view.lines {
        line.unit_price = Some(Money::new(100, "EUR"));
        line.weight_grams = Some(500);
        line.shipping_class = (line.sku.as_str() == "c").then(|| "bulky".to_string());
    }
    view.rules = Some(rules());
    terms::derive(&mut view, &Money::zero("EUR"));
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
            stored.cart.owner = Some(owner.to_string());
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
            RequestKind::Attach { token } => return self.attach(token, request.auth.as_deref(), now),
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
        if stored.merged_into.is_some() {
            return refused(CartError::CartMerged);
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
                    status: OrderStatus::PendingPayment,
                    lines: Vec::new(),
                    coupons: Vec::new(),
                    shipping_option: stored.cart.shipping_option.clone(),
                    destination: stored.cart.destination.clone(),
                    totals: *view.totals.clone().unwrap_or_else(|| unreachable!("priced")),
                    created_at: now,
                    hold_until: now,
                    payment: None,
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

    /// `POST /carts/{token}/attach` as `user`: see the module docs.
    fn attach(&mut self, token: &str, user: Option<&str>, now: u64) -> Reply {
        let refused = |e: CartError| Reply::Failed(Failure::Permanent(e.to_body()));
        let attached = |token: String, cart: &Cart, merge_report: MergeReport| {
            Reply::Answer(Box::new(Response::Attached(AttachResponse {
                token,
                cart: priced(cart),
                merge_report,
            })))
        };
        let Some(user) = user else {
            return Reply::Failed(Failure::Permanent(ErrorBody {
                code: "unauthorized".into(),
                message: "sign in first".into(),
            }));
        };
        let Some(anonymous) = self.carts.get(token) else {
            return refused(CartError::CartNotFound);
        };
        if let Some(into) = &anonymous.merged_into {
            return match self.carts.get(into) {
                Some(account) if account.owner.as_deref() == Some(user) && !account.closed => {
                    attached(into.clone(), &account.cart, anonymous.report.clone())
                }
                _ => refused(CartError::CartMerged),
            };
        }
        if anonymous.closed {
            return refused(CartError::CartClosed);
        }
        match anonymous.owner.as_deref() {
            Some(owner) if owner == user => {
                return attached(token.to_string(), &anonymous.cart, MergeReport::default())
            }
            Some(_) => {
                return Reply::Failed(Failure::Permanent(ErrorBody {
                    code: "unauthorized".into(),
                    message: "another account's cart".into(),
                }))
            }
            None => {}
        }
        let guest = anonymous.cart.clone();
        let into = self
            .carts
            .iter()
            .find(|(_, c)| c.owner.as_deref() == Some(user) && !c.closed)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| self.create_account(user, now));
        let Some(account) = self.carts.get_mut(&into) else {
            unreachable!("found or created above")
        };
        let (mut merged, report) = merge(&account.cart, &guest, &self.limits);
        merged.version = account.cart.version + 1;
        merged.updated_at = now.max(account.cart.updated_at);
        merged.owner = Some(user.to_string());
        account.cart = merged.clone();
        account.base = Some((merged.clone(), account.events.len()));
        account.merges += 1;
        if let Some(anonymous) = self.carts.get_mut(token) {
            anonymous.closed = true;
            anonymous.merged_into = Some(into.clone());
            anonymous.report = report.clone();
        }
        attached(into, &merged, report)
    }
}
