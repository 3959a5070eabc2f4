//! The page's side of the hand-off to the service worker (`cartsync/sw`).
//!
//! - **The copy:** every record the hub writes to localStorage is copied to
//!   IndexedDB ([`crate::idb`]) after it, coalesced per microtask, so a
//!   worker can send what is pending when every tab is closed. At open the
//!   whole namespace is copied again (records older than the worker, or an
//!   evicted database).
//! - **What the worker settled:** the worker leaves one marker per mutation
//!   it settled (`cartsync:v1:sw:<id>`: empty for acknowledged, the
//!   tombstone's JSON for refused). A page takes them in at open and when
//!   the worker announces them on the `cartsync` BroadcastChannel
//!   (`Engine::absorb_worker`), then deletes them.
//! - **Visibility:** `visibilitychange` tells the engine the page is hidden
//!   (it then sends at once, with `keepalive`) or visible.

use crate::hub::{now, Shared};
use crate::idb::{self, Write};
use crate::storage::Storage;
use cartsync_core::engine::{StoredMutation, WorkerSettled};
use cartsync_core::MutationId;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::IdbDatabase;

/// The prefix of the worker's markers (after the namespace's prefix).
pub const WORKER_SETTLED_PREFIX: &str = "cartsync:v1:sw:";
/// Where the worker announces what it settled.
pub const CHANNEL: &str = "cartsync";
/// How long a newly opened tab waits for IndexedDB before joining the
/// others anyway.
const JOIN_WITHIN_MS: u32 = 1_000;

type Listener = Closure<dyn FnMut(JsValue)>;

/// The hub's IndexedDB copy.
#[derive(Default)]
pub struct Mirror {
    db: Rc<RefCell<Option<IdbDatabase>>>,
    /// Keys (without the prefix) written since the last copy.
    dirty: BTreeSet<String>,
    /// Listeners kept for the life of the hub.
    channel: Option<(web_sys::BroadcastChannel, Listener)>,
    visibility: Option<Listener>,
}

impl Mirror {
    /// `key` (without the prefix) was written or removed in localStorage:
    /// copied in the next microtask, once however often it changed.
    pub fn touch(&mut self, key: &str, hub: &Weak<RefCell<crate::hub::Hub>>) {
        if self.db.borrow().is_none() {
            // Not open yet (the copy at open reads storage afterwards), or
            // IndexedDB is unavailable.
            return;
        }
        if self.dirty.is_empty() {
            let hub = hub.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let Some(hub) = hub.upgrade() else { return };
                let (db, writes) = {
                    let mut h = hub.borrow_mut();
                    let keys = std::mem::take(&mut h.mirror.dirty);
                    let db = h.mirror.db.borrow().clone();
                    (db, current(&h.storage, keys))
                };
                if let Some(db) = db {
                    let _ = idb::write(&db, &writes).await;
                }
            });
        }
        self.dirty.insert(key.to_string());
    }

    /// The IndexedDB copy, once open.
    pub fn db(&self) -> Option<IdbDatabase> {
        self.db.borrow().clone()
    }

    /// Stops listening (the hub closed).
    pub fn stop(&mut self) {
        if let Some((channel, _)) = self.channel.take() {
            channel.set_onmessage(None);
            channel.close();
        }
        if let (Some(listener), Some(document)) = (self.visibility.take(), document()) {
            let _ = document.remove_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
        }
    }
}

/// The writes that make the copy of `keys` match localStorage now.
fn current(storage: &Storage, keys: BTreeSet<String>) -> Vec<Write> {
    keys.into_iter()
        .map(|key| {
            let full = [storage.prefix(), &key].concat();
            match storage.get(&key) {
                Some(value) => Write::Put(full, value),
                None => Write::Delete(full),
            }
        })
        .collect()
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// Starts the hand-off for a newly opened hub: visibility now, then (once
/// IndexedDB is open) what the worker settled, the copy, and the channel.
///
/// The tab joins the others (`tabs::start`: events, and the flush lock)
/// only after taking in what the worker settled, so that it does not send
/// again what the worker sent, or open a second cart when the worker holds
/// the token; at the latest after [`JOIN_WITHIN_MS`] (an IndexedDB that
/// does not answer must not keep the page from sending).
pub fn start(hub: &Shared) {
    watch_visibility(hub);
    let joined = Rc::new(Cell::new(false));
    let join = {
        let weak = Rc::downgrade(hub);
        let joined = joined.clone();
        move || {
            if joined.replace(true) {
                return;
            }
            if let Some(hub) = weak.upgrade().filter(|h| !h.borrow().closed) {
                crate::tabs::start(&hub);
            }
        }
    };
    let late = Closure::once_into_js(join.clone());
    if let Some(set_timeout) = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    {
        let _ = set_timeout.call2(&JsValue::UNDEFINED, &late, &JsValue::from(JOIN_WITHIN_MS));
    }
    let weak = Rc::downgrade(hub);
    wasm_bindgen_futures::spawn_local(async move {
        // No IndexedDB (private modes, some WebViews): no worker hand-off;
        // pages still send everything themselves.
        let Ok(db) = idb::open().await else { return join() };
        let Some(hub) = weak.upgrade() else { return };
        absorb(&hub, &db).await;
        join();
        if hub.borrow().closed {
            return;
        }
        hub.borrow().mirror.db.replace(Some(db.clone()));
        let _ = copy_all(&hub, &db).await;
        listen(&hub);
    });
}

/// Makes the copy equal to localStorage's records, leaving the worker's
/// markers alone. localStorage is read when the writes are queued (after
/// the copy's keys are read), so that a record a command wrote meanwhile,
/// copied by its own earlier transaction, is not deleted by a stale list.
async fn copy_all(hub: &Shared, db: &IdbDatabase) -> Result<(), JsValue> {
    let prefix = hub.borrow().storage.prefix().to_string();
    let copied = idb::entries(db, &prefix).await?;
    let entries = hub.borrow().storage.entries();
    let keep: Vec<String> = entries.iter().map(|(k, _)| [prefix.as_str(), k].concat()).collect();
    let marker = [prefix.as_str(), WORKER_SETTLED_PREFIX].concat();
    let mut writes: Vec<Write> = copied
        .into_iter()
        .filter(|(k, _)| !k.starts_with(&marker) && !keep.contains(k))
        .map(|(k, _)| Write::Delete(k))
        .collect();
    writes.extend(keep.into_iter().zip(entries).map(|(k, (_, v))| Write::Put(k, v)));
    idb::write(db, &writes).await
}

/// Takes in what the worker settled, then deletes its markers. A copy
/// that cannot be read is taken as empty (the engine may be waiting for it
/// to lead).
pub async fn absorb(hub: &Shared, db: &IdbDatabase) {
    let prefix = hub.borrow().storage.prefix().to_string();
    let entries = idb::entries(db, &prefix).await.unwrap_or_default();
    let marker = [prefix.as_str(), WORKER_SETTLED_PREFIX].concat();
    let mut settled = Vec::new();
    let mut markers = Vec::new();
    let mut records = Vec::new();
    for (key, value) in entries {
        match key.strip_prefix(&marker) {
            Some(id) => {
                if let Some(s) = worker_settled(id, &value) {
                    settled.push(s);
                }
                markers.push(Write::Delete(key));
            }
            None => {
                if let Some(own) = key.strip_prefix(prefix.as_str()) {
                    records.push((own.to_string(), value));
                }
            }
        }
    }
    {
        let mut h = hub.borrow_mut();
        if h.closed {
            return;
        }
        let actions = h
            .engine
            .absorb_worker(crate::storage::persisted(records), settled, now());
        h.run(actions);
    }
    let _ = idb::write(db, &markers).await;
}

/// A marker: empty for acknowledged, else the tombstone.
fn worker_settled(id: &str, value: &str) -> Option<WorkerSettled> {
    if value.is_empty() {
        return MutationId::parse(id).map(WorkerSettled::Acknowledged);
    }
    crate::convert::parse::<StoredMutation>(value).map(WorkerSettled::Tombstone)
}

/// The `cartsync` channel: the worker says it settled something.
fn listen(hub: &Shared) {
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return;
    };
    let weak = Rc::downgrade(hub);
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        let Some(hub) = weak.upgrade() else { return };
        let db = hub.borrow().mirror.db.borrow().clone();
        if let Some(db) = db {
            wasm_bindgen_futures::spawn_local(async move { absorb(&hub, &db).await });
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    hub.borrow_mut().mirror.channel = Some((channel, on_message));
}

fn watch_visibility(hub: &Shared) {
    let Some(target) = document() else { return };
    let weak = Rc::downgrade(hub);
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        let Some(hub) = weak.upgrade() else { return };
        let visible = document().is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        let mut h = hub.borrow_mut();
        if h.closed {
            return;
        }
        let actions = h.engine.set_visible(visible, now());
        h.run(actions);
    });
    let _ = target.add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
    hub.borrow_mut().mirror.visibility = Some(listener);
}
