//! The IndexedDB copy of the namespace's records, for the service worker
//! (`cartsync/sw`): a service worker has no localStorage, and its memory is
//! gone when it stops, so what it sends when every tab is closed has to be
//! in IndexedDB. One database (`cartsync`), one object store (`records`)
//! keyed by the same full keys as localStorage, values the same JSON text:
//! the copy reads exactly as localStorage does.
//!
//! localStorage stays the record a command waits for (synchronous, written
//! before the command returns); this copy is written after it and may lag
//! or be evicted. Works in a page and in a worker (IndexedDB is taken from
//! the global object).

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbRequest, IdbTransaction, IdbTransactionMode};

const DATABASE: &str = "cartsync";
const STORE: &str = "records";

/// One write of the copy.
pub enum Write {
    Put(String, String),
    Delete(String),
}

/// Opens (creating on first use) the database.
pub async fn open() -> Result<IdbDatabase, JsValue> {
    let factory: IdbFactory = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))?.dyn_into()?;
    let request = factory.open_with_u32(DATABASE, 1)?;
    let upgrade = Closure::<dyn FnMut(JsValue)>::new({
        let request = request.clone();
        move |_: JsValue| {
            if let Ok(db) = request.result().and_then(|db| db.dyn_into::<IdbDatabase>()) {
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = finished(&request).await;
    request.set_onupgradeneeded(None);
    db?.dyn_into()
}

/// Every record whose key starts with `prefix`, as (key, value) text.
pub async fn entries(db: &IdbDatabase, prefix: &str) -> Result<Vec<(String, String)>, JsValue> {
    let tx = db.transaction_with_str(STORE)?;
    let store = tx.object_store(STORE)?;
    let keys = store.get_all_keys()?;
    let values = store.get_all()?;
    let keys: Array = finished(&keys).await?.dyn_into()?;
    let values: Array = finished(&values).await?.dyn_into()?;
    Ok(keys
        .iter()
        .zip(values.iter())
        .filter_map(|(k, v)| Some((k.as_string()?, v.as_string()?)))
        .filter(|(k, _)| k.starts_with(prefix))
        .collect())
}

/// Carries out `writes` in one transaction, in order; resolves once it is
/// committed (a worker must not finish before that).
pub async fn write(db: &IdbDatabase, writes: &[Write]) -> Result<(), JsValue> {
    if writes.is_empty() {
        return Ok(());
    }
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
    let store = tx.object_store(STORE)?;
    for w in writes {
        match w {
            Write::Put(key, value) => store.put_with_key(&JsValue::from_str(value), &JsValue::from_str(key))?,
            Write::Delete(key) => store.delete(&JsValue::from_str(key))?,
        };
    }
    committed(&tx).await
}

/// Resolves with the request's result once it succeeds.
async fn finished(request: &IdbRequest) -> Result<JsValue, JsValue> {
    settled(|ok, fail| {
        request.set_onsuccess(Some(ok));
        request.set_onerror(Some(fail));
    })
    .await?;
    request.result()
}

async fn committed(tx: &IdbTransaction) -> Result<(), JsValue> {
    settled(|ok, fail| {
        tx.set_oncomplete(Some(ok));
        tx.set_onerror(Some(fail));
        tx.set_onabort(Some(fail));
    })
    .await
}

/// Waits for one of two callbacks that `hook` installs. The callbacks are
/// dropped when this returns (the events they answer fire once).
async fn settled(hook: impl FnOnce(&Function, &Function)) -> Result<(), JsValue> {
    let mut slots = None;
    let promise = Promise::new(&mut |resolve, reject| slots = Some((resolve, reject)));
    let Some((resolve, reject)) = slots else {
        return Err(JsValue::from_str("Promise did not call its executor"));
    };
    let ok = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let fail = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str("IndexedDB refused the request"));
    });
    hook(ok.as_ref().unchecked_ref(), fail.as_ref().unchecked_ref());
    JsFuture::from(promise).await.map(|_| ())
}
