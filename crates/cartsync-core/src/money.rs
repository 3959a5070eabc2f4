//! Money as integer minor units plus an ISO 4217 currency code. Never floats.

use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// An amount of money: `amount` in minor units (cents for EUR/USD).
///
/// ```
/// use cartsync_core::Money;
/// let m = Money::new(1999, "EUR").times(3).unwrap();
/// assert_eq!(m.amount, 5997);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Money {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub amount: i64,
    pub currency: String,
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Money {
            amount,
            currency: currency.to_string(),
        }
    }

    pub fn zero(currency: &str) -> Self {
        Money::new(0, currency)
    }

    /// `self × n`, or `None` on overflow.
    pub fn times(&self, n: u32) -> Option<Money> {
        self.amount.checked_mul(i64::from(n)).map(|amount| Money {
            amount,
            currency: self.currency.clone(),
        })
    }

    /// `self + other` in the same currency, or `None` on overflow or a
    /// currency mismatch.
    pub fn plus(&self, other: &Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.amount.checked_add(other.amount).map(|amount| Money {
            amount,
            currency: self.currency.clone(),
        })
    }
}

/// Cart totals as pricing estimates them (see `terms.rs`). The order's
/// totals are computed again at checkout from a revalidated snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    /// The selected shipping option's price, when it can take the cart.
    #[serde(default)]
    pub shipping: Option<Money>,
    /// The tax for the destination (none before one is set).
    #[serde(default)]
    pub tax: Option<crate::tax::Tax>,
    /// `subtotal − discount + shipping`, plus tax when prices exclude it.
    pub estimated_total: Money,
}
