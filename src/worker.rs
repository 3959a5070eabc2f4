//! `flushPending`, what the package's service worker (`cartsync/sw`) calls
//! on Background Sync (`cartsync-flush`), when it starts, and when a page
//! asks: it sends what is pending from the IndexedDB copy of the records
//! ([`crate::idb`]) when no tab does.
//!
//! It runs the same engine as a page, restored from the copy, under the
//! same flush lock (a Web Lock named like the pages'; taken only if free:
//! a tab holding it is sending already). The engine's actions are carried
//! out on the copy; what it settled is left as one marker per mutation
//! (`handoff::WORKER_SETTLED_PREFIX`) for the pages to take in, and
//! announced on the `cartsync` BroadcastChannel. Requests keep their
//! mutation ids and base versions, so a page sending the same mutation
//! again gets `duplicate` from the server.
//!
//! The worker does not wait out a backoff (it may be stopped at any time):
//! a failed send ends the flush with a rejection, and the browser's
//! Background Sync retries later.

use crate::convert::{arg, text};
use crate::handoff::{CHANNEL, WORKER_SETTLED_PREFIX};
use crate::hub::{now, Entropy};
use crate::idb::{self, Write};
use crate::transport::Transport;
use cartsync_core::api::OpenOptions;
use cartsync_core::engine::{
    mutation_key, Action, Config, Engine, Event, CHECKOUT_KEY, SERVER_CART_KEY, TOKEN_KEY, USER_KEY,
};
use js_sys::{Object, Promise, Reflect};
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Rounds of sending in one flush, at most (each sends one request the
/// engine asked for; a cart of a few hundred pending mutations needs a few).
const MAX_ROUNDS: usize = 64;

#[wasm_bindgen(typescript_custom_section)]
const TS_REPORT: &'static str = r#"
/** What a service worker's flush did (`flushPending`). */
export interface WorkerFlushReport {
  /** A tab held the flush lock: nothing was sent. */
  busy: boolean;
  requests: number;
  acknowledged: number;
  rejected: number;
  /** Still pending afterwards. */
  remaining: number;
}
"#;

/// What a flush did (`WorkerFlushReport`).
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct FlushReport {
    /// The flush lock was held by a tab: nothing was sent.
    busy: bool,
    requests: u32,
    acknowledged: u32,
    rejected: u32,
    /// Still pending afterwards.
    remaining: u32,
}

/// Sends what is pending in the IndexedDB copy of `options.namespace`'s
/// records to `options.endpoint`. Resolves to `{busy, requests,
/// acknowledged, rejected, remaining}`; rejects when a send failed with
/// something still pending (Background Sync then retries).
#[wasm_bindgen(js_name = flushPending, unchecked_return_type = "Promise<WorkerFlushReport>")]
pub fn flush_pending(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
    let options: OpenOptions = match arg("options", options) {
        Ok(o) => o,
        Err(e) => return Promise::reject(&crate::error::to_js(&e)),
    };
    let namespace = options.namespace.clone().unwrap_or_default();
    let lock_name = ["cartsync-flush:", &prefix(&namespace)].concat();
    let run = move |held: bool| {
        future_to_promise(async move {
            if !held {
                return report(&FlushReport {
                    busy: true,
                    ..FlushReport::default()
                });
            }
            flush(options).await
        })
    };
    match locks() {
        Some(locks) => {
            let callback = Closure::once_into_js(move |lock: JsValue| run(!lock.is_null()));
            let options = web_sys::LockOptions::new();
            options.set_if_available(true);
            locks.request_with_options(&lock_name, &options, callback.unchecked_ref())
        }
        // No Web Locks: pages then use the storage lease, which a worker
        // cannot read; a page sending the same mutations gets `duplicate`.
        None => run(true),
    }
}

fn prefix(namespace: &str) -> String {
    if namespace.is_empty() {
        String::new()
    } else {
        [namespace, "/"].concat()
    }
}

fn locks() -> Option<web_sys::LockManager> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    Reflect::get(&navigator, &JsValue::from_str("locks"))
        .ok()?
        .dyn_into()
        .ok()
}

fn report(r: &FlushReport) -> Result<JsValue, JsValue> {
    crate::convert::api(r).map_err(|e| crate::error::to_js(&e))
}

async fn flush(options: OpenOptions) -> Result<JsValue, JsValue> {
    let prefix = prefix(options.namespace.as_deref().unwrap_or_default());
    let db = idb::open().await?;
    let marker = [prefix.as_str(), WORKER_SETTLED_PREFIX].concat();
    let records: Vec<(String, String)> = idb::entries(&db, &prefix)
        .await?
        .into_iter()
        .filter(|(k, _)| !k.starts_with(&marker))
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix.as_str())?.to_string(), v)))
        .collect();
    let stored = crate::storage::persisted(records);
    if stored.pending.is_empty() {
        return report(&FlushReport::default());
    }
    let mut config = Config::default();
    if let Some(ms) = options.request_timeout_ms.filter(|ms| *ms > 0) {
        config.request_timeout_ms = ms;
    }
    let transport = Transport {
        endpoint: options.endpoint.trim_end_matches('/').to_string(),
        fetch: None,
        timeout_ms: config.request_timeout_ms,
    };
    let t = now();
    let (mut engine, mut actions) = Engine::restore(config, stored.clone(), t);
    actions.extend(engine.set_online(true, t));
    actions.extend(engine.leadership_gained(stored, t));

    let mut r = FlushReport::default();
    let mut rng = Entropy;
    let mut tombstones = BTreeSet::new();
    let mut queue: VecDeque<Action> = actions.into();
    let mut failed = false;
    for _ in 0..MAX_ROUNDS {
        let mut writes = Vec::new();
        let mut sends = Vec::new();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Send(request) => sends.push(request),
                Action::Lead => {
                    let now_stored = engine.persisted();
                    queue.extend(engine.leadership_gained(now_stored, now()));
                }
                Action::Emit(Event::Rejected { .. } | Event::Expired { .. }) => r.rejected += 1,
                action => record(action, &prefix, &mut tombstones, &mut writes, &mut r)?,
            }
        }
        idb::write(&db, &writes).await?;
        if failed || sends.is_empty() {
            break;
        }
        for request in sends {
            r.requests += 1;
            let answer = transport.send(&request).await;
            let sorted = request.kind.sort(answer.status, answer.retry_after_ms, &answer.body);
            let t = now();
            queue.extend(match sorted {
                Ok(response) => engine.on_response(request.id, response, t, &mut rng),
                Err(failure) => {
                    failed = true;
                    engine.on_failure(request.id, failure, t, &mut rng)
                }
            });
        }
    }
    r.remaining = u32::try_from(engine.pending().len()).unwrap_or(u32::MAX);
    if r.acknowledged + r.rejected > 0 {
        if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
            let _ = channel.post_message(&JsValue::from_str("settled"));
            channel.close();
        }
    }
    if failed && r.remaining > 0 {
        let error = Object::new();
        let _ = Reflect::set(&error, &"code".into(), &"network_error".into());
        let _ = Reflect::set(
            &error,
            &"message".into(),
            &"the flush did not reach the server; it will be retried".into(),
        );
        let _ = Reflect::set(&error, &"report".into(), &report(&r)?);
        return Err(error.into());
    }
    report(&r)
}

/// Carries out a storage action on the copy.
fn record(
    action: Action,
    prefix: &str,
    tombstones: &mut BTreeSet<String>,
    writes: &mut Vec<Write>,
    r: &mut FlushReport,
) -> Result<(), JsValue> {
    let full = |key: &str| [prefix, key].concat();
    let js = |e: cartsync_core::ErrorBody| crate::error::to_js(&e);
    match action {
        Action::PersistMutation(record) => {
            let id = record.mutation.id.text();
            let value = text(&record).map_err(js)?;
            if record.settled.is_some() {
                writes.push(Write::Put(full(&[WORKER_SETTLED_PREFIX, &id].concat()), value.clone()));
                tombstones.insert(id);
            }
            writes.push(Write::Put(full(&mutation_key(&record.mutation.id)), value));
        }
        Action::RemoveMutation(id) => {
            let text_id = id.text();
            if !tombstones.contains(&text_id) {
                r.acknowledged += 1;
                writes.push(Write::Put(
                    full(&[WORKER_SETTLED_PREFIX, &text_id].concat()),
                    String::new(),
                ));
            }
            writes.push(Write::Delete(full(&mutation_key(&id))));
        }
        Action::PersistToken(token) => writes.push(Write::Put(full(TOKEN_KEY), text(&token).map_err(js)?)),
        Action::PersistServerCart(cart) => writes.push(Write::Put(full(SERVER_CART_KEY), text(&cart).map_err(js)?)),
        Action::RemoveServerCart => writes.push(Write::Delete(full(SERVER_CART_KEY))),
        Action::PersistUser(Some(user)) => writes.push(Write::Put(full(USER_KEY), user)),
        Action::PersistUser(None) => writes.push(Write::Delete(full(USER_KEY))),
        Action::PersistCheckoutKey(Some(key)) => writes.push(Write::Put(full(CHECKOUT_KEY), text(&key).map_err(js)?)),
        Action::PersistCheckoutKey(None) => writes.push(Write::Delete(full(CHECKOUT_KEY))),
        // A worker has no lease, no timers that outlive it, no listeners and
        // no awaiting callers.
        _ => {}
    }
    Ok(())
}
