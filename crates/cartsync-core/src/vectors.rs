//! Golden vectors: cases whose expected outputs were written down from the
//! rules in `docs/merge-rules.md`, stored as JSON in `tests/fixtures/v1/` and
//! run by both the native tests and the browser build, so both sides provably
//! compute the same carts.
//!
//! This module only defines the case types and checks one already
//! deserialised case; reading files is the caller's business (serde_json
//! natively, whatever the browser test prefers), so the wasm build stays free
//! of serde_json.
//!
//! A file is `{"format": "cartsync-vectors/v1", "cases": [...]}`; each case
//! names its `kind` (`apply`, `decide`, `merge`, `rebase`, `error`,
//! `shipping`, `tax`, `terms`), a `name` and a one-line `why`, its inputs
//! and an `expect`ation.
//!
//! ```
//! use cartsync_core::vectors::{run_case, ApplyCase, Case, Outcome};
//! use cartsync_core::{apply, Cart, Command, Limits};
//! let after = apply(&Cart::default(), &Command::add("tee", 1), &Limits::default()).unwrap();
//! let case = Case::Apply(ApplyCase {
//!     name: "add to empty".into(),
//!     why: "a new key appends a line".into(),
//!     limits: Default::default(),
//!     cart: Cart::default(),
//!     command: Command::add("tee", 1),
//!     expect: Outcome::Ok(after),
//! });
//! assert_eq!(run_case(&case), Ok(()));
//! ```

use crate::apply::apply;
use crate::authority::{decide_batch, CommandCheck, Conflict, IdempotencyRecord, MutationResult};
use crate::command::{Command, Mutation};
use crate::error::{CartError, ErrorBody};
use crate::limits::Limits;
use crate::merge::{merge, MergeReport};
use crate::model::{Cart, Destination, MutationId};
use crate::money::{Money, Totals};
use crate::protocol::v1::{CartView, LineView};
use crate::rebase::{rebase, Reconciliation};
use crate::shipping::{check_select, quote_all, ShippingQuote, ShippingRule};
use crate::tax::{tax_exclusive, tax_inclusive};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// The `format` every vector file declares.
pub const FORMAT: &str = "cartsync-vectors/v1";

/// One vector file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub format: String,
    #[serde(default)]
    pub description: String,
    pub cases: Vec<Case>,
}

/// One golden case, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Case {
    Apply(ApplyCase),
    Decide(DecideCase),
    Merge(MergeCase),
    Rebase(RebaseCase),
    Error(ErrorCase),
    Shipping(ShippingCase),
    Tax(TaxCase),
    Terms(TermsCase),
}

/// What an operation should give: a value or a typed error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome<T> {
    Ok(T),
    Error(CartError),
}

/// Overrides of [`Limits::default`] for one case (small limits keep the
/// vectors short, e.g. `max_lines: 2` instead of a 100-line cart).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub max_lines: Option<usize>,
    pub min_quantity: Option<u32>,
    pub max_quantity: Option<u32>,
    pub max_sku_len: Option<usize>,
    pub max_options: Option<usize>,
    pub max_option_key_len: Option<usize>,
    pub max_option_value_len: Option<usize>,
    pub max_coupon_len: Option<usize>,
    pub max_coupons: Option<usize>,
    pub max_shipping_option_len: Option<usize>,
    pub max_batch: Option<usize>,
}

impl LimitOverrides {
    /// The default limits with these overrides.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            max_lines: self.max_lines.unwrap_or(d.max_lines),
            min_quantity: self.min_quantity.unwrap_or(d.min_quantity),
            max_quantity: self.max_quantity.unwrap_or(d.max_quantity),
            max_sku_len: self.max_sku_len.unwrap_or(d.max_sku_len),
            max_options: self.max_options.unwrap_or(d.max_options),
            max_option_key_len: self.max_option_key_len.unwrap_or(d.max_option_key_len),
            max_option_value_len: self.max_option_value_len.unwrap_or(d.max_option_value_len),
            max_coupon_len: self.max_coupon_len.unwrap_or(d.max_coupon_len),
            max_coupons: self.max_coupons.unwrap_or(d.max_coupons),
            max_shipping_option_len: self.max_shipping_option_len.unwrap_or(d.max_shipping_option_len),
            max_batch: self.max_batch.unwrap_or(d.max_batch),
        }
    }
}

/// `apply(cart, command)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyCase {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub cart: Cart,
    pub command: Command,
    pub expect: Outcome<Cart>,
}

/// `decide_batch(cart, log, batch)` with a catalog that knows every SKU and
/// shipping option except the ones listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideCase {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub cart: Cart,
    /// Idempotency records already stored, keyed by `result.id`.
    #[serde(default)]
    pub log: Vec<IdempotencyRecord>,
    pub batch: Vec<Mutation>,
    #[serde(default)]
    pub unknown_skus: BTreeSet<String>,
    #[serde(default)]
    pub unknown_shipping_options: BTreeSet<String>,
    /// With shipping rules, `select_shipping` is judged by them (unknown
    /// option, or unavailable for the cart at that point of the batch)
    /// instead of by `unknown_shipping_options`.
    #[serde(default)]
    pub shipping: Option<VectorShipping>,
    #[serde(default)]
    pub now: u64,
    pub expect: Outcome<ExpectedDecision>,
}

/// The shipping side of a decide vector's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorShipping {
    pub rules: Vec<ShippingRule>,
    /// Unit weight per sku, in grams (a sku not listed has none known).
    #[serde(default)]
    pub weights: BTreeMap<String, u32>,
    /// Shipping class per sku.
    #[serde(default)]
    pub classes: BTreeMap<String, String>,
}

impl VectorShipping {
    /// The cart's lines with their shipping data.
    pub fn lines(&self, cart: &Cart) -> Vec<LineView> {
        let mut view = CartView::bare(cart);
        for l in &mut view.lines {
            l.weight_grams = self.weights.get(l.sku.as_str()).copied();
            l.shipping_class = self.classes.get(l.sku.as_str()).cloned();
        }
        view.lines
    }
}

/// `shipping::quote_all(rules, lines, destination)`: every option judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingCase {
    pub name: String,
    pub why: String,
    pub rules: Vec<ShippingRule>,
    pub lines: Vec<LineView>,
    #[serde(default)]
    pub destination: Option<Destination>,
    pub expect: Vec<ShippingQuote>,
}

/// The tax rounding rule on one amount (`tax_exclusive` or
/// `tax_inclusive`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxCase {
    pub name: String,
    pub why: String,
    pub amount: i64,
    pub rate_bp: u32,
    pub prices_include_tax: bool,
    pub expect: i64,
}

/// `terms::derive(cart, discount)`: the shipping options and totals of a
/// rendered cart (its lines' prices and weights, rules, destination and
/// selection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsCase {
    pub name: String,
    pub why: String,
    pub cart: CartView,
    pub discount: Money,
    pub expect: ExpectedTerms,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTerms {
    pub shipping_options: Vec<ShippingQuote>,
    pub totals: Totals,
}

/// The parts of a [`crate::BatchDecision`] a vector pins down. Events are
/// checked against the applied results rather than spelled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDecision {
    pub cart: Cart,
    pub results: Vec<MutationResult>,
    #[serde(default)]
    pub conflict: Option<Conflict>,
    /// Ids that got a new idempotency record, in order.
    pub recorded: Vec<MutationId>,
}

/// `merge(account, anonymous)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeCase {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub account: Cart,
    pub anonymous: Cart,
    pub expect: ExpectedMerge,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedMerge {
    pub cart: Cart,
    pub report: MergeReport,
}

/// `rebase(server, pending)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebaseCase {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub server: Cart,
    pub pending: Vec<Mutation>,
    pub expect: ExpectedRebase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRebase {
    pub cart: Cart,
    pub reconciliations: Vec<Reconciliation>,
}

/// An error value and the wire body it must become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCase {
    pub name: String,
    pub why: String,
    pub error: CartError,
    pub body: ErrorBody,
}

/// The catalog of a decide vector: everything is known except the listed
/// SKUs (checked on `add_item` and non-zero `set_quantity`; removing an
/// unknown SKU is harmless) and shipping options.
#[derive(Debug, Clone, Copy)]
pub struct VectorCatalog<'a> {
    pub unknown_skus: &'a BTreeSet<String>,
    pub unknown_shipping_options: &'a BTreeSet<String>,
    pub shipping: Option<&'a VectorShipping>,
}

impl CommandCheck for VectorCatalog<'_> {
    fn check(&self, cart: &Cart, command: &Command) -> Result<(), CartError> {
        if let (Command::SelectShipping { option }, Some(shipping)) = (command, self.shipping) {
            return check_select(
                &shipping.rules,
                &shipping.lines(cart),
                cart.destination.as_ref(),
                option,
            );
        }
        let sku = match command {
            Command::AddItem { sku, .. } => Some(sku),
            Command::SetQuantity { sku, quantity, .. } if *quantity != 0 => Some(sku),
            _ => None,
        };
        if let Some(sku) = sku.filter(|s| self.unknown_skus.contains(s.as_str())) {
            return Err(CartError::UnknownSku { sku: sku.0.clone() });
        }
        match command {
            Command::SelectShipping { option } if self.unknown_shipping_options.contains(option) => {
                Err(CartError::UnknownShippingOption { option: option.clone() })
            }
            _ => Ok(()),
        }
    }
}

impl Case {
    pub fn name(&self) -> &str {
        match self {
            Case::Apply(c) => &c.name,
            Case::Decide(c) => &c.name,
            Case::Merge(c) => &c.name,
            Case::Rebase(c) => &c.name,
            Case::Error(c) => &c.name,
            Case::Shipping(c) => &c.name,
            Case::Tax(c) => &c.name,
            Case::Terms(c) => &c.name,
        }
    }

    pub fn why(&self) -> &str {
        match self {
            Case::Apply(c) => &c.why,
            Case::Decide(c) => &c.why,
            Case::Merge(c) => &c.why,
            Case::Rebase(c) => &c.why,
            Case::Error(c) => &c.why,
            Case::Shipping(c) => &c.why,
            Case::Tax(c) => &c.why,
            Case::Terms(c) => &c.why,
        }
    }

    /// The wire kind (`"apply"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Case::Apply(_) => "apply",
            Case::Decide(_) => "decide",
            Case::Merge(_) => "merge",
            Case::Rebase(_) => "rebase",
            Case::Error(_) => "error",
            Case::Shipping(_) => "shipping",
            Case::Tax(_) => "tax",
            Case::Terms(_) => "terms",
        }
    }

    /// The error codes this case's expectation exercises; a decide conflict
    /// counts as `version_conflict` (what the server answers with).
    pub fn codes(&self) -> BTreeSet<String> {
        let mut codes = BTreeSet::new();
        match self {
            Case::Apply(c) => {
                if let Outcome::Error(e) = &c.expect {
                    codes.insert(e.code().to_string());
                }
            }
            Case::Decide(c) => match &c.expect {
                Outcome::Error(e) => {
                    codes.insert(e.code().to_string());
                }
                Outcome::Ok(d) => {
                    codes.extend(
                        d.results
                            .iter()
                            .filter_map(|r| r.error.as_ref())
                            .map(|e| e.code.clone()),
                    );
                    if d.conflict.is_some() {
                        codes.insert("version_conflict".to_string());
                    }
                }
            },
            Case::Merge(_) => {}
            Case::Rebase(c) => {
                for r in &c.expect.reconciliations {
                    if let Reconciliation::WouldReject { error, .. } = r {
                        codes.insert(error.code.clone());
                    }
                }
            }
            Case::Error(c) => {
                codes.insert(c.error.code().to_string());
            }
            Case::Shipping(_) | Case::Tax(_) | Case::Terms(_) => {}
        }
        codes
    }
}

/// Runs one case; `Err` describes the first mismatch.
pub fn run_case(case: &Case) -> Result<(), String> {
    match case {
        Case::Apply(c) => run_apply(c),
        Case::Decide(c) => run_decide(c),
        Case::Merge(c) => {
            let (cart, report) = merge(&c.account, &c.anonymous, &c.limits.limits());
            same("merged cart", &c.expect.cart, &cart)?;
            same("merge report", &c.expect.report, &report)
        }
        Case::Rebase(c) => {
            let (cart, recs) = rebase(&c.server, &c.pending, &c.limits.limits());
            same("rebased cart", &c.expect.cart, &cart)?;
            same("reconciliations", &c.expect.reconciliations, &recs)
        }
        Case::Error(c) => {
            if !CartError::CODES.contains(&c.error.code()) {
                return Err(format!("code {:?} is missing from CartError::CODES", c.error.code()));
            }
            same("wire body", &c.body, &c.error.to_body())
        }
        Case::Shipping(c) => {
            let quotes = quote_all(&c.rules, &c.lines, c.destination.as_ref());
            same("shipping options", &c.expect, &quotes)
        }
        Case::Tax(c) => {
            let tax = match c.prices_include_tax {
                true => tax_inclusive(c.amount, c.rate_bp),
                false => tax_exclusive(c.amount, c.rate_bp),
            };
            same("tax", &c.expect, &tax)
        }
        Case::Terms(c) => {
            let mut view = c.cart.clone();
            crate::terms::derive(&mut view, &c.discount);
            same("shipping options", &c.expect.shipping_options, &view.shipping_options)?;
            same("totals", &Some(&c.expect.totals), &view.totals.as_deref())
        }
    }
}

fn run_apply(c: &ApplyCase) -> Result<(), String> {
    let outcome = match apply(&c.cart, &c.command, &c.limits.limits()) {
        Ok(cart) => Outcome::Ok(cart),
        Err(e) => Outcome::Error(e),
    };
    same("apply outcome", &c.expect, &outcome)
}

fn run_decide(c: &DecideCase) -> Result<(), String> {
    let log: BTreeMap<MutationId, IdempotencyRecord> = c.log.iter().map(|r| (r.result.id, r.clone())).collect();
    let catalog = VectorCatalog {
        unknown_skus: &c.unknown_skus,
        unknown_shipping_options: &c.unknown_shipping_options,
        shipping: c.shipping.as_ref(),
    };
    let decision = match decide_batch(&c.cart, &log, &c.batch, &c.limits.limits(), &catalog, c.now) {
        Ok(d) => d,
        Err(e) => return same("decision", &c.expect, &Outcome::Error(e)),
    };
    let expected = match &c.expect {
        Outcome::Ok(d) => d,
        Outcome::Error(e) => return Err(format!("expected error {e:?}, got a decision {decision:#?}")),
    };
    same("decided cart", &expected.cart, &decision.cart)?;
    same("results", &expected.results, &decision.results)?;
    same("conflict", &expected.conflict, &decision.conflict)?;
    let recorded: Vec<MutationId> = decision.records.iter().map(|(id, _)| *id).collect();
    same("recorded ids", &expected.recorded, &recorded)?;
    // Each record stores the command it was decided with and its result.
    for (id, record) in &decision.records {
        let sent = c.batch.iter().find(|m| m.id == *id).map(|m| &m.command);
        let result = decision.results.iter().find(|r| r.id == *id);
        if sent != Some(&record.command) || result != Some(&record.result) {
            return Err(format!(
                "record for {id} does not match its mutation and result: {record:?}"
            ));
        }
    }
    // One event per applied result, carrying the mutation's command.
    let applied: Vec<_> = decision
        .results
        .iter()
        .filter(|r| r.status == crate::MutationStatus::Applied)
        .collect();
    let events_match = applied.len() == decision.events.len()
        && applied.iter().zip(&decision.events).all(|(r, e)| {
            e.version == r.version
                && e.mutation_id == r.id
                && e.at == c.now
                && c.batch.iter().any(|m| m.id == r.id && m.command == e.command)
        });
    if !events_match {
        return Err(format!(
            "events do not match the applied results: {:#?}",
            decision.events
        ));
    }
    Ok(())
}

fn same<T: PartialEq + Debug>(what: &str, expected: &T, actual: &T) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{what} differs\nexpected: {expected:#?}\n  actual: {actual:#?}"
        ))
    }
}
