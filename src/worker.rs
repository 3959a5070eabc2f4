//! `flushPending`, what the package's service worker (`cartsync/sw`) calls
//! on Background Sync (`cartsync-flush`), when it starts, and when a page
//! asks: it sends what is pending from the IndexedDB copy of the records
//! ([`crate::idb`]) when no tab does.
//!
//! It takes the same flush lock as the pages (a Web Lock named like
//! theirs; taken only if free: a tab holding it is sending already;
//! without Web Locks it sends nothing, the pages do) and
//! carries out the rounds of the core's `WorkerFlush`, which decides
//! everything else: the page's engine restored from the copy sends the
//! pending mutations with their ids and base versions (a page sending the
//! same mutation again gets `duplicate`), making the cart if the first adds
//! were made offline (a tab takes in what the worker did before it leads,
//! `Engine::lock_granted`, so the pages go on with that cart); its writes go to the copy,
//! with one marker per settled mutation (`handoff::WORKER_SETTLED_PREFIX`)
//! for the pages to take in, announced on the `cartsync` BroadcastChannel;
//! a failed send ends the flush with a rejection (the worker may be
//! stopped at any time, so it does not wait out a backoff), and the
//! browser's Background Sync retries later.

use crate::convert::{arg, text};
use crate::handoff::{CHANNEL, WORKER_SETTLED_PREFIX};
use crate::hub::{now, Entropy};
use crate::idb::{self, Write};
use crate::transport::Transport;
use cartsync_core::api::OpenOptions;
use cartsync_core::engine::{
    mutation_key, Action, Config, CopyWrite, WorkerFlush, WorkerReport, WorkerSettled, CHECKOUT_KEY, SERVER_CART_KEY,
    TOKEN_KEY, USER_KEY,
};
use js_sys::{Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_REPORT: &'static str = r#"
/** What a service worker's flush did (`flushPending`). */
export interface WorkerFlushReport {
  /** A tab held the flush lock, or the browser has no Web Locks (the
   *  pages send everything): nothing was sent. */
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
    /// The flush lock was held by a tab, or there are no Web Locks:
    /// nothing was sent.
    busy: bool,
    requests: u32,
    acknowledged: u32,
    rejected: u32,
    /// Still pending afterwards.
    remaining: u32,
}

impl From<WorkerReport> for FlushReport {
    fn from(r: WorkerReport) -> Self {
        FlushReport {
            busy: false,
            requests: r.requests,
            acknowledged: r.acknowledged,
            rejected: r.rejected,
            remaining: r.remaining,
        }
    }
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
        // No Web Locks: pages then lead by a storage lease, which a worker
        // cannot read; a cart it made could race one a page made. The
        // pages send everything themselves (reported as busy).
        None => run(false),
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
    let mut config = Config::default();
    if let Some(ms) = options.request_timeout_ms.filter(|ms| *ms > 0) {
        config.request_timeout_ms = ms;
    }
    let transport = Transport {
        endpoint: options.endpoint.trim_end_matches('/').to_string(),
        fetch: None,
        timeout_ms: config.request_timeout_ms,
    };
    // The policies (what is sent, written and reported, when to stop) are
    // the core's `WorkerFlush`; this loop only carries its rounds out.
    let mut flush = WorkerFlush::start(config, crate::storage::persisted(records), now());
    let mut rng = Entropy;
    while let Some(round) = flush.poll(now()) {
        let writes = round
            .writes
            .into_iter()
            .map(|w| copy_write(w, &prefix))
            .collect::<Result<Vec<_>, _>>()?;
        idb::write(&db, &writes.into_iter().flatten().collect::<Vec<_>>()).await?;
        for request in round.sends {
            let answer = transport.send(&request).await;
            let sorted = request.kind.sort(answer.status, answer.retry_after_ms, &answer.body);
            flush.on_answer(request.id, sorted, now(), &mut rng);
        }
    }
    let r = flush.report();
    if r.acknowledged + r.rejected > 0 {
        if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
            let _ = channel.post_message(&JsValue::from_str("settled"));
            channel.close();
        }
    }
    if r.retry {
        let error = Object::new();
        let _ = Reflect::set(&error, &"code".into(), &"network_error".into());
        let _ = Reflect::set(
            &error,
            &"message".into(),
            &"the flush did not reach the server; it will be retried".into(),
        );
        let _ = Reflect::set(&error, &"report".into(), &report(&FlushReport::from(r))?);
        return Err(error.into());
    }
    report(&FlushReport::from(r))
}

/// A write of the flush on the copy (`None`: nothing to write there).
fn copy_write(write: CopyWrite, prefix: &str) -> Result<Option<Write>, JsValue> {
    let full = |key: &str| [prefix, key].concat();
    let js = |e: cartsync_core::ErrorBody| crate::error::to_js(&e);
    Ok(Some(match write {
        CopyWrite::Settled(WorkerSettled::Acknowledged(id)) => {
            Write::Put(full(&[WORKER_SETTLED_PREFIX, &id.text()].concat()), String::new())
        }
        CopyWrite::Settled(WorkerSettled::Tombstone(record)) => Write::Put(
            full(&[WORKER_SETTLED_PREFIX, &record.mutation.id.text()].concat()),
            text(&record).map_err(js)?,
        ),
        CopyWrite::Record(action) => match *action {
            Action::PersistMutation(record) => {
                Write::Put(full(&mutation_key(&record.mutation.id)), text(&record).map_err(js)?)
            }
            Action::RemoveMutation(id) => Write::Delete(full(&mutation_key(&id))),
            Action::PersistToken(token) => Write::Put(full(TOKEN_KEY), text(&token).map_err(js)?),
            Action::PersistServerCart(cart) => Write::Put(full(SERVER_CART_KEY), text(&cart).map_err(js)?),
            Action::RemoveServerCart => Write::Delete(full(SERVER_CART_KEY)),
            Action::PersistUser(Some(user)) => Write::Put(full(USER_KEY), user),
            Action::PersistUser(None) => Write::Delete(full(USER_KEY)),
            Action::PersistCheckoutKey(Some(key)) => Write::Put(full(CHECKOUT_KEY), text(&key).map_err(js)?),
            Action::PersistCheckoutKey(None) => Write::Delete(full(CHECKOUT_KEY)),
            _ => return Ok(None),
        },
    }))
}
