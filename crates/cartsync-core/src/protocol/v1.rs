//! Protocol v1: the JSON bodies exchanged by the browser SDK and the server.
//! Both sides (de)serialise these types, so the wire cannot drift.

use crate::authority::MutationResult;
use crate::command::Mutation;
use crate::merge::MergeReport;
use crate::model::{Cart, Coupon, Destination, Line, Options, Sku};
use crate::money::{Money, Totals};
use crate::prelude::*;
use crate::shipping::{ShippingQuote, ShippingReason};
use crate::terms::CartRules;
use serde::{Deserialize, Serialize};

mod order;
pub use order::*;

/// A cart line as rendered: the durable line plus catalog display data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LineView {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub quantity: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub unit_price: Option<Money>,
    #[serde(default)]
    pub image: Option<String>,
    /// Weight of one unit in grams (shipping constraints).
    #[serde(default)]
    pub weight_grams: Option<u32>,
    /// The product's shipping class (`bulky`, `fragile`, ...), if any.
    #[serde(default)]
    pub shipping_class: Option<String>,
}

/// The cart as the server sends it (`GET /carts/{token}` and every response
/// that carries a cart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CartView {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub lines: Vec<LineView>,
    #[serde(default)]
    pub coupons: Vec<Coupon>,
    #[serde(default)]
    pub shipping_option: Option<String>,
    #[serde(default)]
    pub destination: Option<Destination>,
    /// Every shipping option of the catalog, judged for this cart.
    #[serde(default)]
    pub shipping_options: Vec<ShippingQuote>,
    /// Boxed: a view is moved around a lot, its totals rarely.
    #[serde(default)]
    pub totals: Option<Box<Totals>>,
    /// The catalog's shipping and tax rules, so the optimistic view can
    /// judge the cart as the authority does.
    #[serde(default)]
    pub rules: Option<CartRules>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated_at: u64,
}

impl CartView {
    /// A view with no display data (what a client has before pricing).
    pub fn bare(cart: &Cart) -> Self {
        CartView {
            version: cart.version,
            owner: cart.owner.clone(),
            lines: cart
                .lines
                .iter()
                .map(|l| LineView {
                    sku: l.sku.clone(),
                    options: l.options.clone(),
                    quantity: l.quantity,
                    name: None,
                    unit_price: None,
                    image: None,
                    weight_grams: None,
                    shipping_class: None,
                })
                .collect(),
            coupons: cart.coupons.clone(),
            shipping_option: cart.shipping_option.clone(),
            destination: cart.destination.clone(),
            shipping_options: Vec::new(),
            totals: None,
            rules: None,
            updated_at: cart.updated_at,
        }
    }

    /// The durable cart inside the view.
    pub fn to_cart(&self) -> Cart {
        Cart {
            version: self.version,
            owner: self.owner.clone(),
            lines: self
                .lines
                .iter()
                .map(|l| Line {
                    sku: l.sku.clone(),
                    options: l.options.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            coupons: self.coupons.clone(),
            shipping_option: self.shipping_option.clone(),
            destination: self.destination.clone(),
            updated_at: self.updated_at,
        }
    }
}

/// `POST /carts` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CreateCartResponse {
    pub token: String,
    pub cart: CartView,
}

/// `POST /carts/{token}/mutations` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MutationsRequest {
    pub mutations: Vec<Mutation>,
}

/// `POST /carts/{token}/mutations` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MutationsResponse {
    pub cart: CartView,
    pub results: Vec<MutationResult>,
}

/// `409 version_conflict`: the current cart and the results of the mutations
/// before the conflicting one (which are committed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ConflictResponse {
    pub code: String,
    pub message: String,
    pub cart: CartView,
    #[serde(default)]
    pub results: Vec<MutationResult>,
}

/// `POST /carts/{token}/attach` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AttachResponse {
    pub token: String,
    pub cart: CartView,
    pub merge_report: MergeReport,
}

/// `POST /carts/{token}/checkout` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CheckoutRequest {
    pub expected_total: Money,
    /// The tax the shopper saw (`totals.tax`), when they saw one: checkout
    /// reports `tax_changed` when the rate differs, or the amount does for
    /// a reason no other problem reports.
    #[serde(default)]
    pub expected_tax: Option<crate::tax::Tax>,
}

/// One reason checkout could not go ahead as the shopper saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case", try_from = "WireProblem")]
pub enum CheckoutProblem {
    PriceChanged {
        sku: Sku,
        #[serde(default)]
        options: Options,
        old_price: Option<Money>,
        new_price: Money,
    },
    OutOfStock {
        sku: Sku,
        #[serde(default)]
        options: Options,
        requested: u32,
        available: u32,
    },
    CouponRejected {
        code: String,
        reason: String,
    },
    TotalChanged {
        expected: Money,
        actual: Money,
    },
    /// No usable shipping option: no destination or option, or the
    /// selected one cannot take the cart.
    ShippingUnavailable {
        option: Option<String>,
        cause: ShippingReason,
    },
    /// The tax differs from what the shopper saw (a rate changed, or the
    /// amount it applies to did).
    TaxChanged {
        country: String,
        rate_bp: u32,
        expected: Money,
        actual: Money,
    },
}

/// The flat shape a problem is read from (see `command::WireCommand` for
/// why internally tagged enums are not deserialised directly).
#[derive(Deserialize)]
struct WireProblem {
    #[serde(rename = "type")]
    kind: String,
    sku: Option<Sku>,
    options: Option<Options>,
    old_price: Option<Money>,
    new_price: Option<Money>,
    requested: Option<u32>,
    available: Option<u32>,
    code: Option<String>,
    reason: Option<String>,
    cause: Option<ShippingReason>,
    expected: Option<Money>,
    actual: Option<Money>,
    option: Option<String>,
    country: Option<String>,
    rate_bp: Option<u32>,
}

impl TryFrom<WireProblem> for CheckoutProblem {
    type Error = String;

    fn try_from(w: WireProblem) -> Result<Self, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| format!("checkout problem needs the field `{field}`"))
        }
        let options = w.options.unwrap_or_default();
        Ok(match w.kind.as_str() {
            "price_changed" => CheckoutProblem::PriceChanged {
                sku: need(w.sku, "sku")?,
                options,
                old_price: w.old_price,
                new_price: need(w.new_price, "new_price")?,
            },
            "out_of_stock" => CheckoutProblem::OutOfStock {
                sku: need(w.sku, "sku")?,
                options,
                requested: need(w.requested, "requested")?,
                available: need(w.available, "available")?,
            },
            "coupon_rejected" => CheckoutProblem::CouponRejected {
                code: need(w.code, "code")?,
                reason: need(w.reason, "reason")?,
            },
            "total_changed" => CheckoutProblem::TotalChanged {
                expected: need(w.expected, "expected")?,
                actual: need(w.actual, "actual")?,
            },
            "shipping_unavailable" => CheckoutProblem::ShippingUnavailable {
                option: w.option,
                cause: need(w.cause, "cause")?,
            },
            "tax_changed" => CheckoutProblem::TaxChanged {
                country: need(w.country, "country")?,
                rate_bp: need(w.rate_bp, "rate_bp")?,
                expected: need(w.expected, "expected")?,
                actual: need(w.actual, "actual")?,
            },
            other => return Err(format!("unknown checkout problem `{other}`")),
        })
    }
}

/// `409 checkout_revalidation_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CheckoutRejected {
    pub code: String,
    pub message: String,
    pub problems: Vec<CheckoutProblem>,
    pub cart: CartView,
}

/// A catalog entry (`GET /catalog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub price: Money,
    #[serde(default)]
    pub image: Option<String>,
    pub stock: u32,
    /// Weight of one unit in grams (0: weightless, e.g. a gift card).
    #[serde(default)]
    pub weight_grams: u32,
    /// A shipping class some options cannot carry (`bulky`, `fragile`).
    #[serde(default)]
    pub shipping_class: Option<String>,
}

/// `GET /catalog` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CatalogResponse {
    pub products: Vec<Product>,
}
