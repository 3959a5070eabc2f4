//! The checkout terms of a rendered cart: which shipping options can take
//! it (`shipping.rs`) and its totals with shipping and tax (`tax.rs`). The
//! authority renders every cart with [`derive`]; the browser's optimistic
//! view runs the same function on the same data (the catalog's rules and
//! each line's price and weight travel in the rendered cart), so the two
//! agree whenever the view knows every line.
//!
//! Totals: `subtotal` is the sum of unit price × quantity over the lines
//! with a price; `discount` (pricing's verdict on the coupons) is capped at
//! the subtotal; `shipping` is the selected option's price when it is
//! available; `tax` (with a destination) follows the tax rule;
//! `estimated_total = subtotal − discount + shipping (+ tax when prices
//! exclude it)`.

use crate::money::{Money, Totals};
use crate::prelude::*;
use crate::protocol::v1::CartView;
use crate::shipping::{quote_all, ShippingRule, ShippingStatus};
use crate::tax::{tax_for, TaxRules};
use alloc::boxed::Box;
use serde::{Deserialize, Serialize};

/// The catalog rules a cart's terms depend on, carried in the rendered
/// cart so the optimistic view can apply them too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CartRules {
    pub shipping: Vec<ShippingRule>,
    pub tax: TaxRules,
}

/// Judges every shipping option (when the view carries the rules) and
/// computes the totals, given pricing's `discount` (its currency is the
/// catalog's).
///
/// ```
/// use cartsync_core::protocol::v1::CartView;
/// use cartsync_core::{terms, Cart, Money};
/// let mut view = CartView::bare(&Cart::default());
/// terms::derive(&mut view, &Money::zero("EUR"));
/// assert_eq!(view.totals.unwrap().estimated_total, Money::zero("EUR"));
/// ```
pub fn derive(view: &mut CartView, discount: &Money) {
    view.shipping_options = match &view.rules {
        Some(rules) => quote_all(&rules.shipping, &view.lines, view.destination.as_ref()),
        None => Vec::new(),
    };
    view.totals = Some(Box::new(totals(view, discount)));
}

/// The totals of a view whose shipping options are judged (see the module
/// docs).
pub fn totals(view: &CartView, discount: &Money) -> Totals {
    let currency = discount.currency.as_str();
    let subtotal = view
        .lines
        .iter()
        .filter_map(|l| Some(l.unit_price.as_ref()?.amount.saturating_mul(i64::from(l.quantity))))
        .fold(0i64, i64::saturating_add);
    let discount = discount.amount.clamp(0, subtotal.max(0));
    let shipping = view.shipping_option.as_deref().and_then(|option| {
        view.shipping_options
            .iter()
            .find(|q| q.option == option && q.status == ShippingStatus::Available)
            .and_then(|q| q.price.clone())
    });
    let goods = subtotal.saturating_sub(discount);
    let taxable = goods.saturating_add(shipping.as_ref().map_or(0, |s| s.amount));
    let tax = match (&view.destination, &view.rules) {
        (Some(d), Some(rules)) => Some(tax_for(&rules.tax, &d.country, &Money::new(taxable, currency))),
        _ => None,
    };
    let added = tax.as_ref().filter(|t| !t.included).map_or(0, |t| t.amount.amount);
    Totals {
        subtotal: Money::new(subtotal, currency),
        discount: Money::new(discount, currency),
        shipping,
        tax,
        estimated_total: Money::new(taxable.saturating_add(added), currency),
    }
}
