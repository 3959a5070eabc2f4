//! Cart commands and mutations, in their wire form
//! (`{"type": "add_item", ...}`).

use crate::model::{MutationId, Options, Sku};
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
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    AddItem {
        sku: Sku,
        quantity: i64,
        #[serde(default)]
        options: Options,
    },
    SetQuantity {
        sku: Sku,
        #[serde(default)]
        options: Options,
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

/// A command with its identity: the client's mutation id (for idempotency)
/// and the cart version it was built on (for conditional writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    pub id: MutationId,
    #[serde(default)]
    pub base_version: Option<u64>,
    pub command: Command,
}
