//! The demo catalog: products, stock, coupons and shipping rates in memory,
//! loaded from a JSON file (or the bundled `demo-catalog.json`).

use super::{CouponVerdict, Inventory, InventoryError, Pricing, Shortfall};
use cartsync_core::protocol::v1::Product;
use cartsync_core::{Money, Sku};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The bundled catalog: two dozen products, four coupons, three rates.
pub const BUNDLED: &str = include_str!("demo-catalog.json");

/// A coupon as the catalog defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponRule {
    pub code: String,
    /// Percentage off the subtotal (1..=100).
    #[serde(default)]
    pub percent_off: Option<u32>,
    /// A fixed amount off.
    #[serde(default)]
    pub amount_off: Option<Money>,
    /// The subtotal must reach this for the coupon to apply.
    #[serde(default)]
    pub min_subtotal: Option<Money>,
    /// `false` once the promotion has ended.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub option: String,
    pub price: Money,
}

/// The JSON form of a catalog (`--catalog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    pub currency: String,
    pub products: Vec<Product>,
    #[serde(default)]
    pub coupons: Vec<CouponRule>,
    #[serde(default)]
    pub shipping: Vec<ShippingRate>,
}

#[derive(Debug)]
struct State {
    currency: String,
    products: BTreeMap<Sku, Product>,
    coupons: BTreeMap<String, CouponRule>,
    shipping: BTreeMap<String, Money>,
}

/// In-memory pricing and inventory. Stock lives here, so reservations are
/// atomic within one process; a deployment with several processes plugs in
/// its inventory service instead.
#[derive(Debug)]
pub struct DemoCatalog {
    state: RwLock<State>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("catalog entry {0:?} is priced in another currency than the catalog")]
    Currency(String),
    #[error("catalog sku {0:?} is not a valid sku")]
    Sku(String),
}

impl DemoCatalog {
    /// The bundled demo catalog.
    pub fn bundled() -> Result<Self, CatalogError> {
        Self::from_json(BUNDLED)
    }

    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_json::from_str(json)?;
        Self::from_file(file)
    }

    pub fn from_file(file: CatalogFile) -> Result<Self, CatalogError> {
        let limits = cartsync_core::Limits::default();
        for p in &file.products {
            if p.price.currency != file.currency {
                return Err(CatalogError::Currency(p.sku.0.clone()));
            }
            if limits.check_sku(&p.sku).is_err() {
                return Err(CatalogError::Sku(p.sku.0.clone()));
            }
        }
        for s in &file.shipping {
            if s.price.currency != file.currency {
                return Err(CatalogError::Currency(s.option.clone()));
            }
        }
        let state = State {
            currency: file.currency,
            products: file.products.into_iter().map(|p| (p.sku.clone(), p)).collect(),
            coupons: file
                .coupons
                .into_iter()
                .map(|c| (cartsync_core::normalize_coupon(&c.code), c))
                .collect(),
            shipping: file.shipping.into_iter().map(|s| (s.option, s.price)).collect(),
        };
        Ok(DemoCatalog {
            state: RwLock::new(state),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Admin: changes a product's price, stock, name or image. `None` when
    /// the SKU is unknown or the price is in another currency.
    pub fn update_product(&self, sku: &Sku, update: ProductUpdate) -> Option<Product> {
        let mut state = self.write();
        let currency = state.currency.clone();
        let p = state.products.get_mut(sku)?;
        if let Some(amount) = update.price {
            if amount.currency != currency {
                return None;
            }
            p.price = amount;
        }
        if let Some(stock) = update.stock {
            p.stock = stock;
        }
        if let Some(name) = update.name {
            p.name = name;
        }
        if let Some(image) = update.image {
            p.image = Some(image);
        }
        Some(p.clone())
    }

    /// Admin: creates or replaces a coupon.
    pub fn put_coupon(&self, rule: CouponRule) -> CouponRule {
        let code = cartsync_core::normalize_coupon(&rule.code);
        let rule = CouponRule {
            code: code.clone(),
            ..rule
        };
        self.write().coupons.insert(code, rule.clone());
        rule
    }
}

/// Fields an admin may change on a product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub stock: Option<u32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
}

impl Pricing for DemoCatalog {
    fn currency(&self) -> String {
        self.read().currency.clone()
    }

    fn product(&self, sku: &Sku) -> Option<Product> {
        self.read().products.get(sku).cloned()
    }

    fn products(&self) -> Vec<Product> {
        self.read().products.values().cloned().collect()
    }

    fn coupon(&self, code: &str, subtotal: &Money) -> CouponVerdict {
        let state = self.read();
        let rejected = |reason: &str| CouponVerdict::Rejected { reason: reason.into() };
        let Some(rule) = state.coupons.get(code) else {
            return rejected("unknown_coupon");
        };
        if !rule.active {
            return rejected("expired");
        }
        if let Some(min) = &rule.min_subtotal {
            if subtotal.amount < min.amount {
                return rejected("minimum_not_met");
            }
        }
        let percent = rule.percent_off.map(|p| {
            let p = i128::from(p.min(100));
            (i128::from(subtotal.amount) * p / 100) as i64
        });
        let fixed = rule.amount_off.as_ref().map(|m| m.amount.max(0));
        let amount = percent.unwrap_or(0).saturating_add(fixed.unwrap_or(0));
        CouponVerdict::Applied {
            discount: Money::new(amount, &subtotal.currency),
        }
    }

    fn shipping(&self, option: &str) -> Option<Money> {
        self.read().shipping.get(option).cloned()
    }
}

/// In-memory stock (tests and single-process demos).
#[async_trait::async_trait]
impl Inventory for DemoCatalog {
    async fn reserve(&self, lines: &[(Sku, u32)]) -> Result<Result<(), Vec<Shortfall>>, InventoryError> {
        let mut state = self.write();
        let shortfalls: Vec<Shortfall> = lines
            .iter()
            .filter_map(|(sku, requested)| {
                let available = state.products.get(sku).map_or(0, |p| p.stock);
                (available < *requested).then(|| Shortfall {
                    sku: sku.clone(),
                    requested: *requested,
                    available,
                })
            })
            .collect();
        if !shortfalls.is_empty() {
            return Ok(Err(shortfalls));
        }
        for (sku, n) in lines {
            if let Some(p) = state.products.get_mut(sku) {
                p.stock -= n;
            }
        }
        Ok(Ok(()))
    }

    async fn release(&self, lines: &[(Sku, u32)]) -> Result<(), InventoryError> {
        let mut state = self.write();
        for (sku, n) in lines {
            if let Some(p) = state.products.get_mut(sku) {
                p.stock = p.stock.saturating_add(*n);
            }
        }
        Ok(())
    }

    async fn levels(&self) -> Result<BTreeMap<Sku, u32>, InventoryError> {
        Ok(self
            .read()
            .products
            .values()
            .map(|p| (p.sku.clone(), p.stock))
            .collect())
    }

    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), InventoryError> {
        if let Some(p) = self.write().products.get_mut(sku) {
            p.stock = stock;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bundled_catalog_loads_and_reserves_all_or_nothing() {
        let c = DemoCatalog::bundled().unwrap();
        assert!(c.products().len() >= 24);
        let vase = Sku::new("last-one-vase");
        let tee = Sku::new("tee-black");
        assert!(c
            .reserve(&[(tee.clone(), 1), (vase.clone(), 2)])
            .await
            .unwrap()
            .is_err());
        assert_eq!(c.product(&tee).unwrap().stock, 40);
        assert!(c.reserve(&[(vase.clone(), 1)]).await.unwrap().is_ok());
        assert_eq!(
            c.reserve(&[(vase.clone(), 1)]).await.unwrap().unwrap_err()[0].available,
            0
        );
        c.release(&[(vase.clone(), 1)]).await.unwrap();
        assert_eq!(c.product(&vase).unwrap().stock, 1);
    }

    #[test]
    fn coupon_verdicts() {
        let c = DemoCatalog::bundled().unwrap();
        let sub = Money::new(2000, "EUR");
        assert_eq!(
            c.coupon("SAVE10", &sub),
            CouponVerdict::Applied {
                discount: Money::new(200, "EUR")
            }
        );
        assert!(matches!(c.coupon("FIVEOFF", &sub), CouponVerdict::Rejected { reason } if reason == "minimum_not_met"));
        assert!(matches!(c.coupon("SUMMER24", &sub), CouponVerdict::Rejected { reason } if reason == "expired"));
        assert!(matches!(c.coupon("NOPE", &sub), CouponVerdict::Rejected { reason } if reason == "unknown_coupon"));
    }
}
