//! Pricing, inventory, coupons, shipping rules and tax: the services a
//! storefront already has. The server only talks to them through
//! [`Pricing`] and [`Inventory`]; the bundled [`DemoCatalog`] (an in-memory
//! catalog loaded from JSON, with admin setters for `--dev`) and
//! [`SqliteInventory`] / [`PostgresInventory`] (stock in the cart database,
//! shared by every process) stand in for them. Stock is held for orders by
//! the store itself, in the transaction that creates the order
//! ([`crate::store::CartStore::commit_order`]), so the inventory of record
//! lives in the cart database.

mod demo;
mod file;
mod pg_stock;
pub mod pricing;
mod stock;

pub use demo::{CouponRule, DemoCatalog, ProductUpdate, BUNDLED};
pub use file::{is_country, CatalogError, CatalogFile, ShippingEntry, ShippingRate};
pub use pg_stock::PostgresInventory;
pub use pricing::{price_cart, CatalogCheck, Priced};
pub use stock::SqliteInventory;

use cartsync_core::protocol::v1::Product;
use cartsync_core::{CartRules, Money, Sku};
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

/// Prices, names, images, weights, coupons, shipping rules and tax.
pub trait Pricing: Send + Sync {
    /// The catalog's currency (every price is in it).
    fn currency(&self) -> String;
    fn product(&self, sku: &Sku) -> Option<Product>;
    fn products(&self) -> Vec<Product>;
    /// Judges a coupon code (canonical upper case) against a subtotal.
    fn coupon(&self, code: &str, subtotal: &Money) -> CouponVerdict;
    /// The shipping options and the tax table (the core judges carts
    /// with them).
    fn rules(&self) -> CartRules;
}

pub use crate::store::Shortfall;

/// The inventory service could not answer (detail for the logs).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// It could not be reached, or the connection broke mid-call.
    #[error("inventory unavailable: {0}")]
    Unavailable(String),
    #[error("inventory failed: {0}")]
    Failed(String),
}

/// Stock levels (what is left after the holds of unpaid and paid orders).
#[async_trait::async_trait]
pub trait Inventory: Send + Sync {
    /// Units available per tracked SKU.
    async fn levels(&self) -> Result<BTreeMap<Sku, u32>, InventoryError>;
    /// Admin: sets the stock of a SKU.
    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), InventoryError>;
}
