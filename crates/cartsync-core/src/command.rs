//! Cart commands and mutations, in their wire form
//! (`{"type": "add_item", ...}`).

use crate::model::{MutationId, Options, Sku};
use crate::prelude::*;
use serde::{Deserialize, Serialize};

/// One change a shopper asks for. Quantities are `i64` on the wire so that a
/// negative or huge number becomes a typed `quantity_out_of_range` rejection
/// rather than a parse error.
///
/// ```
/// use cartsync_core::Command;
/// let c = Command::add("tee-black", 2);
/// assert!(c.is_commutative());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case", try_from = "WireCommand")]
pub enum Command {
    AddItem {
        sku: Sku,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        quantity: i64,
        #[serde(default)]
        options: Options,
    },
    SetQuantity {
        sku: Sku,
        #[serde(default)]
        options: Options,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        quantity: i64,
    },
    RemoveItem {
        sku: Sku,
        #[serde(default)]
        options: Options,
    },
    ApplyCoupon {
        code: String,
    },
    RemoveCoupon {
        code: String,
    },
    SelectShipping {
        option: String,
    },
    /// Where the order goes: an ISO 3166-1 alpha-2 country and a postal
    /// code (see `destination.rs` for the rules).
    SetDestination {
        country: String,
        postal_code: String,
    },
    Clear {},
}

impl Command {
    /// `add_item` without options.
    pub fn add(sku: &str, quantity: i64) -> Self {
        Command::AddItem {
            sku: Sku::new(sku),
            quantity,
            options: Options::new(),
        }
    }

    /// `set_quantity` without options.
    pub fn set(sku: &str, quantity: i64) -> Self {
        Command::SetQuantity {
            sku: Sku::new(sku),
            options: Options::new(),
            quantity,
        }
    }

    /// `remove_item` without options.
    pub fn remove(sku: &str) -> Self {
        Command::RemoveItem {
            sku: Sku::new(sku),
            options: Options::new(),
        }
    }

    /// Commands whose effect does not depend on what else happened to the
    /// cart: they may be sent without a base version and never conflict.
    pub fn is_commutative(&self) -> bool {
        matches!(self, Command::AddItem { .. } | Command::ApplyCoupon { .. })
    }

    /// The wire name of the command (`"add_item"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::AddItem { .. } => "add_item",
            Command::SetQuantity { .. } => "set_quantity",
            Command::RemoveItem { .. } => "remove_item",
            Command::ApplyCoupon { .. } => "apply_coupon",
            Command::RemoveCoupon { .. } => "remove_coupon",
            Command::SelectShipping { .. } => "select_shipping",
            Command::SetDestination { .. } => "set_destination",
            Command::Clear {} => "clear",
        }
    }

    /// The line a command touches, if it touches one.
    pub fn line_key(&self) -> Option<(&Sku, &Options)> {
        match self {
            Command::AddItem { sku, options, .. }
            | Command::SetQuantity { sku, options, .. }
            | Command::RemoveItem { sku, options } => Some((sku, options)),
            _ => None,
        }
    }
}

/// The flat shape a command is read from. Deserialising an internally
/// tagged enum directly makes serde buffer every field into its generic
/// `Content` tree, which costs the browser build ~40 KB of wasm; reading
/// one flat struct and converting costs a fraction of that. The wire format
/// is the same. Public so that a binding reading JS objects field by field
/// (without serde) fills it and converts with the same rules.
///
/// ```
/// use cartsync_core::command::WireCommand;
/// use cartsync_core::Command;
/// let w = WireCommand { kind: "clear".into(), ..WireCommand::default() };
/// assert_eq!(Command::try_from(w), Ok(Command::Clear {}));
/// ```
#[derive(Debug, Default, Deserialize)]
pub struct WireCommand {
    #[serde(rename = "type")]
    pub kind: String,
    pub sku: Option<Sku>,
    pub quantity: Option<i64>,
    pub options: Option<Options>,
    pub code: Option<String>,
    pub option: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
}

impl TryFrom<WireCommand> for Command {
    type Error = String;

    fn try_from(w: WireCommand) -> Result<Self, String> {
        fn need<T>(v: Option<T>, kind: &str, field: &str) -> Result<T, String> {
            v.ok_or_else(|| ["command `", kind, "` needs the field `", field, "`"].concat())
        }
        let k = w.kind.as_str();
        let options = w.options.unwrap_or_default();
        Ok(match k {
            "add_item" => Command::AddItem {
                sku: need(w.sku, k, "sku")?,
                quantity: need(w.quantity, k, "quantity")?,
                options,
            },
            "set_quantity" => Command::SetQuantity {
                sku: need(w.sku, k, "sku")?,
                options,
                quantity: need(w.quantity, k, "quantity")?,
            },
            "remove_item" => Command::RemoveItem {
                sku: need(w.sku, k, "sku")?,
                options,
            },
            "apply_coupon" => Command::ApplyCoupon {
                code: need(w.code, k, "code")?,
            },
            "remove_coupon" => Command::RemoveCoupon {
                code: need(w.code, k, "code")?,
            },
            "select_shipping" => Command::SelectShipping {
                option: need(w.option, k, "option")?,
            },
            "set_destination" => Command::SetDestination {
                country: need(w.country, k, "country")?,
                postal_code: need(w.postal_code, k, "postal_code")?,
            },
            "clear" => Command::Clear {},
            other => return Err(["unknown command type `", other, "`"].concat()),
        })
    }
}

/// A command with its identity: the client's mutation id (for idempotency)
/// and the cart version it was built on (for conditional writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Mutation {
    pub id: MutationId,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub base_version: Option<u64>,
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips_and_names_missing_fields() {
        let all = [
            Command::add("tee", 2),
            Command::set("tee", 0),
            Command::remove("tee"),
            Command::ApplyCoupon { code: "A".into() },
            Command::RemoveCoupon { code: "A".into() },
            Command::SelectShipping {
                option: "express".into(),
            },
            Command::SetDestination {
                country: "DE".into(),
                postal_code: "10115".into(),
            },
            Command::Clear {},
        ];
        for c in all {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c, "{json}");
        }
        let e = serde_json::from_str::<Command>(r#"{"type":"add_item","sku":"tee"}"#).unwrap_err();
        assert!(e.to_string().contains("`quantity`"), "{e}");
        let e = serde_json::from_str::<Command>(r#"{"type":"explode"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown command type `explode`"), "{e}");
        let e = serde_json::from_str::<Command>(r#"{"sku":"tee"}"#).unwrap_err();
        assert!(e.to_string().contains("type"), "{e}");
    }
}
