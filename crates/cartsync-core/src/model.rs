//! The cart as both sides store it: lines keyed by `(sku, options)`,
//! coupons with a validation state, a shipping choice and a version.

use crate::prelude::*;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A stock-keeping unit as the catalog names it. Validated by
/// [`crate::Limits::check_sku`], not at deserialisation, so a bad SKU is a
/// typed `invalid_sku` rejection instead of a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(transparent)]
pub struct Sku(pub String);

impl Sku {
    pub fn new(s: impl Into<String>) -> Self {
        Sku(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The options that distinguish two lines of one SKU (size, colour,
/// engraving...): canonical (sorted by key), so two option sets with the
/// same pairs compare, hash and serialise identically whatever order the
/// client sent them in.
pub use crate::options::Options;

pub use crate::destination::Destination;

/// A client-chosen mutation id (a UUID), stable for the mutation's life. On
/// the wire it is the hyphenated form (OpenAPI's `format: uuid`), written
/// and read by [`MutationId::text`] and [`MutationId::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, type = "string"))]
pub struct MutationId(pub uuid::Uuid);

impl Serialize for MutationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for MutationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        MutationId::parse(&text).ok_or_else(|| serde::de::Error::custom("a mutation id is a hyphenated UUID"))
    }
}

impl MutationId {
    /// Builds an id from 16 random bytes, stamping the UUID v4 bits. The core
    /// has no RNG: callers bring the bytes (see [`crate::Random::next_id`]).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        MutationId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The lowercase hyphenated text (what `Display` prints). Written out
    /// here rather than through `uuid`'s formatting: the browser build keeps
    /// neither `core::fmt` nor uuid's encoder for it.
    pub fn text(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(36);
        for (i, b) in self.0.as_bytes().iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
        out
    }

    /// Parses the hyphenated form (`8-4-4-4-12` hex digits, either case),
    /// the only one cartsync writes.
    pub fn parse(text: &str) -> Option<MutationId> {
        let t = text.as_bytes();
        if t.len() != 36 {
            return None;
        }
        let mut bytes = [0u8; 16];
        let mut digits = t.iter().enumerate().filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23));
        if [8, 13, 18, 23].iter().any(|&i| t[i] != b'-') {
            return None;
        }
        for b in bytes.iter_mut() {
            let hi = (*digits.next()?.1 as char).to_digit(16)?;
            let lo = (*digits.next()?.1 as char).to_digit(16)?;
            *b = (hi * 16 + lo) as u8;
        }
        Some(MutationId(uuid::Uuid::from_bytes(bytes)))
    }
}

#[cfg(test)]
mod id_tests {
    use super::MutationId;

    #[test]
    fn text_and_parse_agree_with_uuid() {
        for n in [0u8, 7, 0xa5, 0xff] {
            let id = MutationId::from_random_bytes([n; 16]);
            assert_eq!(id.text(), id.0.hyphenated().to_string());
            assert_eq!(MutationId::parse(&id.text()), Some(id));
            assert_eq!(MutationId::parse(&id.text().to_uppercase()), Some(id));
        }
        for bad in [
            "",
            "00000000-0000-4000-8000-00000000000",
            "00000000_0000-4000-8000-000000000000",
            "0000000g-0000-4000-8000-000000000000",
            "00000000-0000-4000-8000-0000000000000",
        ] {
            assert_eq!(MutationId::parse(bad), None, "{bad}");
        }
    }
}

impl fmt::Display for MutationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One line of a cart. Its identity is `(sku, options)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Line {
    pub sku: Sku,
    #[serde(default)]
    pub options: Options,
    pub quantity: u32,
}

impl Line {
    pub fn same_key(&self, sku: &Sku, options: &Options) -> bool {
        &self.sku == sku && &self.options == options
    }
}

/// Where a coupon stands with pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum CouponState {
    /// Not yet validated by pricing (new, merged or rebased).
    Pending,
    /// Pricing accepted it for the cart as it is.
    Applied,
    /// Pricing refused it; `reason` says why.
    Rejected,
}

/// A coupon code on a cart. `reason` is set exactly when `state` is
/// `rejected` (wire form `{"code", "state", "reason"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Coupon {
    pub code: String,
    pub state: CouponState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Coupon {
    pub fn pending(code: impl Into<String>) -> Self {
        Coupon {
            code: code.into(),
            state: CouponState::Pending,
            reason: None,
        }
    }
    pub fn applied(code: impl Into<String>) -> Self {
        Coupon {
            code: code.into(),
            state: CouponState::Applied,
            reason: None,
        }
    }
    pub fn rejected(code: impl Into<String>, reason: impl Into<String>) -> Self {
        Coupon {
            code: code.into(),
            state: CouponState::Rejected,
            reason: Some(reason.into()),
        }
    }
}

/// A cart. `version` counts applied mutations; `updated_at` is milliseconds
/// since the Unix epoch as the authority's clock saw the last change.
///
/// ```
/// use cartsync_core::Cart;
/// let cart = Cart::default();
/// assert_eq!(cart.version, 0);
/// assert!(cart.lines.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Cart {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
    #[serde(default)]
    pub coupons: Vec<Coupon>,
    #[serde(default)]
    pub shipping_option: Option<String>,
    /// Where the order goes (`set_destination`).
    #[serde(default)]
    pub destination: Option<Destination>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated_at: u64,
}

impl Cart {
    /// The line with this key, if the cart has one.
    pub fn line(&self, sku: &Sku, options: &Options) -> Option<&Line> {
        self.lines.iter().find(|l| l.same_key(sku, options))
    }

    pub(crate) fn line_mut(&mut self, sku: &Sku, options: &Options) -> Option<&mut Line> {
        self.lines.iter_mut().find(|l| l.same_key(sku, options))
    }

    /// Total units over all lines.
    pub fn total_quantity(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// Same content, ignoring version and timestamp: what a shopper sees.
    pub fn same_content(&self, other: &Cart) -> bool {
        self.owner == other.owner
            && self.lines == other.lines
            && self.coupons == other.coupons
            && self.shipping_option == other.shipping_option
            && self.destination == other.destination
    }
}
