//! The one error type of the cart domain. Every variant has a stable wire
//! `code` that the server sends in `{"code", "message"}` bodies and the
//! browser SDK puts on its `CartError` objects.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong with a cart command or a protocol exchange.
///
/// ```
/// use cartsync_core::CartError;
/// let e = CartError::QuantityOutOfRange { quantity: 0, min: 1, max: 999 };
/// assert_eq!(e.code(), "quantity_out_of_range");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("quantity {quantity} is outside {min}..={max}")]
    QuantityOutOfRange { quantity: i64, min: u32, max: u32 },
    #[error("sku {sku:?} must be 1 to {max_len} characters of A-Z a-z 0-9 . _ -")]
    InvalidSku { sku: String, max_len: usize },
    #[error("option {key:?} is invalid: {reason}")]
    InvalidOption { key: String, reason: &'static str },
    #[error("a line may carry at most {max} options")]
    TooManyOptions { max: usize },
    #[error("a cart may hold at most {max} lines")]
    TooManyLines { max: usize },
    #[error("coupon code {code:?} must be 1 to {max_len} characters of A-Z a-z 0-9 . _ -")]
    InvalidCouponCode { code: String, max_len: usize },
    #[error("a cart may carry at most {max} coupons")]
    TooManyCoupons { max: usize },
    #[error("shipping option {option:?} must be 1 to {max_len} characters of A-Z a-z 0-9 . _ -")]
    InvalidShippingOption { option: String, max_len: usize },
    #[error("sku {sku:?} is not in the catalog")]
    UnknownSku { sku: String },
    #[error("shipping option {option:?} is not offered")]
    UnknownShippingOption { option: String },
    #[error("mutation id {id} was already used for a different command")]
    IdempotencyKeyReused { id: String },
    #[error("cart is at version {found}, the mutation expected {expected}")]
    VersionConflict { expected: u64, found: u64 },
    #[error("a batch may hold at most {max} mutations")]
    TooManyMutations { max: usize },
    #[error("the mutation was created at {created_at} and expired before it could be sent")]
    MutationExpired { created_at: u64 },
    #[error("cart not found")]
    CartNotFound,
    #[error("this cart was merged into an account cart")]
    CartMerged,
    #[error("this cart has been checked out and takes no more changes")]
    CartClosed,
    #[error("bad request: {message}")]
    BadRequest { message: String },
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

    /// The wire form `{"code", "message"}`.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

/// An error as it travels on the wire: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        let mut seen = std::collections::BTreeSet::new();
        for code in CartError::CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
        }
        let sample = CartError::CartClosed;
        assert!(CartError::CODES.contains(&sample.code()));
        assert_eq!(sample.to_body().code, "cart_closed");
    }
}
