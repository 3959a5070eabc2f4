//! Rendering a durable cart with the catalog: names, images, unit prices,
//! weights, coupon verdicts, the judged shipping options and the totals with
//! shipping and tax. The same function prices the cart view, the
//! session-cache projection and checkout, so they cannot disagree; the
//! terms themselves are the core's (`terms::derive`), which the browser's
//! optimistic view runs too.

use super::{CouponVerdict, Pricing};
use crate::store::Quote;
use cartsync_core::protocol::v1::{CartView, LineView};
use cartsync_core::{shipping, terms, Cart, CartError, Command, CommandCheck, Coupon, Limits, Money, Totals};

/// A cart priced against the catalog as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// The view clients get: catalog data on every line the catalog knows
    /// (name, price, image, weight, shipping class), coupons with pricing's
    /// verdict (`applied` / `rejected` with a reason), the catalog's rules,
    /// every shipping option judged and the totals with shipping and tax
    /// (the core's `terms::derive`).
    pub view: CartView,
    /// The unit price of every line the catalog still knows.
    pub quotes: Vec<Quote>,
    pub totals: Totals,
}

/// Prices `cart` with `pricing`. Lines whose SKU left the catalog keep no
/// price or weight and count for nothing (checkout reports them as out of
/// stock; their unknown weight leaves weight-bound options `unknown`).
///
/// ```
/// use cartsync_core::{apply, Cart, Command, Limits};
/// use cartsync_server::catalog::{price_cart, DemoCatalog};
/// let cart = apply(&Cart::default(), &Command::add("tee-black", 2), &Limits::default()).unwrap();
/// let priced = price_cart(&cart, &DemoCatalog::bundled().unwrap());
/// assert_eq!(priced.totals.subtotal.amount, 5000);
/// ```
pub fn price_cart(cart: &Cart, pricing: &dyn Pricing) -> Priced {
    let currency = pricing.currency();
    let mut view = CartView::bare(cart);
    let mut quotes = Vec::new();
    for line in &mut view.lines {
        if let Some(p) = pricing.product(&line.sku) {
            quotes.push(Quote {
                sku: line.sku.clone(),
                options: line.options.clone(),
                unit_price: p.price.clone(),
            });
            *line = LineView {
                name: Some(p.name),
                unit_price: Some(p.price),
                image: p.image,
                weight_grams: Some(p.weight_grams),
                shipping_class: p.shipping_class,
                ..line.clone()
            };
        }
    }
    let subtotal = view
        .lines
        .iter()
        .filter_map(|l| Some(l.unit_price.as_ref()?.amount.saturating_mul(i64::from(l.quantity))))
        .fold(0i64, i64::saturating_add);
    let subtotal = Money::new(subtotal, &currency);
    let mut discount: i64 = 0;
    view.coupons = cart
        .coupons
        .iter()
        .map(|c| match pricing.coupon(&c.code, &subtotal) {
            CouponVerdict::Applied { discount: d } => {
                discount = discount.saturating_add(d.amount);
                Coupon::applied(c.code.clone())
            }
            CouponVerdict::Rejected { reason } => Coupon::rejected(c.code.clone(), reason),
        })
        .collect();
    view.rules = Some(pricing.rules());
    terms::derive(&mut view, &Money::new(discount, &currency));
    let totals = view
        .totals
        .as_deref()
        .cloned()
        .unwrap_or_else(|| terms::totals(&view, &Money::zero(&currency)));
    Priced { view, quotes, totals }
}

/// The catalog-dependent command checks of the core's authority decision:
/// `unknown_sku` for adding or setting a SKU the catalog does not sell;
/// for `select_shipping`, the core's shipping check on the cart as it is
/// at that point of the batch (`unknown_shipping_option`,
/// `shipping_option_unavailable`). Removing a SKU that left the catalog is
/// allowed (shoppers must be able to clean up). Format errors are checked
/// first, so a malformed SKU is `invalid_sku`, not `unknown_sku`.
pub struct CatalogCheck<'a>(pub &'a dyn Pricing, pub &'a Limits);

impl CommandCheck for CatalogCheck<'_> {
    fn check(&self, cart: &Cart, command: &Command) -> Result<(), CartError> {
        cartsync_core::validate(command, self.1)?;
        match command {
            Command::AddItem { sku, .. } | Command::SetQuantity { sku, .. }
                if !matches!(command, Command::SetQuantity { quantity: 0, .. }) =>
            {
                if self.0.product(sku).is_none() {
                    return Err(CartError::UnknownSku {
                        sku: sku.0.chars().take(80).collect(),
                    });
                }
                Ok(())
            }
            Command::SelectShipping { option } => {
                let view = price_cart(cart, self.0).view;
                let rules = view.rules.unwrap_or_default();
                shipping::check_select(&rules.shipping, &view.lines, cart.destination.as_ref(), option)
            }
            _ => Ok(()),
        }
    }
}
