//! Tax: a rate per destination country, prices tax-inclusive or exclusive
//! as the catalog declares, computed in integer minor units with one
//! rounding rule, the same for the authority and the browser's view.
//!
//! **The rule.** Tax is computed once per cart (never per line) on the
//! taxable amount: the subtotal, less the discount, plus shipping (shipping
//! is taxed at the destination's rate, as the goods are). The rate is in
//! basis points (1900 = 19 %); a country the table does not list has rate
//! 0. With exclusive prices, `tax = round(taxable × rate / 10000)` and the
//! total is `taxable + tax`; with inclusive prices the tax is the part of
//! the taxable amount it already holds, `tax = round(taxable × rate /
//! (10000 + rate))`, and the total is the taxable amount. `round` is half
//! up (half away from zero; amounts are never negative). Tax is never
//! negative: a negative taxable amount counts as zero.
//!
//! The two forms agree: goods at net `n` exclusive carry tax `t` and cost
//! `n + t`; the same goods priced `n + t` inclusive carry the same tax `t`
//! (`tests/laws.rs` checks it for every amount and rate).

use crate::money::Money;
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// The rate of one country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TaxRate {
    pub country: String,
    /// Basis points: 1900 is 19 %.
    pub rate_bp: u32,
}

/// The catalog's tax table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TaxRules {
    /// Catalog prices (and shipping prices) already include tax.
    pub prices_include_tax: bool,
    #[serde(default)]
    pub rates: Vec<TaxRate>,
}

/// The tax of a cart or an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Tax {
    /// The destination country the rate is for.
    pub country: String,
    pub rate_bp: u32,
    pub amount: Money,
    /// The amount is part of the prices (inclusive) rather than added.
    pub included: bool,
}

/// The highest rate a table may hold (100 %).
pub const MAX_RATE_BP: u32 = 10_000;

impl TaxRules {
    /// The rate for `country` (0 when the table does not list it).
    pub fn rate_for(&self, country: &str) -> u32 {
        self.rates
            .iter()
            .find(|r| r.country == country)
            .map_or(0, |r| r.rate_bp.min(MAX_RATE_BP))
    }
}

/// `round(a × r / b)` half up, for `r ≤ MAX_RATE_BP` and `0 < b ≤ 2 ×
/// MAX_RATE_BP`, in 64-bit arithmetic: `a = q·b + m`, so `a·r/b = q·r +
/// m·r/b`, where `q·r` cannot overflow and `m·r` is small.
fn mul_div_round(a: u64, r: u64, b: u64) -> u64 {
    let (q, m) = (a / b, a % b);
    q.saturating_mul(r).saturating_add((2 * m * r + b) / (2 * b))
}

/// Tax added on top of a net amount (exclusive prices).
///
/// ```
/// use cartsync_core::tax::{tax_exclusive, tax_inclusive};
/// assert_eq!(tax_exclusive(1050, 1900), 200); // 199.5 rounds up
/// assert_eq!(tax_inclusive(1250, 1900), 200); // 199.58... of 12.50 gross
/// assert_eq!(tax_exclusive(-5, 1900), 0);
/// ```
pub fn tax_exclusive(net: i64, rate_bp: u32) -> i64 {
    let net = u64::try_from(net).unwrap_or(0);
    let rate = u64::from(rate_bp.min(MAX_RATE_BP));
    i64::try_from(mul_div_round(net, rate, 10_000)).unwrap_or(i64::MAX)
}

/// Tax contained in a gross amount (inclusive prices).
pub fn tax_inclusive(gross: i64, rate_bp: u32) -> i64 {
    let gross = u64::try_from(gross).unwrap_or(0);
    let rate = u64::from(rate_bp.min(MAX_RATE_BP));
    i64::try_from(mul_div_round(gross, rate, 10_000 + rate)).unwrap_or(i64::MAX)
}

/// The tax on `taxable` for `country` under `rules`.
pub fn tax_for(rules: &TaxRules, country: &str, taxable: &Money) -> Tax {
    let rate_bp = rules.rate_for(country);
    let amount = match rules.prices_include_tax {
        true => tax_inclusive(taxable.amount, rate_bp),
        false => tax_exclusive(taxable.amount, rate_bp),
    };
    Tax {
        country: country.into(),
        rate_bp,
        amount: Money::new(amount, &taxable.currency),
        included: rules.prices_include_tax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up_and_rates_are_capped() {
        assert_eq!(tax_exclusive(50, 1000), 5);
        assert_eq!(tax_exclusive(5, 1000), 1); // 0.5 → 1
        assert_eq!(tax_exclusive(4, 1000), 0); // 0.4 → 0
        assert_eq!(tax_inclusive(110, 1000), 10);
        assert_eq!(tax_exclusive(100, 20_000), 100, "a rate over 100 % counts as 100 %");
        assert_eq!(tax_exclusive(i64::MAX, 10_000), i64::MAX);
        assert_eq!(tax_inclusive(0, 1900), 0);
    }

    #[test]
    fn rate_for_unknown_country_is_zero() {
        let rules = TaxRules {
            prices_include_tax: true,
            rates: vec![TaxRate {
                country: "DE".into(),
                rate_bp: 1900,
            }],
        };
        assert_eq!(rules.rate_for("DE"), 1900);
        assert_eq!(rules.rate_for("US"), 0);
        let t = tax_for(&rules, "DE", &Money::new(11_900, "EUR"));
        assert_eq!((t.amount.amount, t.included), (1_900, true));
    }
}

#[cfg(test)]
mod exact {
    use super::*;

    /// The 64-bit split computes exactly what 128-bit arithmetic does.
    #[test]
    fn matches_wide_arithmetic() {
        let wide =
            |a: u64, r: u64, b: u64| ((2 * u128::from(a) * u128::from(r) + u128::from(b)) / (2 * u128::from(b))) as u64;
        for a in [
            0,
            1,
            4,
            5,
            9_999,
            10_000,
            10_001,
            123_456_789,
            i64::MAX as u64 / 3,
            i64::MAX as u64,
        ] {
            for r in [0, 1, 500, 1_900, 2_100, 9_999, 10_000] {
                for b in [10_000, 10_000 + r] {
                    assert_eq!(mul_div_round(a, r, b), wide(a, r, b), "{a} {r} {b}");
                }
            }
        }
    }
}
