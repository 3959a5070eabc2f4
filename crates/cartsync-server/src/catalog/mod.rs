//! Pricing, inventory and coupons: the services a storefront already has.
//! The server only talks to them through [`Pricing`] and [`Inventory`]; the
//! bundled [`DemoCatalog`] (an in-memory catalog loaded from JSON, with admin
//! setters for `--dev`) and [`SqliteInventory`] / [`PostgresInventory`]
//! (stock in the cart database, shared by every process) stand in for
//! them; a real deployment replaces both.

mod demo;
mod pg_stock;
pub mod pricing;
mod stock;

pub use demo::{CatalogError, CatalogFile, CouponRule, DemoCatalog, ProductUpdate, ShippingRate, BUNDLED};
pub use pg_stock::PostgresInventory;
pub use pricing::{price_cart, CatalogCheck, Priced};
pub use stock::SqliteInventory;

use cartsync_core::protocol::v1::Product;
use cartsync_core::{Money, Sku};
use std::collections::BTreeMap;

/// How a coupon fared with pricing for a given subtotal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponVerdict {
    /// Accepted; takes this much off.
    Applied { discount: Money },
    /// Refused, with a machine-readable reason (`unknown_coupon`, `expired`,
    /// `minimum_not_met`).
    Rejected { reason: String },
}

/// Prices, names, images, coupons and shipping rates.
pub trait Pricing: Send + Sync {
    /// The catalog's currency (every price is in it).
    fn currency(&self) -> String;
    fn product(&self, sku: &Sku) -> Option<Product>;
    fn products(&self) -> Vec<Product>;
    /// Judges a coupon code (canonical upper case) against a subtotal.
    fn coupon(&self, code: &str, subtotal: &Money) -> CouponVerdict;
    /// The price of a shipping option, or `None` if it is not offered.
    fn shipping(&self, option: &str) -> Option<Money>;
}

/// A line that could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub sku: Sku,
    pub requested: u32,
    pub available: u32,
}

/// The inventory service could not answer (detail for the logs).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// It could not be reached, or the connection broke mid-call.
    #[error("inventory unavailable: {0}")]
    Unavailable(String),
    #[error("inventory failed: {0}")]
    Failed(String),
}

/// Stock levels and reservations.
#[async_trait::async_trait]
pub trait Inventory: Send + Sync {
    /// Reserves every `(sku, quantity)` or nothing (all-or-nothing, atomic
    /// with respect to other reservations): `Ok(Err(shortfalls))` when some
    /// line cannot be served. Quantities of one SKU over several lines must
    /// be summed by the caller.
    async fn reserve(&self, lines: &[(Sku, u32)]) -> Result<Result<(), Vec<Shortfall>>, InventoryError>;
    /// Gives back a reservation that did not turn into an order.
    async fn release(&self, lines: &[(Sku, u32)]) -> Result<(), InventoryError>;
    /// Units available per tracked SKU.
    async fn levels(&self) -> Result<BTreeMap<Sku, u32>, InventoryError>;
    /// Admin: sets the stock of a SKU.
    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), InventoryError>;
}
