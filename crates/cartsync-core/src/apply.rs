//! Applying one command to a cart: the single definition of what each
//! command means, used by the authority, the optimistic client view and
//! rebase alike.

use crate::command::Command;
use crate::error::CartError;
use crate::limits::Limits;
use crate::model::{Cart, Coupon, Destination, Line, Options, Sku};
use crate::prelude::*;

/// Applies `command` to `cart` and returns the new cart, or the reason the
/// command is invalid for this cart. Pure: `version` and `updated_at` are
/// left alone (the authority stamps them), and no input can make it panic.
///
/// Semantics:
/// - `add_item` adds to the line with the same `(sku, options)` or appends a
///   new one; the sum must stay within the quantity limit.
/// - `set_quantity` sets (or re-creates) the line; `0` removes it.
/// - `remove_item` / `remove_coupon` of something absent is a no-op.
/// - `apply_coupon` adds the code (upper-cased) as `pending`; applying a code
///   already present keeps it as it is.
/// - `set_destination` replaces the destination with its canonical form.
/// - `clear` drops every line and coupon; owner, shipping choice and
///   destination stay.
///
/// ```
/// use cartsync_core::{apply, Cart, Command, Limits};
/// let cart = apply(&Cart::default(), &Command::add("tee", 2), &Limits::default()).unwrap();
/// let cart = apply(&cart, &Command::add("tee", 1), &Limits::default()).unwrap();
/// assert_eq!(cart.lines[0].quantity, 3);
/// ```
pub fn apply(cart: &Cart, command: &Command, limits: &Limits) -> Result<Cart, CartError> {
    let mut next = cart.clone();
    apply_in_place(&mut next, command, limits)?;
    Ok(next)
}

/// What one command did to a cart's lines, so a caller that keeps a
/// rendering of them can redo only that part (the browser's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// No line changed (coupons or shipping may have).
    NoLine,
    /// The line at this index changed its quantity.
    Changed(usize),
    /// A new line was appended at this index.
    Added(usize),
    /// The line at this index was removed (later lines moved up one).
    Removed(usize),
    /// Lines changed in more than one place (`clear`).
    Many,
}

/// What [`apply_in_place`] needs of a cart, so that one definition of the
/// commands serves the durable [`Cart`] and the browser's optimistic view
/// (whose lines carry display data) alike.
pub trait CartBody {
    type Line: CartLine;
    fn lines(&self) -> &[Self::Line];
    fn lines_mut(&mut self) -> &mut Vec<Self::Line>;
    fn coupons_mut(&mut self) -> &mut Vec<Coupon>;
    fn shipping_option_mut(&mut self) -> &mut Option<String>;
    fn destination_mut(&mut self) -> &mut Option<Destination>;
    /// A line the cart does not have yet.
    fn new_line(&self, sku: &Sku, options: &Options, quantity: u32) -> Self::Line;
}

/// A line of a [`CartBody`]: identified by `(sku, options)`, with a quantity.
pub trait CartLine {
    fn same_key(&self, sku: &Sku, options: &Options) -> bool;
    fn quantity(&self) -> u32;
    fn set_quantity(&mut self, quantity: u32);
}

impl CartLine for Line {
    fn same_key(&self, sku: &Sku, options: &Options) -> bool {
        Line::same_key(self, sku, options)
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
    fn set_quantity(&mut self, quantity: u32) {
        self.quantity = quantity;
    }
}

impl CartBody for Cart {
    type Line = Line;
    fn lines(&self) -> &[Line] {
        &self.lines
    }
    fn lines_mut(&mut self) -> &mut Vec<Line> {
        &mut self.lines
    }
    fn coupons_mut(&mut self) -> &mut Vec<Coupon> {
        &mut self.coupons
    }
    fn shipping_option_mut(&mut self) -> &mut Option<String> {
        &mut self.shipping_option
    }
    fn destination_mut(&mut self) -> &mut Option<Destination> {
        &mut self.destination
    }
    fn new_line(&self, sku: &Sku, options: &Options, quantity: u32) -> Line {
        Line {
            sku: sku.clone(),
            options: options.clone(),
            quantity,
        }
    }
}

/// [`apply`] without the copy, on any [`CartBody`]; on error the cart is
/// unchanged. Returns what happened to the lines.
pub fn apply_in_place<C: CartBody>(cart: &mut C, command: &Command, limits: &Limits) -> Result<Applied, CartError> {
    validate(command, limits)?;
    match command {
        Command::AddItem { sku, quantity, options } => add(cart, sku, options, *quantity, limits),
        Command::SetQuantity { sku, options, quantity } => set(cart, sku, options, *quantity, limits),
        Command::RemoveItem { sku, options } => Ok(remove(cart, sku, options)),
        Command::ApplyCoupon { code } => {
            let code = normalize_coupon(code);
            let coupons = cart.coupons_mut();
            if coupons.iter().any(|c| c.code == code) {
                return Ok(Applied::NoLine);
            }
            if coupons.len() >= limits.max_coupons {
                return Err(CartError::TooManyCoupons {
                    max: limits.max_coupons,
                });
            }
            coupons.push(Coupon::pending(code));
            Ok(Applied::NoLine)
        }
        Command::RemoveCoupon { code } => {
            let code = normalize_coupon(code);
            cart.coupons_mut().retain(|c| c.code != code);
            Ok(Applied::NoLine)
        }
        Command::SelectShipping { option } => {
            *cart.shipping_option_mut() = Some(option.clone());
            Ok(Applied::NoLine)
        }
        Command::SetDestination { country, postal_code } => {
            *cart.destination_mut() = Some(Destination::parse(country, postal_code)?);
            Ok(Applied::NoLine)
        }
        Command::Clear {} => {
            cart.lines_mut().clear();
            cart.coupons_mut().clear();
            Ok(Applied::Many)
        }
    }
}

/// Checks a command on its own, without a cart: field formats and ranges.
/// What depends on the cart (line count, summed quantity) is checked by
/// [`apply`].
pub fn validate(command: &Command, limits: &Limits) -> Result<(), CartError> {
    match command {
        Command::AddItem { sku, quantity, options } => {
            check_line_key(sku, options, limits)?;
            limits.check_quantity(*quantity).map(drop)
        }
        Command::SetQuantity { sku, options, quantity } => {
            check_line_key(sku, options, limits)?;
            if *quantity == 0 {
                Ok(())
            } else {
                limits.check_quantity(*quantity).map(drop)
            }
        }
        Command::RemoveItem { sku, options } => check_line_key(sku, options, limits),
        Command::ApplyCoupon { code } | Command::RemoveCoupon { code } => limits.check_coupon(code),
        Command::SelectShipping { option } => limits.check_shipping_option(option),
        Command::SetDestination { country, postal_code } => Destination::parse(country, postal_code).map(drop),
        Command::Clear {} => Ok(()),
    }
}

/// Coupon codes are compared case-insensitively: shoppers type `save10`
/// for `SAVE10`. The canonical form is upper case.
pub fn normalize_coupon(code: &str) -> String {
    code.to_ascii_uppercase()
}

fn check_line_key(sku: &Sku, options: &Options, limits: &Limits) -> Result<(), CartError> {
    limits.check_sku(sku)?;
    limits.check_options(options)
}

fn position<C: CartBody>(cart: &C, sku: &Sku, options: &Options) -> Option<usize> {
    cart.lines().iter().position(|l| l.same_key(sku, options))
}

fn add<C: CartBody>(
    cart: &mut C,
    sku: &Sku,
    options: &Options,
    quantity: i64,
    limits: &Limits,
) -> Result<Applied, CartError> {
    let quantity = limits.check_quantity(quantity)?;
    if let Some(at) = position(cart, sku, options) {
        let line = &mut cart.lines_mut()[at];
        let sum = u64::from(line.quantity()) + u64::from(quantity);
        if sum > u64::from(limits.max_quantity) {
            return Err(limits.quantity_error(sum as i64));
        }
        line.set_quantity(sum as u32);
        return Ok(Applied::Changed(at));
    }
    push_line(cart, sku, options, quantity, limits)
}

fn set<C: CartBody>(
    cart: &mut C,
    sku: &Sku,
    options: &Options,
    quantity: i64,
    limits: &Limits,
) -> Result<Applied, CartError> {
    if quantity == 0 {
        return Ok(remove(cart, sku, options));
    }
    let quantity = limits.check_quantity(quantity)?;
    if let Some(at) = position(cart, sku, options) {
        cart.lines_mut()[at].set_quantity(quantity);
        return Ok(Applied::Changed(at));
    }
    push_line(cart, sku, options, quantity, limits)
}

fn remove<C: CartBody>(cart: &mut C, sku: &Sku, options: &Options) -> Applied {
    match position(cart, sku, options) {
        Some(at) => {
            cart.lines_mut().remove(at);
            // A well-formed cart has one line per key; a malformed one
            // (read from outside) loses every copy, as the command says.
            if position(cart, sku, options).is_some() {
                cart.lines_mut().retain(|l| !l.same_key(sku, options));
                return Applied::Many;
            }
            Applied::Removed(at)
        }
        None => Applied::NoLine,
    }
}

fn push_line<C: CartBody>(
    cart: &mut C,
    sku: &Sku,
    options: &Options,
    quantity: u32,
    limits: &Limits,
) -> Result<Applied, CartError> {
    if cart.lines().len() >= limits.max_lines {
        return Err(CartError::TooManyLines { max: limits.max_lines });
    }
    let line = cart.new_line(sku, options, quantity);
    let lines = cart.lines_mut();
    lines.push(line);
    Ok(Applied::Added(lines.len() - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn add_sums_same_key_and_splits_different_options() {
        let l = Limits::default();
        let mut cart = Cart::default();
        let add = |sku: &str, q, o: Options| Command::AddItem {
            sku: Sku::new(sku),
            quantity: q,
            options: o,
        };
        apply_in_place(&mut cart, &add("tee", 1, opts(&[("size", "M")])), &l).unwrap();
        apply_in_place(&mut cart, &add("tee", 2, opts(&[("size", "M")])), &l).unwrap();
        apply_in_place(&mut cart, &add("tee", 1, opts(&[("size", "L")])), &l).unwrap();
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].quantity, 3);
    }

    #[test]
    fn add_over_the_cap_is_rejected_and_changes_nothing() {
        let l = Limits::default();
        let cart = apply(&Cart::default(), &Command::add("tee", 998), &l).unwrap();
        let err = apply(&cart, &Command::add("tee", 2), &l).unwrap_err();
        assert_eq!(
            err,
            CartError::QuantityOutOfRange {
                quantity: 1000,
                min: 1,
                max: 999
            }
        );
    }

    #[test]
    fn set_zero_removes_and_set_missing_recreates() {
        let l = Limits::default();
        let cart = apply(&Cart::default(), &Command::set("tee", 4), &l).unwrap();
        assert_eq!(cart.lines[0].quantity, 4);
        let cart = apply(&cart, &Command::set("tee", 0), &l).unwrap();
        assert!(cart.lines.is_empty());
    }

    #[test]
    fn line_limit() {
        let l = Limits {
            max_lines: 2,
            ..Limits::default()
        };
        let mut cart = Cart::default();
        apply_in_place(&mut cart, &Command::add("a", 1), &l).unwrap();
        apply_in_place(&mut cart, &Command::add("b", 1), &l).unwrap();
        assert_eq!(
            apply(&cart, &Command::add("c", 1), &l).unwrap_err().code(),
            "too_many_lines"
        );
        assert!(apply(&cart, &Command::add("a", 1), &l).is_ok());
    }

    #[test]
    fn coupons_are_case_insensitive_and_idempotent() {
        let l = Limits::default();
        let cart = apply(&Cart::default(), &Command::ApplyCoupon { code: "save10".into() }, &l).unwrap();
        let cart = apply(&cart, &Command::ApplyCoupon { code: "SAVE10".into() }, &l).unwrap();
        assert_eq!(cart.coupons, vec![Coupon::pending("SAVE10")]);
        let cart = apply(&cart, &Command::RemoveCoupon { code: "Save10".into() }, &l).unwrap();
        assert!(cart.coupons.is_empty());
    }

    #[test]
    fn clear_keeps_shipping() {
        let l = Limits::default();
        let mut cart = apply(&Cart::default(), &Command::add("a", 1), &l).unwrap();
        apply_in_place(
            &mut cart,
            &Command::SelectShipping {
                option: "express".into(),
            },
            &l,
        )
        .unwrap();
        apply_in_place(&mut cart, &Command::Clear {}, &l).unwrap();
        assert!(cart.lines.is_empty());
        assert_eq!(cart.shipping_option.as_deref(), Some("express"));
    }
}
