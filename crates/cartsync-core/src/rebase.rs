//! Rebasing a client's pending mutations onto a newer server cart, after a
//! version conflict or when another tab's changes arrive.

use crate::apply::apply_in_place;
use crate::command::{Command, Mutation};
use crate::error::ErrorBody;
use crate::limits::Limits;
use crate::model::{Cart, CouponState, MutationId, Options, Sku};
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// A change to the shopper's view that they did not make themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reconciliation {
    /// A `set_quantity` whose line the server no longer has re-created it:
    /// the shopper's intent is kept (as Dynamo's cart does).
    Restored {
        mutation_id: MutationId,
        sku: Sku,
        #[serde(default)]
        options: Options,
        quantity: u32,
    },
    /// A pending mutation no longer applies to the server's cart; the server
    /// will reject it too, and a `rejected` event will follow.
    WouldReject { mutation_id: MutationId, error: ErrorBody },
    /// A coupon pricing had accepted is `pending` again because the lines it
    /// was judged on are about to change.
    CouponPending { code: String },
    /// The selected shipping option can no longer take the cart (the bag
    /// or the destination changed under it). It stays selected, never
    /// silently switched: the shopper picks another, or checkout reports
    /// `shipping_unavailable`.
    ShippingUnavailable {
        option: String,
        cause: crate::shipping::ShippingReason,
    },
}

/// Applies `pending` on top of `server` in order, with the rebase rules:
/// - `add_item` re-applies (it is commutative);
/// - `set_quantity` of a line the server no longer has re-creates it with
///   that quantity, reported as `restored`;
/// - `remove_item` of a missing line is a no-op;
/// - a mutation that no longer applies is skipped and reported;
/// - if any pending mutation changes lines, coupons pricing had `applied`
///   return to `pending` (reported), since they were judged on other lines.
///
/// `version` and `updated_at` stay the server's.
///
/// ```
/// use cartsync_core::{rebase, Cart, Command, Limits, Mutation, MutationId};
/// let m = Mutation { id: MutationId::from_random_bytes([1; 16]), base_version: Some(3), command: Command::set("tee", 2) };
/// let (cart, recs) = rebase(&Cart::default(), &[m], &Limits::default());
/// assert_eq!(cart.lines[0].quantity, 2);
/// assert_eq!(recs.len(), 1); // restored
/// ```
pub fn rebase(server: &Cart, pending: &[Mutation], limits: &Limits) -> (Cart, Vec<Reconciliation>) {
    let mut cart = server.clone();
    let mut recs = Vec::new();
    for m in pending {
        if let Command::SetQuantity { sku, options, quantity } = &m.command {
            if *quantity > 0 && cart.line(sku, options).is_none() && server.line(sku, options).is_none() {
                if let Ok(q) = u32::try_from(*quantity) {
                    recs.push(Reconciliation::Restored {
                        mutation_id: m.id,
                        sku: sku.clone(),
                        options: options.clone(),
                        quantity: q,
                    });
                }
            }
        }
        if let Err(e) = apply_in_place(&mut cart, &m.command, limits) {
            recs.retain(|r| !matches!(r, Reconciliation::Restored { mutation_id, .. } if *mutation_id == m.id));
            recs.push(Reconciliation::WouldReject {
                mutation_id: m.id,
                error: e.to_body(),
            });
        }
    }
    let lines_change = pending
        .iter()
        .any(|m| m.command.line_key().is_some() || matches!(m.command, Command::Clear {}));
    if lines_change {
        for c in cart.coupons.iter_mut().filter(|c| c.state == CouponState::Applied) {
            c.state = CouponState::Pending;
            c.reason = None;
            recs.push(Reconciliation::CouponPending { code: c.code.clone() });
        }
    }
    (cart, recs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::apply;
    use crate::model::Coupon;

    fn m(n: u8, command: Command) -> Mutation {
        Mutation {
            id: MutationId::from_random_bytes([n; 16]),
            base_version: Some(1),
            command,
        }
    }

    #[test]
    fn set_of_removed_line_is_restored_remove_of_missing_is_noop() {
        let l = Limits::default();
        let (cart, recs) = rebase(
            &Cart::default(),
            &[m(1, Command::set("a", 3)), m(2, Command::remove("b"))],
            &l,
        );
        assert_eq!(cart.lines.len(), 1);
        assert!(matches!(recs[0], Reconciliation::Restored { quantity: 3, .. }));
        assert_eq!(recs.len(), 1);
    }

    #[test]
    fn add_reapplies_on_top_of_server_quantity() {
        let l = Limits::default();
        let server = apply(&Cart::default(), &Command::add("a", 5), &l).unwrap();
        let (cart, recs) = rebase(&server, &[m(1, Command::add("a", 1))], &l);
        assert_eq!(cart.lines[0].quantity, 6);
        assert!(recs.is_empty());
    }

    #[test]
    fn applied_coupons_return_to_pending_when_lines_change() {
        let l = Limits::default();
        let server = Cart {
            coupons: vec![Coupon::applied("SAVE10")],
            ..Cart::default()
        };
        let (cart, recs) = rebase(&server, &[m(1, Command::add("a", 1))], &l);
        assert_eq!(cart.coupons[0].state, CouponState::Pending);
        assert_eq!(recs, vec![Reconciliation::CouponPending { code: "SAVE10".into() }]);
    }

    #[test]
    fn a_mutation_that_no_longer_fits_is_reported() {
        let l = Limits::default();
        let server = apply(&Cart::default(), &Command::add("a", 999), &l).unwrap();
        let (cart, recs) = rebase(&server, &[m(1, Command::add("a", 1))], &l);
        assert_eq!(cart.lines[0].quantity, 999);
        assert!(matches!(&recs[0], Reconciliation::WouldReject { error, .. } if error.code == "quantity_out_of_range"));
    }
}
