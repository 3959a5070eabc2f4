//! Validation limits. One struct, so the server, the browser and the
//! benchmarks (which raise them) agree on what a valid cart is.

use crate::error::CartError;
use crate::model::{Options, Sku};
use crate::prelude::*;

/// Bounds on carts and commands. [`Limits::default`] is the product's policy.
///
/// ```
/// use cartsync_core::Limits;
/// let l = Limits::default();
/// assert_eq!((l.max_lines, l.max_quantity), (100, 999));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_lines: usize,
    pub min_quantity: u32,
    pub max_quantity: u32,
    pub max_sku_len: usize,
    pub max_options: usize,
    pub max_option_key_len: usize,
    pub max_option_value_len: usize,
    pub max_coupon_len: usize,
    pub max_coupons: usize,
    pub max_shipping_option_len: usize,
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: 100,
            min_quantity: 1,
            max_quantity: 999,
            max_sku_len: 64,
            max_options: 10,
            max_option_key_len: 32,
            max_option_value_len: 64,
            max_coupon_len: 32,
            max_coupons: 10,
            max_shipping_option_len: 32,
            max_batch: 100,
        }
    }
}

/// The identifier alphabet shared by SKUs, coupon codes and shipping options.
fn is_ident(s: &str, max_len: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_len
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Limits {
    pub fn check_sku(&self, sku: &Sku) -> Result<(), CartError> {
        if is_ident(sku.as_str(), self.max_sku_len) {
            Ok(())
        } else {
            Err(CartError::InvalidSku {
                sku: truncate(sku.as_str()),
                max_len: self.max_sku_len,
            })
        }
    }

    pub fn check_options(&self, options: &Options) -> Result<(), CartError> {
        if options.len() > self.max_options {
            return Err(CartError::TooManyOptions { max: self.max_options });
        }
        for (key, value) in options {
            let reason = if key.is_empty() {
                Some("the key is empty")
            } else if char_count(key) > self.max_option_key_len {
                Some("the key is too long")
            } else if char_count(value) > self.max_option_value_len {
                Some("the value is too long")
            } else if key.chars().chain(value.chars()).any(char::is_control) {
                Some("control characters are not allowed")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(CartError::InvalidOption {
                    key: truncate(key),
                    reason: reason.into(),
                });
            }
        }
        Ok(())
    }

    /// A quantity a line may hold (`add_item`, or a non-zero `set_quantity`).
    pub fn check_quantity(&self, quantity: i64) -> Result<u32, CartError> {
        match u32::try_from(quantity) {
            Ok(q) if (self.min_quantity..=self.max_quantity).contains(&q) => Ok(q),
            _ => Err(self.quantity_error(quantity)),
        }
    }

    pub(crate) fn quantity_error(&self, quantity: i64) -> CartError {
        CartError::QuantityOutOfRange {
            quantity,
            min: self.min_quantity,
            max: self.max_quantity,
        }
    }

    pub fn check_coupon(&self, code: &str) -> Result<(), CartError> {
        if is_ident(code, self.max_coupon_len) {
            Ok(())
        } else {
            Err(CartError::InvalidCouponCode {
                code: truncate(code),
                max_len: self.max_coupon_len,
            })
        }
    }

    pub fn check_shipping_option(&self, option: &str) -> Result<(), CartError> {
        if is_ident(option, self.max_shipping_option_len) {
            Ok(())
        } else {
            Err(CartError::InvalidShippingOption {
                option: truncate(option),
                max_len: self.max_shipping_option_len,
            })
        }
    }
}

/// Characters (not bytes) in `s`: every byte that does not continue a
/// UTF-8 sequence starts a character. A plain loop: `chars().count()` brings
/// a larger, vectorised counter into the browser build.
fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

/// Error payloads echo the offending input, but never more than 80 chars of
/// it: an attacker's megabyte SKU should not be copied into every response.
fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn char_count_counts_characters() {
        for s in ["", "abc", "é", "日本語", "a😀b"] {
            assert_eq!(super::char_count(s), s.chars().count(), "{s}");
        }
    }

    use super::*;

    #[test]
    fn sku_alphabet_and_length() {
        let l = Limits::default();
        assert!(l.check_sku(&Sku::new("tee_black-XL.2")).is_ok());
        assert!(l.check_sku(&Sku::new("")).is_err());
        assert!(l.check_sku(&Sku::new("a b")).is_err());
        assert!(l.check_sku(&Sku::new("é")).is_err());
        assert!(l.check_sku(&Sku::new("a".repeat(64))).is_ok());
        assert!(l.check_sku(&Sku::new("a".repeat(65))).is_err());
    }

    #[test]
    fn quantity_bounds() {
        let l = Limits::default();
        assert_eq!(l.check_quantity(1), Ok(1));
        assert_eq!(l.check_quantity(999), Ok(999));
        for bad in [0, -1, 1000, i64::MAX, i64::MIN] {
            assert_eq!(l.check_quantity(bad).unwrap_err().code(), "quantity_out_of_range");
        }
    }

    #[test]
    fn option_rules() {
        let l = Limits::default();
        let mut o = Options::new();
        o.insert("size".into(), "XL".into());
        assert!(l.check_options(&o).is_ok());
        o.insert(String::new(), "x".into());
        assert_eq!(l.check_options(&o).unwrap_err().code(), "invalid_option");
        let many: Options = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(l.check_options(&many).unwrap_err().code(), "too_many_options");
    }
}
