//! The optimistic view: the last server cart with the pending mutations
//! applied on top (by the core's `rebase`), its checkout terms judged by
//! the core's rules (`terms.rs`), and where syncing stands.
//!
//! The engine keeps the optimistic cart as a value and updates it in place
//! when a command is issued (one line touched, whatever the cart's size);
//! anything else that changes the server cart or the outbox recomputes it
//! from scratch. Both paths give the same cart (tested, and checked in the
//! simulation). What changed is reported as [`ViewChanges`], so a binding
//! that keeps a rendering of the lines redoes only the changed one.

use crate::apply::{Applied, CartBody, CartLine};
use crate::command::Mutation;
use crate::error::ErrorBody;
use crate::limits::Limits;
use crate::model::{Cart, Coupon, Destination, Options, Sku};
use crate::money::Totals;
use crate::prelude::*;
use crate::protocol::v1::{CartView, LineView};
use crate::rebase::rebase;
use crate::shipping::ShippingQuote;

pub use super::view_terms::rederive;
use serde::{Deserialize, Serialize};

use super::codes;

/// Where the engine stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, rename = "SyncStatus"))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing pending: the view is the server's cart.
    Synced,
    /// Mutations are pending and being sent (or waiting for the leader tab).
    Syncing,
    /// The browser is offline; pending mutations wait.
    Offline,
    /// The last attempt failed; the engine is backing off (see `last_error`).
    Error,
}

/// Why the last attempt to sync failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncError {
    /// No usable answer (network error, timeout, 5xx, 429): retrying with
    /// backoff; `attempts` failures in a row so far.
    Unreachable { attempts: u32 },
    /// The server refused the request (a 4xx body).
    Refused { error: ErrorBody },
}

impl SyncError {
    /// The error a caller sees (`flush()` rejects with it, the view shows
    /// it): the server's body, or `network_error`.
    pub fn body(&self) -> ErrorBody {
        match self {
            SyncError::Unreachable { .. } => ErrorBody {
                code: codes::NETWORK_ERROR.into(),
                message: "the server could not be reached; the changes wait in the outbox".into(),
            },
            SyncError::Refused { error } => error.clone(),
        }
    }
}

/// What a UI renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The server cart with pending mutations applied. Lines keep the
    /// server's display data where the server knows the line; `totals` are
    /// the server's only while nothing is pending (they would be stale).
    pub cart: CartView,
    pub pending: usize,
    pub status: Status,
    pub last_error: Option<SyncError>,
}

/// The view's parts other than its lines, in the shape JavaScript gets
/// them (the binding writes field names in camelCase and adds `lines`,
/// reusing the objects of lines that did not change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ViewHead<'a> {
    pub coupons: &'a [Coupon],
    pub shipping_option: Option<&'a str>,
    pub destination: Option<&'a Destination>,
    /// Every shipping option judged for the optimistic cart (the core's
    /// rule, as the authority judges it).
    pub shipping_options: &'a [ShippingQuote],
    /// The totals with shipping and tax: the server's while nothing is
    /// pending, else the core's estimate when every line is known and the
    /// discount is settled, else `null`.
    pub totals: Option<&'a Totals>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    /// Mutations not yet acknowledged by the server.
    pub pending: usize,
    pub status: Status,
    pub last_error: Option<ErrorBody>,
}

/// The optimistic cart (without display data): what rebase gives.
pub fn optimistic_cart(server: Option<&CartView>, pending: &[Mutation], limits: &Limits) -> Cart {
    let base = server.map(CartView::to_cart).unwrap_or_default();
    rebase(&base, pending, limits).0
}

/// The optimistic cart as a [`CartView`], display data carried over: the
/// definition the engine's in-place updates must agree with.
pub fn optimistic_view(server: Option<&CartView>, pending: &[Mutation], limits: &Limits) -> CartView {
    let cart = optimistic_cart(server, pending, limits);
    let mut view = CartView::bare(&cart);
    if let Some(server) = server {
        // The view's lines keep the server's order (rebase edits in place
        // and appends), so each search starts after the last match: linear
        // overall where a search from the top made a 1,000-line view
        // quadratic.
        let mut next = 0;
        for line in &mut view.lines {
            let same = |l: &&LineView| l.sku == line.sku && l.options == line.options;
            let found = server
                .lines
                .iter()
                .enumerate()
                .skip(next)
                .find(|(_, l)| same(l))
                .or_else(|| server.lines.iter().enumerate().take(next).find(|(_, l)| same(l)));
            if let Some((at, known)) = found {
                next = at + 1;
                let quantity = line.quantity;
                *line = LineView {
                    quantity,
                    ..known.clone()
                };
            }
        }
        view.rules = server.rules.clone();
    }
    rederive(&mut view, server, pending.is_empty());
    view
}

impl CartLine for LineView {
    fn same_key(&self, sku: &Sku, options: &Options) -> bool {
        &self.sku == sku && &self.options == options
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
    fn set_quantity(&mut self, quantity: u32) {
        self.quantity = quantity;
    }
}

/// The optimistic view as a [`CartBody`]: a command applied to it edits the
/// view in place; a new line takes the server's display data when the
/// server knows its key (as [`optimistic_view`] does).
pub(super) struct Optimistic<'a> {
    pub view: &'a mut CartView,
    pub server: Option<&'a CartView>,
}

impl CartBody for Optimistic<'_> {
    type Line = LineView;
    fn lines(&self) -> &[LineView] {
        &self.view.lines
    }
    fn lines_mut(&mut self) -> &mut Vec<LineView> {
        &mut self.view.lines
    }
    fn coupons_mut(&mut self) -> &mut Vec<Coupon> {
        &mut self.view.coupons
    }
    fn shipping_option_mut(&mut self) -> &mut Option<String> {
        &mut self.view.shipping_option
    }
    fn destination_mut(&mut self) -> &mut Option<Destination> {
        &mut self.view.destination
    }
    fn new_line(&self, sku: &Sku, options: &Options, quantity: u32) -> LineView {
        let known = self
            .server
            .and_then(|s| s.lines.iter().find(|l| l.same_key(sku, options)));
        match known {
            Some(known) => LineView {
                quantity,
                ..known.clone()
            },
            None => LineView {
                sku: sku.clone(),
                options: options.clone(),
                quantity,
                name: None,
                unit_price: None,
                image: None,
                weight_grams: None,
                shipping_class: None,
            },
        }
    }
}

/// What changed in the view's lines since a binding last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineChanges {
    #[default]
    None,
    /// Exactly one change: the line at this index was replaced...
    Set(usize),
    /// ...a line was inserted at this index...
    Insert(usize),
    /// ...or the line at this index was removed.
    Remove(usize),
    /// Anything else: compare every line.
    All,
}

impl LineChanges {
    /// This change followed by `next`.
    fn then(self, next: LineChanges) -> LineChanges {
        match (self, next) {
            (LineChanges::None, n) | (n, LineChanges::None) => n,
            (LineChanges::Set(a), LineChanges::Set(b)) if a == b => self,
            _ => LineChanges::All,
        }
    }

    pub(super) fn from_applied(applied: Applied) -> LineChanges {
        match applied {
            Applied::NoLine => LineChanges::None,
            Applied::Changed(i) => LineChanges::Set(i),
            Applied::Added(i) => LineChanges::Insert(i),
            Applied::Removed(i) => LineChanges::Remove(i),
            Applied::Many => LineChanges::All,
        }
    }

    /// The changes from `old` to `new`, as precisely as one step allows.
    pub(super) fn diff(old: &[LineView], new: &[LineView]) -> LineChanges {
        let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
        if prefix == old.len() && prefix == new.len() {
            return LineChanges::None;
        }
        // Compare the tails from the end to find the one differing spot.
        let suffix = old[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        match (old.len() - prefix - suffix, new.len() - prefix - suffix) {
            (1, 1) => LineChanges::Set(prefix),
            (0, 1) => LineChanges::Insert(prefix),
            (1, 0) => LineChanges::Remove(prefix),
            _ => LineChanges::All,
        }
    }
}

/// Everything that changed in the view since a binding last took the
/// changes ([`super::Engine::take_view_changes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewChanges {
    pub lines: LineChanges,
    /// Anything outside the lines (coupons, shipping, destination, totals,
    /// version, pending count, status, last error).
    pub head: bool,
}

impl ViewChanges {
    pub(super) fn add_lines(&mut self, lines: LineChanges) {
        self.lines = self.lines.then(lines);
    }

    pub fn is_empty(&self) -> bool {
        self.lines == LineChanges::None && !self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::model::MutationId;

    #[test]
    fn pending_applies_on_top_and_display_data_survives() {
        let l = Limits::default();
        let mut server = CartView::bare(&crate::apply(&Cart::default(), &Command::add("a", 1), &l).unwrap());
        server.version = 4;
        server.lines[0].name = Some("Tee".into());
        let m = Mutation {
            id: MutationId::from_random_bytes([1; 16]),
            base_version: None,
            command: Command::add("a", 2),
        };
        let v = optimistic_view(Some(&server), &[m], &l);
        assert_eq!(v.version, 4);
        assert_eq!(v.lines[0].quantity, 3);
        assert_eq!(v.lines[0].name.as_deref(), Some("Tee"));
        assert!(optimistic_view(None, &[], &l).lines.is_empty());
    }

    #[test]
    fn display_data_follows_each_line_whatever_the_order() {
        let l = Limits::default();
        let mut cart = Cart::default();
        for sku in ["a", "b", "c", "d"] {
            crate::apply_in_place(&mut cart, &Command::add(sku, 1), &l).unwrap();
        }
        let mut server = CartView::bare(&cart);
        for line in &mut server.lines {
            line.name = Some(line.sku.as_str().to_uppercase());
        }
        // Lines removed, re-added at the end and set: every line keeps its
        // own display data.
        let ops = [
            Command::remove("b"),
            Command::remove("a"),
            Command::add("a", 2),
            Command::set("e", 1),
        ];
        let pending: Vec<Mutation> = ops
            .into_iter()
            .enumerate()
            .map(|(i, command)| Mutation {
                id: MutationId::from_random_bytes([i as u8; 16]),
                base_version: None,
                command,
            })
            .collect();
        let v = optimistic_view(Some(&server), &pending, &l);
        let got: Vec<(&str, Option<&str>)> = v.lines.iter().map(|l| (l.sku.as_str(), l.name.as_deref())).collect();
        assert_eq!(
            got,
            vec![("c", Some("C")), ("d", Some("D")), ("a", Some("A")), ("e", None)]
        );

        // The same commands applied one by one in place give the same view.
        let mut inc = server.clone();
        for m in &pending {
            let body = &mut Optimistic {
                view: &mut inc,
                server: Some(&server),
            };
            crate::apply_in_place(body, &m.command, &l).unwrap();
        }
        assert_eq!(inc.lines, v.lines);
    }

    #[test]
    fn diff_finds_the_one_change() {
        let line = |s: &str, q| LineView {
            sku: Sku::new(s),
            options: Options::new(),
            quantity: q,
            name: None,
            unit_price: None,
            image: None,
            weight_grams: None,
            shipping_class: None,
        };
        let old = vec![line("a", 1), line("b", 1), line("c", 1)];
        assert_eq!(LineChanges::diff(&old, &old), LineChanges::None);
        let set = vec![line("a", 1), line("b", 2), line("c", 1)];
        assert_eq!(LineChanges::diff(&old, &set), LineChanges::Set(1));
        let ins = vec![line("a", 1), line("b", 1), line("c", 1), line("d", 1)];
        assert_eq!(LineChanges::diff(&old, &ins), LineChanges::Insert(3));
        let rm = vec![line("a", 1), line("c", 1)];
        assert_eq!(LineChanges::diff(&old, &rm), LineChanges::Remove(1));
        assert_eq!(LineChanges::diff(&old, &[]), LineChanges::All);
        assert_eq!(LineChanges::Set(1).then(LineChanges::Set(1)), LineChanges::Set(1));
        assert_eq!(LineChanges::Set(1).then(LineChanges::Insert(3)), LineChanges::All);
        assert_eq!(LineChanges::None.then(LineChanges::Remove(0)), LineChanges::Remove(0));
    }
}
