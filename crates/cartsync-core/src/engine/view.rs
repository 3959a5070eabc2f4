//! The optimistic view: the last server cart with the pending mutations
//! applied on top (by the core's `rebase`), and where syncing stands.

use crate::command::Mutation;
use crate::error::ErrorBody;
use crate::limits::Limits;
use crate::model::Cart;
use crate::protocol::v1::{CartView, LineView};
use crate::rebase::rebase;
use serde::{Deserialize, Serialize};

/// Where the engine stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The optimistic cart (without display data): what commands are validated
/// against.
pub fn optimistic_cart(server: Option<&CartView>, pending: &[Mutation], limits: &Limits) -> Cart {
    let base = server.map(CartView::to_cart).unwrap_or_default();
    rebase(&base, pending, limits).0
}

/// The optimistic cart as a [`CartView`], display data carried over.
pub fn optimistic_view(server: Option<&CartView>, pending: &[Mutation], limits: &Limits) -> CartView {
    let cart = optimistic_cart(server, pending, limits);
    let mut view = CartView::bare(&cart);
    if let Some(server) = server {
        // The view's lines keep the server's order (rebase edits in place
        // and appends), so each search starts after the last match: linear
        // overall where a search from the top made a 1,000-line view
        // quadratic (BENCHMARKS.md). No map: its code costs the download.
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
        if pending.is_empty() {
            view.totals = server.totals.clone();
        }
    }
    view
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
    }
}
