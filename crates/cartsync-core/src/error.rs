//! The one error type of the cart domain. Every variant has a stable wire
//! `code` that the server sends in `{"code", "message"}` bodies and the
//! browser SDK puts on its `CartError` objects.

use crate::prelude::*;
use alloc::borrow::Cow;
use serde::{Deserialize, Serialize};

/// Everything that can go wrong with a cart command or a protocol exchange.
///
/// Serialises with its data, tagged by its code
/// (`{"code": "quantity_out_of_range", "quantity": 0, "min": 1, "max": 999}`),
/// so golden vectors and the browser binding can carry the whole value; the
/// wire body a client receives is [`CartError::to_body`].
///
/// ```
/// use cartsync_core::CartError;
/// let e = CartError::QuantityOutOfRange { quantity: 0, min: 1, max: 999 };
/// assert_eq!(e.code(), "quantity_out_of_range");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CartError {
    QuantityOutOfRange {
        quantity: i64,
        min: u32,
        max: u32,
    },
    InvalidSku {
        sku: String,
        max_len: usize,
    },
    InvalidOption {
        key: String,
        /// Borrowed when the core builds it, owned when deserialised.
        reason: Cow<'static, str>,
    },
    TooManyOptions {
        max: usize,
    },
    TooManyLines {
        max: usize,
    },
    InvalidCouponCode {
        /// `coupon` on the wire: `code` is the tag that names the error.
        #[serde(rename = "coupon")]
        code: String,
        max_len: usize,
    },
    TooManyCoupons {
        max: usize,
    },
    InvalidShippingOption {
        option: String,
        max_len: usize,
    },
    UnknownSku {
        sku: String,
    },
    UnknownShippingOption {
        option: String,
    },
    /// `set_destination` with a country or postal code the rules refuse.
    InvalidDestination {
        /// `country` or `postal_code`.
        field: Cow<'static, str>,
        value: String,
        reason: Cow<'static, str>,
    },
    /// `select_shipping` of an option that cannot take the cart as it is.
    ShippingOptionUnavailable {
        option: String,
        reason: crate::shipping::ShippingReason,
    },
    IdempotencyKeyReused {
        id: String,
    },
    VersionConflict {
        expected: u64,
        found: u64,
    },
    TooManyMutations {
        max: usize,
    },
    MutationExpired {
        created_at: u64,
    },
    CartNotFound,
    CartMerged,
    CartClosed,
    BadRequest {
        message: String,
    },
}

impl CartError {
    /// Every code the core can produce, in declaration order. The golden
    /// vectors must exercise each one (see `tests/fixtures.rs`).
    pub const CODES: &'static [&'static str] = &[
        "quantity_out_of_range",
        "invalid_sku",
        "invalid_option",
        "too_many_options",
        "too_many_lines",
        "invalid_coupon_code",
        "too_many_coupons",
        "invalid_shipping_option",
        "unknown_sku",
        "unknown_shipping_option",
        "invalid_destination",
        "shipping_option_unavailable",
        "idempotency_key_reused",
        "version_conflict",
        "too_many_mutations",
        "mutation_expired",
        "cart_not_found",
        "cart_merged",
        "cart_closed",
        "bad_request",
    ];

    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            CartError::QuantityOutOfRange { .. } => "quantity_out_of_range",
            CartError::InvalidSku { .. } => "invalid_sku",
            CartError::InvalidOption { .. } => "invalid_option",
            CartError::TooManyOptions { .. } => "too_many_options",
            CartError::TooManyLines { .. } => "too_many_lines",
            CartError::InvalidCouponCode { .. } => "invalid_coupon_code",
            CartError::TooManyCoupons { .. } => "too_many_coupons",
            CartError::InvalidShippingOption { .. } => "invalid_shipping_option",
            CartError::UnknownSku { .. } => "unknown_sku",
            CartError::UnknownShippingOption { .. } => "unknown_shipping_option",
            CartError::InvalidDestination { .. } => "invalid_destination",
            CartError::ShippingOptionUnavailable { .. } => "shipping_option_unavailable",
            CartError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            CartError::VersionConflict { .. } => "version_conflict",
            CartError::TooManyMutations { .. } => "too_many_mutations",
            CartError::MutationExpired { .. } => "mutation_expired",
            CartError::CartNotFound => "cart_not_found",
            CartError::CartMerged => "cart_merged",
            CartError::CartClosed => "cart_closed",
            CartError::BadRequest { .. } => "bad_request",
        }
    }

    /// The human message. Built by concatenation rather than `format!`:
    /// the browser build then carries no `core::fmt` for it.
    pub fn message(&self) -> String {
        use crate::text::{decimal as d, signed};
        const CHARS: &str = " characters of A-Z a-z 0-9 . _ -";
        match self {
            CartError::QuantityOutOfRange { quantity, min, max } => [
                "quantity ",
                &signed(*quantity),
                " is outside ",
                &d(*min as u64),
                "..=",
                &d(*max as u64),
            ]
            .concat(),
            CartError::InvalidSku { sku, max_len } => {
                ["sku \"", sku, "\" must be 1 to ", &d(*max_len as u64), CHARS].concat()
            }
            CartError::InvalidOption { key, reason } => ["option \"", key, "\" is invalid: ", reason].concat(),
            CartError::TooManyOptions { max } => ["a line may carry at most ", &d(*max as u64), " options"].concat(),
            CartError::TooManyLines { max } => ["a cart may hold at most ", &d(*max as u64), " lines"].concat(),
            CartError::InvalidCouponCode { code, max_len } => {
                ["coupon code \"", code, "\" must be 1 to ", &d(*max_len as u64), CHARS].concat()
            }
            CartError::TooManyCoupons { max } => ["a cart may carry at most ", &d(*max as u64), " coupons"].concat(),
            CartError::InvalidShippingOption { option, max_len } => [
                "shipping option \"",
                option,
                "\" must be 1 to ",
                &d(*max_len as u64),
                CHARS,
            ]
            .concat(),
            CartError::UnknownSku { sku } => ["sku \"", sku, "\" is not in the catalog"].concat(),
            CartError::UnknownShippingOption { option } => ["shipping option \"", option, "\" is not offered"].concat(),
            CartError::InvalidDestination { field, value, reason } => {
                ["destination ", field, " \"", value, "\" is invalid: ", reason].concat()
            }
            CartError::ShippingOptionUnavailable { option, reason } => [
                "shipping option \"",
                option,
                "\" cannot take this cart: ",
                &reason.text(),
            ]
            .concat(),
            CartError::IdempotencyKeyReused { id } => {
                ["mutation id ", id, " was already used for a different command"].concat()
            }
            CartError::VersionConflict { expected, found } => [
                "cart is at version ",
                &d(*found),
                ", the mutation expected ",
                &d(*expected),
            ]
            .concat(),
            CartError::TooManyMutations { max } => {
                ["a batch may hold at most ", &d(*max as u64), " mutations"].concat()
            }
            CartError::MutationExpired { created_at } => [
                "the mutation was created at ",
                &d(*created_at),
                " and expired before it could be sent",
            ]
            .concat(),
            CartError::CartNotFound => "cart not found".into(),
            CartError::CartMerged => "this cart was merged into an account cart".into(),
            CartError::CartClosed => "this cart has been checked out and takes no more changes".into(),
            CartError::BadRequest { message } => ["bad request: ", message].concat(),
        }
    }

    /// The wire form `{"code", "message"}`.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.message(),
        }
    }
}

impl core::fmt::Display for CartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for CartError {}

/// An error as it travels on the wire: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl From<&CartError> for ErrorBody {
    fn from(e: &CartError) -> Self {
        e.to_body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_table_lists_every_code_once() {
        let mut seen = alloc::collections::BTreeSet::new();
        for code in CartError::CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
        }
        let sample = CartError::CartClosed;
        assert!(CartError::CODES.contains(&sample.code()));
        assert_eq!(sample.to_body().code, "cart_closed");
    }

    #[test]
    fn serialises_tagged_by_code_and_round_trips() {
        let e = CartError::InvalidOption {
            key: "size".into(),
            reason: Cow::Borrowed("the key is too long"),
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "invalid_option", "key": "size", "reason": "the key is too long"})
        );
        assert_eq!(serde_json::from_value::<CartError>(json).unwrap(), e);
        let unit = serde_json::to_value(CartError::CartMerged).unwrap();
        assert_eq!(unit, serde_json::json!({"code": "cart_merged"}));
        assert_eq!(
            serde_json::from_value::<CartError>(unit).unwrap(),
            CartError::CartMerged
        );
    }

    #[test]
    fn serialised_code_matches_code() {
        let samples = [
            CartError::QuantityOutOfRange {
                quantity: -1,
                min: 1,
                max: 999,
            },
            CartError::VersionConflict { expected: 1, found: 2 },
            CartError::BadRequest { message: "x".into() },
            CartError::CartNotFound,
            CartError::InvalidCouponCode {
                code: "SAVE 10".into(),
                max_len: 32,
            },
        ];
        for e in samples {
            // A field named like the tag would be written twice; text keeps both.
            let text = serde_json::to_string(&e).unwrap();
            assert_eq!(text.matches("\"code\"").count(), 1, "{text}");
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["code"], e.code());
            assert_eq!(serde_json::from_value::<CartError>(json).unwrap(), e);
        }
    }
}
