//! The optimistic view's checkout terms: every shipping option judged with
//! the rules the server sent (the core's `shipping::quote`, as the
//! authority judges), the totals estimated by the same rules when the view
//! knows everything they depend on, and whether the selected option can
//! still take the cart (for the `reconciled` notice).

use crate::model::CouponState;
use crate::money::{Money, Totals};
use crate::prelude::*;
use crate::protocol::v1::{CartView, LineView};
use crate::shipping::{quote_all, ShippingReason, ShippingStatus};

/// Recomputes the optimistic view's checkout terms: the shipping options
/// (with the server's rules; the server's list when it sent none) and the
/// totals (see [`ViewHead::totals`]).
pub fn rederive(view: &mut CartView, server: Option<&CartView>, nothing_pending: bool) {
    view.shipping_options = match (&view.rules, server) {
        (Some(rules), _) => quote_all(&rules.shipping, &view.lines, view.destination.as_ref()),
        (None, Some(server)) if nothing_pending => server.shipping_options.clone(),
        (None, _) => Vec::new(),
    };
    view.totals = match server {
        Some(server) if nothing_pending => server.totals.clone(),
        Some(server) => estimate(view, server).map(alloc::boxed::Box::new),
        None => None,
    };
}

/// The totals the authority would give the optimistic cart, when the view
/// knows everything they depend on: every line's price and weight, the
/// rules, and the discount (no coupon is waiting for pricing, and either no
/// coupon applies or the lines and coupons are the server's, whose
/// discount then stands).
fn estimate(view: &CartView, server: &CartView) -> Option<Totals> {
    let known = server.totals.as_ref()?;
    view.rules.as_ref()?;
    if view
        .lines
        .iter()
        .any(|l| l.unit_price.is_none() || l.weight_grams.is_none())
    {
        return None;
    }
    if view.coupons.iter().any(|c| c.state == CouponState::Pending) {
        return None;
    }
    let applies = view.coupons.iter().any(|c| c.state == CouponState::Applied);
    let discount = if !applies {
        Money::zero(&known.discount.currency)
    } else if view.coupons == server.coupons && same_lines(&view.lines, &server.lines) {
        known.discount.clone()
    } else {
        return None;
    };
    Some(crate::terms::totals(view, &discount))
}

fn same_lines(a: &[LineView], b: &[LineView]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.sku == y.sku && x.options == y.options && x.quantity == y.quantity)
}

/// Whether the view's selected shipping option can no longer take the cart,
/// and why: `Some` for an option judged unavailable (or one the rules no
/// longer have), `None` when it is available or nothing is selected. An
/// option whose status is `unknown` says nothing yet (`Err`).
pub(super) fn selected_unavailable(view: &CartView) -> Result<Option<(String, ShippingReason)>, ()> {
    let (Some(option), Some(_)) = (&view.shipping_option, &view.rules) else {
        return Ok(None);
    };
    match view.shipping_options.iter().find(|q| q.option == *option) {
        None => Ok(Some((option.clone(), ShippingReason::UnknownOption))),
        Some(q) => match (q.status, &q.reason) {
            (ShippingStatus::Unknown, _) => Err(()),
            (ShippingStatus::Unavailable, Some(reason)) => Ok(Some((option.clone(), reason.clone()))),
            _ => Ok(None),
        },
    }
}
