//! Protocol v1: the JSON bodies exchanged by the browser SDK and the server.
//! Both sides (de)serialise these types, so the wire cannot drift.

use crate::authority::MutationResult;
use crate::command::Mutation;
use crate::merge::MergeReport;
use crate::model::{Cart, Coupon, Line, Options, Sku};
use crate::money::{Money, Totals};
use crate::prelude::*;
use serde::{Deserialize, Serialize};

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
    pub totals: Option<Totals>,
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
                })
                .collect(),
            coupons: cart.coupons.clone(),
            shipping_option: cart.shipping_option.clone(),
            totals: None,
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
    expected: Option<Money>,
    actual: Option<Money>,
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

/// An order built from a revalidated cart snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Order {
    pub id: String,
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub coupons: Vec<String>,
    pub shipping_option: Option<String>,
    pub totals: Totals,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: u64,
}

/// `POST /carts/{token}/checkout` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CheckoutResponse {
    pub order: Order,
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
}

/// `GET /catalog` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CatalogResponse {
    pub products: Vec<Product>,
}
