//! The engine's persisted state in localStorage: one key per pending
//! mutation (so tabs never overwrite each other's writes), plus the token
//! and the last server cart. Every key is prefixed by the client's
//! namespace so several carts (or shops) can share an origin.

use crate::convert::js::parse_id;
use crate::convert::stored::{
    from_json, server_cart, server_cart_js, stored_mutation, stored_mutation_js, stringify, token_record,
    token_record_js,
};
use crate::error::{cart_error, codes};
use cartsync_core::engine::{
    mutation_key, Action, Persisted, StorageChange, MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY,
};
use wasm_bindgen::JsValue;
use web_sys::Storage;

/// Binding-only keys (the engine does not know about users or checkout).
pub const USER_TOKEN_KEY: &str = "cartsync:v1:user";
pub const CHECKOUT_KEY: &str = "cartsync:v1:checkout";

pub struct CartStorage {
    raw: Storage,
    prefix: String,
}

impl CartStorage {
    /// localStorage under `namespace` (empty: no prefix).
    pub fn open(namespace: &str) -> Result<Self, JsValue> {
        let raw = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .ok_or_else(|| cart_error(codes::STORAGE_UNAVAILABLE, "localStorage is not available"))?;
        let prefix = if namespace.is_empty() {
            String::new()
        } else {
            format!("{namespace}/")
        };
        Ok(CartStorage { raw, prefix })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.raw.get_item(&self.key(key)).ok().flatten()
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), JsValue> {
        self.raw
            .set_item(&self.key(key), value)
            .map_err(|_| cart_error(codes::STORAGE_UNAVAILABLE, "localStorage refused the write (quota?)"))
    }

    pub fn remove(&self, key: &str) {
        let _ = self.raw.remove_item(&self.key(key));
    }

    /// Everything the engine persisted, read now. Corrupt entries are
    /// skipped (and left for inspection) rather than failing the page.
    pub fn load(&self) -> Persisted {
        let mut persisted = Persisted {
            token: self
                .get(TOKEN_KEY)
                .and_then(|t| from_json(&t, token_record))
                .unwrap_or_default(),
            server_cart: self.get(SERVER_CART_KEY).and_then(|t| from_json(&t, server_cart)),
            pending: Vec::new(),
        };
        let len = self.raw.length().unwrap_or(0);
        let mutation_prefix = self.key(MUTATION_KEY_PREFIX);
        for i in 0..len {
            let Some(key) = self.raw.key(i).ok().flatten() else {
                continue;
            };
            if !key.starts_with(&mutation_prefix) {
                continue;
            }
            if let Some(record) = self
                .raw
                .get_item(&key)
                .ok()
                .flatten()
                .and_then(|t| from_json(&t, stored_mutation))
            {
                persisted.pending.push(record);
            }
        }
        persisted
    }

    /// Carries out a storage action; other actions are not ours.
    pub fn apply(&self, action: &Action) -> Result<(), JsValue> {
        match action {
            Action::PersistMutation(record) => self.set(
                &mutation_key(&record.mutation.id),
                &stringify(&stored_mutation_js(record))?,
            ),
            Action::RemoveMutation(id) => {
                self.remove(&mutation_key(id));
                Ok(())
            }
            Action::PersistToken(record) => self.set(TOKEN_KEY, &stringify(&token_record_js(record))?),
            Action::PersistServerCart(cart) => self.set(SERVER_CART_KEY, &stringify(&server_cart_js(cart))?),
            _ => Ok(()),
        }
    }

    /// What a `storage` event from another tab means to the engine, if it
    /// is one of ours. The key's value is read now rather than taken from
    /// the event: events arrive late, and an old `newValue` could bring back
    /// a mutation another tab has since settled.
    pub fn change_for(&self, full_key: &str) -> Option<StorageChange> {
        let key = full_key.strip_prefix(&self.prefix)?;
        let new_value = self.raw.get_item(full_key).ok().flatten();
        if key == TOKEN_KEY {
            return new_value
                .and_then(|t| from_json(&t, token_record))
                .map(StorageChange::TokenChanged);
        }
        if key == SERVER_CART_KEY {
            return new_value
                .and_then(|t| from_json(&t, server_cart))
                .map(StorageChange::ServerCartChanged);
        }
        let id = key.strip_prefix(MUTATION_KEY_PREFIX)?;
        match new_value {
            Some(text) => from_json(&text, stored_mutation).map(StorageChange::MutationAdded),
            None => parse_id(id).map(StorageChange::MutationRemoved),
        }
    }

    /// Whether a storage event's key is the shared user token.
    pub fn is_user_token_key(&self, full_key: &str) -> bool {
        full_key.strip_prefix(&self.prefix) == Some(USER_TOKEN_KEY)
    }

    /// The user-facing key prefix (for the flush lock's name).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}
