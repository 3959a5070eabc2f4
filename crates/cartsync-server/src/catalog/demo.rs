//! The demo catalog: products (with weights and shipping classes), stock,
//! coupons, shipping rules and the tax table in memory, loaded from a JSON
//! file (or the bundled `demo-catalog.json`).

use super::file::{validate, CatalogError, CatalogFile};
use super::{CouponVerdict, Inventory, InventoryError, Pricing};
use cartsync_core::protocol::v1::Product;
use cartsync_core::{CartRules, Money, Sku, TaxRate, TaxRules};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The bundled catalog: two dozen products, four coupons, four shipping
/// options and the EU tax table.
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

#[derive(Debug)]
struct State {
    currency: String,
    products: BTreeMap<Sku, Product>,
    coupons: BTreeMap<String, CouponRule>,
    rules: CartRules,
}

/// In-memory pricing and inventory. Stock lives here, so reservations are
/// atomic within one process; a deployment with several processes plugs in
/// its inventory service instead.
#[derive(Debug)]
pub struct DemoCatalog {
    state: RwLock<State>,
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
        let rules = validate(&file)?;
        let state = State {
            currency: file.currency,
            products: file.products.into_iter().map(|p| (p.sku.clone(), p)).collect(),
            coupons: file
                .coupons
                .into_iter()
                .map(|c| (cartsync_core::normalize_coupon(&c.code), c))
                .collect(),
            rules,
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

    /// Admin: sets the tax rate of a country (basis points), or removes it
    /// (`None`: the country then pays no tax). Returns the table.
    pub fn put_tax_rate(&self, country: &str, rate_bp: Option<u32>) -> TaxRules {
        let mut state = self.write();
        let rates = &mut state.rules.tax.rates;
        rates.retain(|r| r.country != country);
        if let Some(rate_bp) = rate_bp {
            rates.push(TaxRate {
                country: country.to_string(),
                rate_bp,
            });
            rates.sort_by(|a, b| a.country.cmp(&b.country));
        }
        state.rules.tax.clone()
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

    fn rules(&self) -> CartRules {
        self.read().rules.clone()
    }
}

/// In-memory stock (tests and single-process demos).
#[async_trait::async_trait]
impl Inventory for DemoCatalog {
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
    async fn bundled_catalog_loads_with_rules_and_stock() {
        let c = DemoCatalog::bundled().unwrap();
        assert!(c.products().len() >= 24);
        assert!(c
            .products()
            .iter()
            .all(|p| p.weight_grams > 0 || p.sku.as_str() == "gift-card-50"));
        let rules = c.rules();
        assert_eq!(
            rules.shipping.iter().map(|r| r.option.as_str()).collect::<Vec<_>>(),
            ["standard", "express", "pickup", "international"]
        );
        assert_eq!(rules.tax.rate_for("DE"), 1900);
        assert!(rules.tax.prices_include_tax);
        let vase = Sku::new("last-one-vase");
        assert_eq!(c.levels().await.unwrap()[&vase], 1);
        c.set_stock(&vase, 3).await.unwrap();
        assert_eq!(c.levels().await.unwrap()[&vase], 3);
        assert_eq!(c.put_tax_rate("DE", Some(1600)).rate_for("DE"), 1600);
        assert_eq!(c.put_tax_rate("DE", None).rate_for("DE"), 0);
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
