//! The arguments of the browser SDK's methods, as JavaScript passes them
//! (camelCase): `addItem({sku, quantity, options})`, `checkout({
//! idempotencyKey })`, `CartClient.open({endpoint, ...})`. One serde type
//! per shape; the binding reads them with serde-wasm-bindgen and the
//! package's TypeScript declarations are generated from them.
//!
//! A field left out takes its default; a field given as `null` or with the
//! wrong type is an error (`bad_request`), never a silent default.

use crate::command::Command;
use crate::model::{Options, Sku};
use crate::prelude::*;
use serde::Deserialize;

fn one() -> i64 {
    1
}

/// `addItem({sku, quantity = 1, options = {}})`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddItemArgs {
    pub sku: Sku,
    #[serde(default = "one")]
    #[cfg_attr(feature = "ts", ts(as = "Option<f64>", optional))]
    pub quantity: i64,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<Options>", optional))]
    pub options: Options,
}

/// `setQuantity({sku, options = {}, quantity})` (`0` removes the line).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetQuantityArgs {
    pub sku: Sku,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<Options>", optional))]
    pub options: Options,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub quantity: i64,
}

/// `removeItem({sku, options = {}})`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveItemArgs {
    pub sku: Sku,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<Options>", optional))]
    pub options: Options,
}

/// `setDestination({country, postalCode})`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetDestinationArgs {
    /// ISO 3166-1 alpha-2 (`"DE"`).
    pub country: String,
    pub postal_code: String,
}

impl From<SetDestinationArgs> for Command {
    fn from(a: SetDestinationArgs) -> Command {
        Command::SetDestination {
            country: a.country,
            postal_code: a.postal_code,
        }
    }
}

/// `checkout({idempotencyKey})`: the caller's own key for this attempt,
/// if it keeps one; by default the client keeps one per attempt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutOptions {
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub idempotency_key: Option<String>,
}

/// `CartClient.open({endpoint, namespace, userToken, requestTimeoutMs,
/// fetch})`. `fetch` (a function replacing the global one, for tests and
/// proxies) is read by the binding itself: it is not data, and the
/// package's declarations add it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    /// The API base, e.g. `"/api/v1"`.
    pub endpoint: String,
    /// Prefix for storage keys (several carts on one origin).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub namespace: Option<String>,
    /// A signed-in shopper's token (`Authorization: Bearer`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub user_token: Option<String>,
    /// How long a request may take before it counts as failed.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub request_timeout_ms: Option<u64>,
}

impl From<AddItemArgs> for Command {
    fn from(a: AddItemArgs) -> Command {
        Command::AddItem {
            sku: a.sku,
            quantity: a.quantity,
            options: a.options,
        }
    }
}

impl From<SetQuantityArgs> for Command {
    fn from(a: SetQuantityArgs) -> Command {
        Command::SetQuantity {
            sku: a.sku,
            options: a.options,
            quantity: a.quantity,
        }
    }
}

impl From<RemoveItemArgs> for Command {
    fn from(a: RemoveItemArgs) -> Command {
        Command::RemoveItem {
            sku: a.sku,
            options: a.options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_only_when_left_out() {
        let a: AddItemArgs = serde_json::from_str(r#"{"sku":"tee"}"#).unwrap();
        assert_eq!(Command::from(a), Command::add("tee", 1));
        for bad in [
            r#"{"sku":"tee","quantity":null}"#,
            r#"{"sku":"tee","options":null}"#,
            r#"{"sku":"tee","quantity":1.5}"#,
            r#"{"sku":"tee","qty":2}"#,
        ] {
            assert!(serde_json::from_str::<AddItemArgs>(bad).is_err(), "{bad}");
        }
        let o: OpenOptions = serde_json::from_str(r#"{"endpoint":"/api/v1","requestTimeoutMs":50}"#).unwrap();
        assert_eq!((o.endpoint.as_str(), o.request_timeout_ms), ("/api/v1", Some(50)));
        let d: SetDestinationArgs = serde_json::from_str(r#"{"country":"DE","postalCode":"10115"}"#).unwrap();
        assert_eq!(
            Command::from(d),
            Command::SetDestination {
                country: "DE".into(),
                postal_code: "10115".into()
            }
        );
        assert!(serde_json::from_str::<SetDestinationArgs>(r#"{"country":"DE","postal_code":"1"}"#).is_err());
        let c: CheckoutOptions = serde_json::from_str(r#"{"idempotencyKey":"k"}"#).unwrap();
        assert_eq!(c.idempotency_key.as_deref(), Some("k"));
    }
}
