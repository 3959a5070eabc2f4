//! Rendering a durable cart with the catalog: names, images, unit prices,
//! coupon verdicts and estimated totals. The same function prices the cart
//! view, the session-cache projection and checkout, so they cannot disagree.

use super::{CouponVerdict, Pricing};
use crate::store::Quote;
use cartsync_core::protocol::v1::{CartView, LineView};
use cartsync_core::{Cart, CartError, Command, CommandCheck, Coupon, Limits, Money, Totals};

/// A cart priced against the catalog as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// The view clients get: coupons carry pricing's verdict
    /// (`applied` / `rejected` with a reason), totals are estimated.
    pub view: CartView,
    /// The unit price of every line the catalog still knows.
    pub quotes: Vec<Quote>,
    pub totals: Totals,
}

/// Prices `cart` with `pricing`. Lines whose SKU left the catalog keep no
/// price and count for nothing (checkout reports them as out of stock).
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
    let mut subtotal: i64 = 0;
    for line in &mut view.lines {
        if let Some(p) = pricing.product(&line.sku) {
            let amount = p.price.amount.saturating_mul(i64::from(line.quantity));
            subtotal = subtotal.saturating_add(amount);
            quotes.push(Quote {
                sku: line.sku.clone(),
                options: line.options.clone(),
                unit_price: p.price.clone(),
            });
            *line = LineView {
                name: Some(p.name),
                unit_price: Some(p.price),
                image: p.image,
                ..line.clone()
            };
        }
    }
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
    let discount = discount.clamp(0, subtotal.amount.max(0));
    let shipping = cart
        .shipping_option
        .as_deref()
        .and_then(|o| pricing.shipping(o))
        .map_or(0, |m| m.amount);
    let totals = Totals {
        subtotal: subtotal.clone(),
        discount: Money::new(discount, &currency),
        estimated_total: Money::new(
            subtotal.amount.saturating_sub(discount).saturating_add(shipping),
            &currency,
        ),
    };
    view.totals = Some(totals.clone());
    Priced { view, quotes, totals }
}

/// The catalog-dependent command checks of the core's authority decision:
/// `unknown_sku` for adding or setting a SKU the catalog does not sell and
/// `unknown_shipping_option`. Removing a SKU that left the catalog is
/// allowed (shoppers must be able to clean up). Format errors are checked
/// first, so a malformed SKU is `invalid_sku`, not `unknown_sku`.
pub struct CatalogCheck<'a>(pub &'a dyn Pricing, pub &'a Limits);

impl CommandCheck for CatalogCheck<'_> {
    fn check(&self, command: &Command) -> Result<(), CartError> {
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
            Command::SelectShipping { option } if self.0.shipping(option).is_none() => {
                Err(CartError::UnknownShippingOption {
                    option: option.chars().take(80).collect(),
                })
            }
            _ => Ok(()),
        }
    }
}
