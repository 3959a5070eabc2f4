//! Merging an anonymous cart into an account cart at login: an explicit
//! operation with a report, never an overwrite.

use crate::limits::Limits;
use crate::model::{Cart, Coupon, CouponState, Line, Options, Sku};
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// A line both carts had (same sku, same options): quantities were summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SummedLine {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub account_quantity: u32,
    pub anonymous_quantity: u32,
    /// What the merged line holds (the sum, capped at the quantity limit).
    pub quantity: u32,
    /// Units over the cap that could not be kept (0 when none).
    pub excess: u32,
}

/// A line identified by its key and quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LineRef {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub quantity: u32,
}

impl From<&Line> for LineRef {
    fn from(l: &Line) -> Self {
        LineRef {
            sku: l.sku.clone(),
            options: l.options.clone(),
            quantity: l.quantity,
        }
    }
}

/// What a merge did, for the UI to show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MergeReport {
    /// Lines both carts had; quantities summed.
    pub summed: Vec<SummedLine>,
    /// Anonymous lines added to the account cart as new lines (including
    /// same-sku lines whose options differ from the account's).
    pub added: Vec<LineRef>,
    /// Anonymous lines that did not fit under the line limit.
    pub dropped: Vec<LineRef>,
    /// Every coupon of the merged cart: all are `pending` until pricing
    /// validates them again.
    pub coupons_pending: Vec<String>,
    /// Coupons that did not fit under the coupon limit.
    pub coupons_dropped: Vec<String>,
    /// The shipping option the merged cart keeps.
    pub shipping_option: Option<String>,
    /// The destination the merged cart keeps.
    #[serde(default)]
    pub destination: Option<crate::model::Destination>,
}

impl MergeReport {
    /// Whether the merge lost anything (excess units, lines or coupons).
    pub fn lost_anything(&self) -> bool {
        self.summed.iter().any(|s| s.excess > 0) || !self.dropped.is_empty() || !self.coupons_dropped.is_empty()
    }
}

/// Merges `anonymous` into `account`:
/// - same sku and same options: quantities summed, capped at the quantity
///   limit, the excess reported;
/// - same sku with different options, or a new sku: the line is appended
///   (up to the line limit; lines past it are reported as dropped);
/// - coupons of both carts, de-duplicated, all become `pending`;
/// - shipping option and destination: each the account cart's, else the
///   anonymous one's.
///
/// Owner, version and `updated_at` stay the account cart's; the authority
/// stamps the new version. Deterministic: options are canonical maps.
///
/// ```
/// use cartsync_core::{apply, merge, Cart, Command, Limits};
/// let l = Limits::default();
/// let account = apply(&Cart::default(), &Command::add("tee", 1), &l).unwrap();
/// let anon = apply(&Cart::default(), &Command::add("tee", 2), &l).unwrap();
/// let (cart, report) = merge(&account, &anon, &l);
/// assert_eq!(cart.lines[0].quantity, 3);
/// assert_eq!(report.summed.len(), 1);
/// ```
pub fn merge(account: &Cart, anonymous: &Cart, limits: &Limits) -> (Cart, MergeReport) {
    let mut cart = account.clone();
    let mut report = MergeReport::default();
    for line in &anonymous.lines {
        merge_line(&mut cart, &mut report, line, limits);
    }
    let mut coupons: Vec<Coupon> = Vec::new();
    for c in account.coupons.iter().chain(&anonymous.coupons) {
        if coupons.iter().any(|k| k.code == c.code) {
            continue;
        }
        if coupons.len() >= limits.max_coupons {
            report.coupons_dropped.push(c.code.clone());
            continue;
        }
        coupons.push(Coupon::pending(c.code.clone()));
    }
    debug_assert!(coupons.iter().all(|c| c.state == CouponState::Pending));
    report.coupons_pending = coupons.iter().map(|c| c.code.clone()).collect();
    cart.coupons = coupons;
    cart.shipping_option = account
        .shipping_option
        .clone()
        .or_else(|| anonymous.shipping_option.clone());
    report.shipping_option = cart.shipping_option.clone();
    cart.destination = account.destination.clone().or_else(|| anonymous.destination.clone());
    report.destination = cart.destination.clone();
    (cart, report)
}

fn merge_line(cart: &mut Cart, report: &mut MergeReport, line: &Line, limits: &Limits) {
    if let Some(existing) = cart.line_mut(&line.sku, &line.options) {
        let sum = u64::from(existing.quantity) + u64::from(line.quantity);
        let cap = u64::from(limits.max_quantity);
        let kept = sum.min(cap) as u32;
        report.summed.push(SummedLine {
            sku: line.sku.clone(),
            options: line.options.clone(),
            account_quantity: existing.quantity,
            anonymous_quantity: line.quantity,
            quantity: kept,
            excess: (sum - u64::from(kept)) as u32,
        });
        existing.quantity = kept;
    } else if cart.lines.len() < limits.max_lines {
        let quantity = line.quantity.min(limits.max_quantity);
        let mut added = line.clone();
        added.quantity = quantity;
        report.added.push(LineRef::from(&added));
        if quantity < line.quantity {
            report.summed.push(SummedLine {
                sku: line.sku.clone(),
                options: line.options.clone(),
                account_quantity: 0,
                anonymous_quantity: line.quantity,
                quantity,
                excess: line.quantity - quantity,
            });
        }
        cart.lines.push(added);
    } else {
        report.dropped.push(LineRef::from(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Coupon;

    fn line(sku: &str, opts: &[(&str, &str)], q: u32) -> Line {
        Line {
            sku: Sku::new(sku),
            options: opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            quantity: q,
        }
    }

    #[test]
    fn sums_same_key_keeps_different_options() {
        let l = Limits::default();
        let account = Cart {
            lines: vec![line("tee", &[("size", "M")], 998)],
            ..Cart::default()
        };
        let anon = Cart {
            lines: vec![line("tee", &[("size", "M")], 5), line("tee", &[("size", "L")], 1)],
            ..Cart::default()
        };
        let (cart, report) = merge(&account, &anon, &l);
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].quantity, 999);
        assert_eq!(report.summed[0].excess, 4);
        assert_eq!(report.added.len(), 1);
        assert!(report.lost_anything());
    }

    #[test]
    fn coupons_become_pending_and_shipping_prefers_account() {
        let l = Limits::default();
        let account = Cart {
            coupons: vec![Coupon::applied("A")],
            ..Cart::default()
        };
        let anon = Cart {
            coupons: vec![Coupon::applied("A"), Coupon::rejected("B", "expired")],
            shipping_option: Some("express".into()),
            ..Cart::default()
        };
        let (cart, report) = merge(&account, &anon, &l);
        assert_eq!(cart.coupons, vec![Coupon::pending("A"), Coupon::pending("B")]);
        assert_eq!(report.shipping_option.as_deref(), Some("express"));
    }
}
