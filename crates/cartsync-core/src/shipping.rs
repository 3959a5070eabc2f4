//! Shipping constraints: which of the catalog's shipping options can take a
//! cart to its destination, and at what price. One function decides it for
//! the authority (rendering, `select_shipping`, checkout) and for the
//! browser's optimistic view, so both say the same.
//!
//! An option is judged in this order (the first rule that fails is the
//! reason):
//! 1. **country**: with a destination, its country must be one the option
//!    serves (an empty list serves every country); without one this check
//!    waits for the destination (checkout requires it);
//! 2. **lines, in cart order**: the first line that has a shipping class
//!    the option cannot carry makes it unavailable (naming that line),
//!    unless a line without shipping data (a product the view does not
//!    know yet, or one that left the catalog) comes first: that makes the
//!    option `unknown` — neither offered nor refused, since the unknown
//!    line might be the first one it cannot carry;
//! 3. (every line known) **weight**: the parcel (sum of unit weight × quantity, in grams) must
//!    not exceed the option's maximum weight;
//! 4. **price**: the first weight band whose upper bound (inclusive) is at
//!    least the parcel's weight, or that has no bound, gives the price; a
//!    parcel heavier than every band is too heavy.

use crate::destination::Destination;
use crate::model::Sku;
use crate::money::Money;
use crate::prelude::*;
use crate::protocol::v1::LineView;
use serde::{Deserialize, Serialize};

/// One price band of a shipping option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WeightBand {
    /// Heaviest parcel (grams, inclusive) of this band; `null`: no limit.
    #[serde(default)]
    pub up_to_grams: Option<u32>,
    pub price: Money,
}

/// A shipping option as the catalog defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ShippingRule {
    /// The id `select_shipping` names (`"express"`).
    pub option: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes served; empty: every country.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Heaviest parcel the option takes, in grams.
    #[serde(default)]
    pub max_weight_grams: Option<u32>,
    /// Shipping classes of products this option cannot carry.
    #[serde(default)]
    pub excluded_classes: Vec<String>,
    /// Prices by weight, lightest band first.
    pub bands: Vec<WeightBand>,
}

/// Why an option cannot take a cart (or why checkout has no usable
/// selection). Tagged by `code` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "code", rename_all = "snake_case", try_from = "WireReason")]
pub enum ShippingReason {
    /// Checkout needs a destination (`set_destination`).
    DestinationRequired,
    /// Checkout needs a shipping option (`select_shipping`).
    NotSelected,
    /// The selected option is no longer offered.
    UnknownOption,
    /// The option does not serve the destination's country.
    CountryNotServed { country: String },
    /// A product of this class is in the bag and the option cannot carry it.
    ClassNotCarried { class: String, sku: Sku },
    /// The parcel is heavier than the option takes.
    TooHeavy {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        weight_grams: u64,
        max_grams: u32,
    },
}

/// The flat shape a reason is read from (see `command::WireCommand` for why
/// internally tagged enums are not read directly).
#[derive(Deserialize)]
struct WireReason {
    code: String,
    country: Option<String>,
    class: Option<String>,
    sku: Option<Sku>,
    weight_grams: Option<u64>,
    max_grams: Option<u32>,
}

impl TryFrom<WireReason> for ShippingReason {
    type Error = String;

    fn try_from(w: WireReason) -> Result<Self, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| ["shipping reason needs the field `", field, "`"].concat())
        }
        Ok(match w.code.as_str() {
            "destination_required" => ShippingReason::DestinationRequired,
            "not_selected" => ShippingReason::NotSelected,
            "unknown_option" => ShippingReason::UnknownOption,
            "country_not_served" => ShippingReason::CountryNotServed {
                country: need(w.country, "country")?,
            },
            "class_not_carried" => ShippingReason::ClassNotCarried {
                class: need(w.class, "class")?,
                sku: need(w.sku, "sku")?,
            },
            "too_heavy" => ShippingReason::TooHeavy {
                weight_grams: need(w.weight_grams, "weight_grams")?,
                max_grams: need(w.max_grams, "max_grams")?,
            },
            other => return Err(["unknown shipping reason `", other, "`"].concat()),
        })
    }
}

impl ShippingReason {
    /// The reason's code (`"too_heavy"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ShippingReason::DestinationRequired => "destination_required",
            ShippingReason::NotSelected => "not_selected",
            ShippingReason::UnknownOption => "unknown_option",
            ShippingReason::CountryNotServed { .. } => "country_not_served",
            ShippingReason::ClassNotCarried { .. } => "class_not_carried",
            ShippingReason::TooHeavy { .. } => "too_heavy",
        }
    }

    /// A sentence for humans (error messages).
    pub fn text(&self) -> String {
        use crate::text::decimal as d;
        match self {
            ShippingReason::DestinationRequired => "no destination is set".into(),
            ShippingReason::NotSelected => "no shipping option is selected".into(),
            ShippingReason::UnknownOption => "the option is no longer offered".into(),
            ShippingReason::CountryNotServed { country } => ["it does not deliver to ", country].concat(),
            ShippingReason::ClassNotCarried { class, sku } => {
                ["it cannot carry ", sku.as_str(), " (class ", class, ")"].concat()
            }
            ShippingReason::TooHeavy {
                weight_grams,
                max_grams,
            } => [
                "the parcel weighs ",
                &d(*weight_grams),
                " g, over its limit of ",
                &d(u64::from(*max_grams)),
                " g",
            ]
            .concat(),
        }
    }
}

/// Whether an option can take the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum ShippingStatus {
    Available,
    Unavailable,
    /// A line's shipping data is not known yet (see the module docs).
    Unknown,
}

/// One option as judged for a cart: `price` when available, `reason` when
/// unavailable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ShippingQuote {
    pub option: String,
    pub name: String,
    pub status: ShippingStatus,
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub reason: Option<ShippingReason>,
}

/// The parcel weight of `lines` in grams, or `None` when a line's weight
/// is unknown.
pub fn parcel_weight(lines: &[LineView]) -> Option<u64> {
    lines.iter().try_fold(0u64, |sum, l| {
        let w = u64::from(l.weight_grams?);
        Some(sum.saturating_add(w.saturating_mul(u64::from(l.quantity))))
    })
}

/// Judges one option for `lines` going to `destination` (see the module
/// docs for the order of the rules).
///
/// ```
/// use cartsync_core::shipping::{quote, ShippingRule, ShippingStatus, WeightBand};
/// use cartsync_core::protocol::v1::LineView;
/// use cartsync_core::{Money, Sku};
/// let rule = ShippingRule {
///     option: "standard".into(), name: "Standard".into(), countries: vec![],
///     max_weight_grams: Some(5_000), excluded_classes: vec![],
///     bands: vec![WeightBand { up_to_grams: Some(1_000), price: Money::new(490, "EUR") },
///                 WeightBand { up_to_grams: None, price: Money::new(890, "EUR") }],
/// };
/// let line = LineView { sku: Sku::new("mug"), options: Default::default(), quantity: 3, name: None,
///     unit_price: None, image: None, weight_grams: Some(400), shipping_class: None };
/// let q = quote(&rule, &[line], None);
/// assert_eq!((q.status, q.price.unwrap().amount), (ShippingStatus::Available, 890));
/// ```
pub fn quote(rule: &ShippingRule, lines: &[LineView], destination: Option<&Destination>) -> ShippingQuote {
    let judged = |status, price, reason| ShippingQuote {
        option: rule.option.clone(),
        name: rule.name.clone(),
        status,
        price,
        reason,
    };
    let unavailable = |reason| judged(ShippingStatus::Unavailable, None, Some(reason));
    if let Some(d) = destination {
        if !rule.countries.is_empty() && !rule.countries.contains(&d.country) {
            return unavailable(ShippingReason::CountryNotServed {
                country: d.country.clone(),
            });
        }
    }
    for l in lines {
        if l.weight_grams.is_none() {
            return judged(ShippingStatus::Unknown, None, None);
        }
        if let Some(class) = l.shipping_class.as_ref().filter(|c| rule.excluded_classes.contains(c)) {
            return unavailable(ShippingReason::ClassNotCarried {
                class: class.clone(),
                sku: l.sku.clone(),
            });
        }
    }
    let Some(weight) = parcel_weight(lines) else {
        return judged(ShippingStatus::Unknown, None, None);
    };
    if let Some(max) = rule.max_weight_grams.filter(|max| weight > u64::from(*max)) {
        return unavailable(ShippingReason::TooHeavy {
            weight_grams: weight,
            max_grams: max,
        });
    }
    let band = rule
        .bands
        .iter()
        .find(|b| b.up_to_grams.is_none_or(|up| weight <= u64::from(up)));
    match band {
        Some(b) => judged(ShippingStatus::Available, Some(b.price.clone()), None),
        None => unavailable(ShippingReason::TooHeavy {
            weight_grams: weight,
            max_grams: rule.bands.iter().filter_map(|b| b.up_to_grams).max().unwrap_or(0),
        }),
    }
}

/// Every option of `rules`, judged for the cart, in catalog order.
pub fn quote_all(rules: &[ShippingRule], lines: &[LineView], destination: Option<&Destination>) -> Vec<ShippingQuote> {
    rules.iter().map(|r| quote(r, lines, destination)).collect()
}

/// What checkout makes of the cart's selection: the option's price, or why
/// there is no usable one (no destination, nothing selected, an option no
/// longer offered, or one that cannot take the cart). `Ok(None)`: the
/// option's status is `unknown` (a line the catalog no longer knows, which
/// checkout reports as out of stock).
pub fn selection(
    rules: &[ShippingRule],
    lines: &[LineView],
    destination: Option<&Destination>,
    selected: Option<&str>,
) -> Result<Option<Money>, ShippingReason> {
    if destination.is_none() {
        return Err(ShippingReason::DestinationRequired);
    }
    let option = selected.ok_or(ShippingReason::NotSelected)?;
    let rule = rules
        .iter()
        .find(|r| r.option == option)
        .ok_or(ShippingReason::UnknownOption)?;
    let q = quote(rule, lines, destination);
    match (q.status, q.reason) {
        (ShippingStatus::Available, _) => Ok(q.price),
        (ShippingStatus::Unknown, _) => Ok(None),
        (ShippingStatus::Unavailable, Some(reason)) => Err(reason),
        (ShippingStatus::Unavailable, None) => Err(ShippingReason::UnknownOption),
    }
}

/// The authority's check of `select_shipping` (and the optimistic view's,
/// on its own cart): an option the rules do not have is
/// `unknown_shipping_option`; one judged unavailable for the cart as it is
/// is `shipping_option_unavailable` with the reason. An option whose status
/// is `unknown` passes (the authority, which knows every line, decides).
pub fn check_select(
    rules: &[ShippingRule],
    lines: &[LineView],
    destination: Option<&Destination>,
    option: &str,
) -> Result<(), crate::error::CartError> {
    use crate::error::CartError;
    let Some(rule) = rules.iter().find(|r| r.option == option) else {
        return Err(CartError::UnknownShippingOption {
            option: option.chars().take(80).collect(),
        });
    };
    match quote(rule, lines, destination) {
        ShippingQuote {
            status: ShippingStatus::Unavailable,
            reason: Some(reason),
            ..
        } => Err(CartError::ShippingOptionUnavailable {
            option: option.into(),
            reason,
        }),
        _ => Ok(()),
    }
}
