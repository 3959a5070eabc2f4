//! localStorage, through gloo-storage, under a namespace prefix: the
//! engine's records as JSON text (one key per pending mutation, so tabs
//! never overwrite each other's writes), the user token as bare text.
//!
//! Reads are forgiving: a record that is not JSON, or not of its shape (an
//! edit by hand), or in a newer SDK's format (a higher `format`, or a
//! `cartsync:v{N}:` key with a higher `N`), reads as absent and is handed
//! to the engine as unreadable, which decides what it means (see the core's
//! `engine/faults.rs`), rather than failing the page. Writes report a
//! refusal as `storage_full` (the quota) or `storage_unavailable`.

use crate::convert::{parse, text};
use crate::error::client;
use cartsync_core::engine::codes::{STORAGE_FULL, STORAGE_UNAVAILABLE, UNSUPPORTED_ENVIRONMENT};
use cartsync_core::engine::{
    key_format, mutation_key, FormatMarker, Lease, Persisted, StorageChange, StoredMutation, Unreadable,
    UnreadableRecord, CHECKOUT_KEY, FORMAT, LEASE_KEY, MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY, USER_KEY,
};
use cartsync_core::{ErrorBody, MutationId};
use gloo_storage::{LocalStorage, Storage as _};
use serde::de::DeserializeOwned;
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

    /// The key without this namespace's prefix, if it is one of ours (of
    /// any format version).
    pub fn own_key<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix.as_str())
            .filter(|k| key_format(k).is_some())
    }

    /// Whether `event` is about this localStorage (not sessionStorage).
    pub fn is_area(&self, event: &web_sys::StorageEvent) -> bool {
        event.storage_area().is_some_and(|area| area == self.raw)
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

    /// Everything the engine stored in this namespace, read now, with the
    /// keys that could not be read.
    pub fn read_all(&self) -> Persisted {
        let len = self.raw.length().unwrap_or(0);
        let keys = (0..len).filter_map(|i| self.raw.key(i).ok().flatten());
        let entries = keys.filter_map(|full| {
            let key = self.own_key(&full)?.to_string();
            // A newer format's key is reported whatever its value.
            let value = self.raw.get_item(&full).ok().flatten().unwrap_or_default();
            Some((key, value))
        });
        persisted(entries)
    }

    pub fn lease(&self) -> Option<Lease> {
        self.get(LEASE_KEY).and_then(|v| Lease::parse(&v))
    }

    /// What another tab's write of `key` (without the prefix) means now,
    /// read through: the key's current value, never the event's (events
    /// arrive late).
    pub fn changed(&self, key: &str) -> Option<Changed> {
        if newer_key(key) {
            return Some(Changed::Engine(StorageChange::Unreadable(unreadable(
                key,
                Unreadable::Newer,
            ))));
        }
        let value = self.get(key);
        let read_as = |value: &str, f: fn(&str) -> Result<StorageChange, Unreadable>| {
            f(value).unwrap_or_else(|why| StorageChange::Unreadable(unreadable(key, why)))
        };
        let change = match key {
            TOKEN_KEY => read_as(&value?, |v| read(v).map(StorageChange::TokenChanged)),
            SERVER_CART_KEY => read_as(&value?, |v| read(v).map(StorageChange::ServerCartChanged)),
            USER_KEY => StorageChange::UserChanged(value),
            CHECKOUT_KEY => match value {
                Some(v) => read_as(&v, |v| read(v).map(|k| StorageChange::CheckoutKeyChanged(Some(k)))),
                None => StorageChange::CheckoutKeyChanged(None),
            },
            LEASE_KEY => return Some(Changed::Lease(value.and_then(|v| Lease::parse(&v)))),
            _ => {
                let id = MutationId::parse(key.strip_prefix(MUTATION_KEY_PREFIX)?)?;
                match value {
                    Some(v) => read_as(&v, |v| read(v).map(StorageChange::MutationAdded)),
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

    /// The namespace's records as (key without the prefix, value text),
    /// except the lease (it stands for a live tab, not for the cart).
    pub fn entries(&self) -> Vec<(String, String)> {
        let len = self.raw.length().unwrap_or(0);
        (0..len)
            .filter_map(|i| {
                let full = self.raw.key(i).ok().flatten()?;
                let key = self.own_key(&full).filter(|k| *k != LEASE_KEY)?.to_string();
                let value = self.raw.get_item(&full).ok().flatten()?;
                Some((key, value))
            })
            .collect()
    }
}

/// A record as `T`, or why it cannot be read: a newer `format` first (its
/// shape may be anything), then the shape.
fn read<T: DeserializeOwned>(text: &str) -> Result<T, Unreadable> {
    if parse::<FormatMarker>(text).is_some_and(|m| m.is_newer()) {
        return Err(Unreadable::Newer);
    }
    parse(text).ok_or(Unreadable::Corrupt)
}

/// A key of a newer format (`cartsync:v{N}:` with a higher `N`).
fn newer_key(key: &str) -> bool {
    key_format(key).is_some_and(|n| n > FORMAT)
}

fn unreadable(key: &str, why: Unreadable) -> UnreadableRecord {
    UnreadableRecord { key: key.into(), why }
}

/// The records among `entries` (keys without the namespace prefix, values
/// as stored): what a page reads from localStorage, and a service worker
/// from its IndexedDB copy. A record that does not read is reported in
/// `unreadable`, the rest loads.
pub fn persisted(entries: impl IntoIterator<Item = (String, String)>) -> Persisted {
    let mut persisted = Persisted::default();
    for (key, value) in entries {
        let key = key.as_str();
        if newer_key(key) {
            persisted.unreadable.push(unreadable(key, Unreadable::Newer));
            continue;
        }
        let failed = match key {
            TOKEN_KEY => read(&value).map(|r| persisted.token = r).err(),
            SERVER_CART_KEY => read(&value).map(|r| persisted.server_cart = Some(r)).err(),
            USER_KEY => {
                persisted.user = Some(value);
                None
            }
            CHECKOUT_KEY => read(&value).map(|r| persisted.checkout = Some(r)).err(),
            _ if key.starts_with(MUTATION_KEY_PREFIX) => read(&value).map(|r| persisted.pending.push(r)).err(),
            _ => None,
        };
        if let Some(why) = failed {
            persisted.unreadable.push(unreadable(key, why));
        }
    }
    persisted
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
