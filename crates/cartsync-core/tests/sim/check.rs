//! The properties every run must have.

use super::world::{Value, World};
use super::Stats;
use cartsync_core::engine::Status;
use cartsync_core::{replay, Cart, MutationId};
use std::collections::BTreeMap;

pub fn all(w: &World) -> Result<Stats, String> {
    let applied = exactly_once(w)?;
    sequential_model(w)?;
    converged(w)?;
    orders(w)?;
    if let Some(((a, op), watch)) = w.ops.iter().next() {
        return Err(format!("c{}t{}: {op:?} ({watch:?}) never settled", a.client, a.tab));
    }
    Ok(Stats {
        issued: w.issued.len(),
        applied,
        rejected: w.refused.len(),
        conflicts: w.conflicts,
        replaced: w.replaced,
        unstored: w.unstored.len(),
        flushed: w.flushed,
        ordered: w.ordered,
        signed_in: w.signed_in,
        worker_flushes: w.worker_flushes,
        worker_acked: w.worker_acked,
        steps: w.seq as usize,
    })
}

/// No cart was ordered twice, and only closed carts have orders.
fn orders(w: &World) -> Result<(), String> {
    let mut per_cart: BTreeMap<&str, usize> = BTreeMap::new();
    for placed in w.authority.orders.values() {
        *per_cart.entry(placed.token.as_str()).or_default() += 1;
    }
    for (token, n) in per_cart {
        if n > 1 {
            return Err(format!("{token} was ordered {n} times"));
        }
        if !w.authority.carts.get(token).is_some_and(|c| c.closed) {
            return Err(format!("{token} has an order but is open"));
        }
    }
    Ok(())
}

/// Each issued mutation is applied exactly once in the authority's event
/// logs, or it was surfaced as rejected (and then applied nowhere); nothing
/// the authority applied was invented; nothing acknowledged was lost.
fn exactly_once(w: &World) -> Result<usize, String> {
    let mut applied: BTreeMap<MutationId, usize> = BTreeMap::new();
    for cart in w.authority.carts.values() {
        for e in &cart.events {
            *applied.entry(e.mutation_id).or_default() += 1;
        }
    }
    for (client, id) in &w.issued {
        let n = applied.get(id).copied().unwrap_or(0);
        let refused = w.refused.contains(id);
        match (n, refused) {
            (1, false) | (0, true) => {}
            _ => {
                return Err(format!(
                    "client {client}: mutation {id} applied {n} times, rejected event: {refused}"
                ))
            }
        }
    }
    if let Some(id) = w.unstored.iter().find(|id| applied.contains_key(id)) {
        return Err(format!("{id} was never stored but the authority applied it"));
    }
    if applied.len() != w.issued.len() - w.refused.len() {
        return Err(format!(
            "the authority applied {} mutations nobody issued",
            applied.len()
        ));
    }
    if let Some(lost) = w.acked.iter().find(|id| !applied.contains_key(id)) {
        return Err(format!("mutation {lost} was acknowledged but is in no event log"));
    }
    Ok(applied.len())
}

/// Every durable cart equals its event log replayed from empty, or from
/// the snapshot of the last merge into it.
fn sequential_model(w: &World) -> Result<(), String> {
    for (token, stored) in &w.authority.carts {
        let (base, events) = match &stored.base {
            Some((snapshot, before)) => (snapshot.clone(), &stored.events[*before..]),
            None => (
                Cart {
                    owner: stored.owner.clone(),
                    ..Cart::default()
                },
                &stored.events[..],
            ),
        };
        let base = Cart {
            updated_at: stored.cart.updated_at,
            ..base
        };
        let mut model = replay(&base, events, &w.authority.limits).map_err(|e| format!("{token}: replay: {e}"))?;
        model.updated_at = stored.cart.updated_at;
        if model != stored.cart {
            return Err(format!("{token}: cart {:?} != replayed {:?}", stored.cart, model));
        }
        if stored.cart.version != stored.events.len() as u64 + stored.merges {
            return Err(format!(
                "{token}: version {} after {} events and {} merges",
                stored.cart.version,
                stored.events.len(),
                stored.merges
            ));
        }
    }
    Ok(())
}

/// After quiescence every tab of every client shows the authority's cart,
/// with nothing pending, in memory or in storage.
fn converged(w: &World) -> Result<(), String> {
    for (c, client) in w.clients.iter().enumerate() {
        if let Some(key) = client.storage.iter().find(|(_, v)| matches!(v, Value::Mutation(_))) {
            return Err(format!("client {c}: {} still in storage", key.0));
        }
        let token = client.storage.values().find_map(|v| match v {
            Value::Token(t) => t.token.clone(),
            _ => None,
        });
        let expected = match &token {
            Some(t) => match w.authority.carts.get(t) {
                Some(stored) if !stored.closed => stored.cart.clone(),
                _ => return Err(format!("client {c}: token {t} names no open cart")),
            },
            None => Cart::default(),
        };
        for (slot, tab) in client.tabs.iter().enumerate() {
            let Some(tab) = tab else { continue };
            let view = tab.engine.view();
            let shown = view.cart.to_cart();
            let who = format!("client {c} tab {slot}");
            if tab.engine.token() != token.as_deref() {
                return Err(format!("{who}: token {:?}, storage {token:?}", tab.engine.token()));
            }
            if view.pending != 0 || view.status != Status::Synced {
                return Err(format!(
                    "{who}: {} pending, {:?} ({:?})",
                    view.pending, view.status, view.last_error
                ));
            }
            if !shown.same_content(&expected) || shown.version != expected.version {
                return Err(format!("{who}: shows {shown:?}, authority has {expected:?}"));
            }
        }
    }
    Ok(())
}
