//! localStorage, through gloo-storage, under a namespace prefix: the
//! engine's records as JSON text (one key per pending mutation, so tabs
//! never overwrite each other's writes), the user token as bare text.
//!
//! Reads are forgiving: a record that is not JSON, or not of its shape (an
//! edit by hand, another version's format), reads as absent and is left in
//! place for inspection, rather than failing the page. Writes report a
//! refusal as `storage_full` (the quota) or `storage_unavailable`.

use crate::convert::{parse, text};
use crate::error::client;
use cartsync_core::engine::codes::{STORAGE_FULL, STORAGE_UNAVAILABLE, UNSUPPORTED_ENVIRONMENT};
use cartsync_core::engine::{
    mutation_key, CheckoutKey, Lease, Persisted, ServerCart, StorageChange, StoredMutation, TokenRecord, CHECKOUT_KEY,
    LEASE_KEY, MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY, USER_KEY,
};
use cartsync_core::{ErrorBody, MutationId};
use gloo_storage::{LocalStorage, Storage as _};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// The namespace's part of localStorage.
pub struct Storage {
    raw: web_sys::Storage,
    /// `"{namespace}/"`, or empty.
    prefix: String,
}

/// What a key another tab changed stands for.
pub enum Changed {
    Engine(StorageChange),
    Lease(Option<Lease>),
}

impl Storage {
    /// The namespace's storage, or why there is none: no browser (server
    /// rendering), or a localStorage that is missing or refuses access.
    pub fn open(namespace: &str) -> Result<Storage, ErrorBody> {
        let Some(window) = web_sys::window() else {
            return Err(client(
                UNSUPPORTED_ENVIRONMENT,
                "CartClient needs a browser (window, localStorage, fetch); it cannot open here",
            ));
        };
        // gloo-storage's handle throws when there is no localStorage: look
        // first, and answer with an error instead.
        if !matches!(window.local_storage(), Ok(Some(_))) {
            return Err(client(STORAGE_UNAVAILABLE, "localStorage is not available"));
        }
        let prefix = if namespace.is_empty() {
            String::new()
        } else {
            [namespace, "/"].concat()
        };
        Ok(Storage {
            raw: LocalStorage::raw(),
            prefix,
        })
    }

    /// `"{namespace}/"`, or empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full_key(&self, key: &str) -> String {
        [self.prefix.as_str(), key].concat()
    }

    /// The key without this namespace's prefix, if it is one of ours.
    pub fn own_key<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix.as_str())
            .filter(|k| k.starts_with("cartsync:v1:"))
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.raw.get_item(&self.full_key(key)).ok().flatten()
    }

    /// Writes `value`; a refusal is `storage_full` (quota) or
    /// `storage_unavailable`.
    pub fn set(&self, key: &str, value: &str) -> Result<(), ErrorBody> {
        self.raw.set_item(&self.full_key(key), value).map_err(refused)
    }

    /// Writes a record as JSON.
    pub fn put<T: Serialize>(&self, key: &str, record: &T) -> Result<(), ErrorBody> {
        self.set(key, &text(record)?)
    }

    pub fn remove(&self, key: &str) {
        // Removing never needs room; a storage that refuses it has nothing
        // left to lose.
        let _ = self.raw.remove_item(&self.full_key(key));
    }

    /// Everything the engine stored in this namespace, read now.
    pub fn read_all(&self) -> Persisted {
        let mut persisted = Persisted::default();
        let len = self.raw.length().unwrap_or(0);
        for i in 0..len {
            let Some(full) = self.raw.key(i).ok().flatten() else {
                continue;
            };
            let Some(key) = self.own_key(&full) else {
                continue;
            };
            let Some(value) = self.raw.get_item(&full).ok().flatten() else {
                continue;
            };
            match key {
                TOKEN_KEY => persisted.token = parse(&value).unwrap_or_default(),
                SERVER_CART_KEY => persisted.server_cart = parse(&value),
                USER_KEY => persisted.user = Some(value),
                CHECKOUT_KEY => persisted.checkout = parse(&value),
                _ if key.starts_with(MUTATION_KEY_PREFIX) => persisted.pending.extend(parse::<StoredMutation>(&value)),
                _ => {}
            }
        }
        persisted
    }

    pub fn lease(&self) -> Option<Lease> {
        self.get(LEASE_KEY).and_then(|v| Lease::parse(&v))
    }

    /// What another tab's write of `key` (without the prefix) means now,
    /// read through: the key's current value, never the event's (events
    /// arrive late).
    pub fn changed(&self, key: &str) -> Option<Changed> {
        let value = self.get(key);
        let change = match key {
            TOKEN_KEY => StorageChange::TokenChanged(parse::<TokenRecord>(&value?)?),
            SERVER_CART_KEY => StorageChange::ServerCartChanged(parse::<ServerCart>(&value?)?),
            USER_KEY => StorageChange::UserChanged(value),
            CHECKOUT_KEY => StorageChange::CheckoutKeyChanged(value.and_then(|v| parse::<CheckoutKey>(&v))),
            LEASE_KEY => return Some(Changed::Lease(value.and_then(|v| Lease::parse(&v)))),
            _ => {
                let id = MutationId::parse(key.strip_prefix(MUTATION_KEY_PREFIX)?)?;
                match value {
                    Some(v) => StorageChange::MutationAdded(parse(&v)?),
                    None => StorageChange::MutationRemoved(id),
                }
            }
        };
        Some(Changed::Engine(change))
    }

    /// A mutation's record.
    pub fn put_mutation(&self, record: &StoredMutation) -> Result<(), ErrorBody> {
        self.put(&mutation_key(&record.mutation.id), record)
    }
}

/// A refused `setItem`: the quota (`QuotaExceededError`), or anything else.
fn refused(e: JsValue) -> ErrorBody {
    let name = js_sys::Reflect::get(&e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    if name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED" {
        client(STORAGE_FULL, "localStorage is full: the change was not recorded")
    } else {
        client(STORAGE_UNAVAILABLE, "localStorage refused the write")
    }
}
