//! The JSON form of a catalog (`--catalog`) and what a catalog must obey
//! before it is served: every price in the catalog's currency, valid SKUs,
//! shipping rules the core can judge (valid option ids and countries, price
//! bands lightest first with only the last one unbounded) and a tax table
//! with at most one rate per country, none over 100 %.

use super::demo::CouponRule;
use cartsync_core::protocol::v1::Product;
use cartsync_core::tax::MAX_RATE_BP;
use cartsync_core::{CartRules, Limits, Money, ShippingRule, TaxRules, WeightBand};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The JSON form of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    pub currency: String,
    pub products: Vec<Product>,
    #[serde(default)]
    pub coupons: Vec<CouponRule>,
    #[serde(default)]
    pub shipping: Vec<ShippingEntry>,
    /// Without one, no country pays tax.
    #[serde(default)]
    pub tax: TaxRules,
}

/// A shipping option: a full rule, or the older `{option, price}` form (a
/// flat price, every country, any weight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ShippingEntry {
    Rule(ShippingRule),
    Rate(ShippingRate),
}

/// A flat shipping rate (catalogs written before shipping rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub option: String,
    pub price: Money,
}

impl ShippingEntry {
    /// The rule this entry stands for.
    pub fn rule(&self) -> ShippingRule {
        match self {
            ShippingEntry::Rule(rule) => rule.clone(),
            ShippingEntry::Rate(rate) => ShippingRule {
                option: rate.option.clone(),
                name: rate.option.clone(),
                countries: Vec::new(),
                max_weight_grams: None,
                excluded_classes: Vec::new(),
                bands: vec![WeightBand {
                    up_to_grams: None,
                    price: rate.price.clone(),
                }],
            },
        }
    }
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
    #[error("shipping option {option:?}: {problem}")]
    Shipping { option: String, problem: &'static str },
    #[error("tax rate for {country:?}: {problem}")]
    Tax { country: String, problem: &'static str },
}

/// Whether `code` is an ISO 3166-1 alpha-2 code as the core stores them.
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks a catalog and returns its rules.
pub fn validate(file: &CatalogFile) -> Result<CartRules, CatalogError> {
    let limits = Limits::default();
    for p in &file.products {
        if p.price.currency != file.currency || p.price.amount < 0 {
            return Err(CatalogError::Currency(p.sku.0.clone()));
        }
        if limits.check_sku(&p.sku).is_err() {
            return Err(CatalogError::Sku(p.sku.0.clone()));
        }
    }
    let shipping: Vec<ShippingRule> = file.shipping.iter().map(ShippingEntry::rule).collect();
    let mut seen = BTreeSet::new();
    for rule in &shipping {
        let bad = |problem| CatalogError::Shipping {
            option: rule.option.clone(),
            problem,
        };
        if limits.check_shipping_option(&rule.option).is_err() {
            return Err(bad("not a valid option id"));
        }
        if !seen.insert(rule.option.as_str()) {
            return Err(bad("listed twice"));
        }
        if !rule.countries.iter().all(|c| is_country(c)) {
            return Err(bad("countries must be upper-case ISO 3166-1 alpha-2 codes"));
        }
        check_bands(&rule.bands, &file.currency).map_err(bad)?;
    }
    let mut countries = BTreeSet::new();
    for rate in &file.tax.rates {
        let bad = |problem| CatalogError::Tax {
            country: rate.country.clone(),
            problem,
        };
        if !is_country(&rate.country) {
            return Err(bad("not an upper-case ISO 3166-1 alpha-2 code"));
        }
        if rate.rate_bp > MAX_RATE_BP {
            return Err(bad("over 10000 basis points"));
        }
        if !countries.insert(rate.country.as_str()) {
            return Err(bad("listed twice"));
        }
    }
    Ok(CartRules {
        shipping,
        tax: file.tax.clone(),
    })
}

fn check_bands(bands: &[WeightBand], currency: &str) -> Result<(), &'static str> {
    if bands.is_empty() {
        return Err("needs at least one price band");
    }
    if bands.iter().any(|b| b.price.currency != currency || b.price.amount < 0) {
        return Err("band prices must be non-negative amounts in the catalog's currency");
    }
    let mut previous: Option<u32> = None;
    for (i, b) in bands.iter().enumerate() {
        match b.up_to_grams {
            None if i + 1 != bands.len() => return Err("only the last band may be unbounded"),
            Some(up) if previous.is_some_and(|p| up <= p) => return Err("bands must be lightest first"),
            _ => {}
        }
        previous = b.up_to_grams;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(shipping: serde_json::Value, tax: serde_json::Value) -> CatalogFile {
        serde_json::from_value(serde_json::json!({
            "currency": "EUR",
            "products": [{"sku": "tee", "name": "Tee", "price": {"amount": 100, "currency": "EUR"}, "stock": 1}],
            "shipping": shipping,
            "tax": tax,
        }))
        .unwrap()
    }

    #[test]
    fn older_flat_rates_become_rules() {
        let f = file(
            serde_json::json!([{"option": "standard", "price": {"amount": 0, "currency": "EUR"}}]),
            serde_json::json!({"prices_include_tax": true}),
        );
        let rules = validate(&f).unwrap();
        assert_eq!(rules.shipping[0].bands[0].up_to_grams, None);
        assert!(rules.shipping[0].countries.is_empty());
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let band = |up: Option<u32>, amount: i64| serde_json::json!({"up_to_grams": up, "price": {"amount": amount, "currency": "EUR"}});
        let rule = |bands: Vec<serde_json::Value>, countries: &[&str]| serde_json::json!([{"option": "std", "name": "Std", "countries": countries, "bands": bands}]);
        let cases = [
            (rule(vec![], &[]), "needs at least one price band"),
            (
                rule(vec![band(None, 1), band(Some(5), 1)], &[]),
                "only the last band may be unbounded",
            ),
            (
                rule(vec![band(Some(5), 1), band(Some(5), 2)], &[]),
                "bands must be lightest first",
            ),
            (
                rule(vec![band(None, -1)], &[]),
                "band prices must be non-negative amounts in the catalog's currency",
            ),
            (
                rule(vec![band(None, 1)], &["de"]),
                "countries must be upper-case ISO 3166-1 alpha-2 codes",
            ),
        ];
        for (shipping, want) in cases {
            match validate(&file(shipping, serde_json::json!({"prices_include_tax": false}))) {
                Err(CatalogError::Shipping { problem, .. }) => assert_eq!(problem, want),
                other => panic!("{want}: {other:?}"),
            }
        }
        let ok = rule(vec![band(Some(1_000), 1), band(Some(2_000), 2), band(None, 3)], &["DE"]);
        assert!(validate(&file(ok.clone(), serde_json::json!({"prices_include_tax": false}))).is_ok());
        for (tax, want) in [
            (
                serde_json::json!({"prices_include_tax": true, "rates": [{"country": "DE", "rate_bp": 10_001}]}),
                "over 10000 basis points",
            ),
            (
                serde_json::json!({"prices_include_tax": true, "rates": [{"country": "DE", "rate_bp": 1}, {"country": "DE", "rate_bp": 2}]}),
                "listed twice",
            ),
        ] {
            match validate(&file(ok.clone(), tax)) {
                Err(CatalogError::Tax { problem, .. }) => assert_eq!(problem, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
