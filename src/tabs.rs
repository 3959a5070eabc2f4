//! Tabs of one origin share localStorage. Each tab hears the others'
//! writes through `storage` events, and exactly one tab sends at a time:
//! the holder of a Web Lock (`navigator.locks`), or, where Web Locks are
//! missing, of a lease renewed in storage.

use js_sys::{Function, Promise, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{StorageEvent, Window};

/// A window event listener that is removed when dropped.
pub struct Listener {
    window: Window,
    event: &'static str,
    closure: Closure<dyn FnMut(JsValue)>,
}

impl Listener {
    pub fn new(window: &Window, event: &'static str, f: impl FnMut(JsValue) + 'static) -> Option<Self> {
        // `wrap` takes the boxed trait object: one glue instantiation for
        // every listener.
        let closure = Closure::<dyn FnMut(JsValue)>::wrap(Box::new(f));
        window
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(Listener {
            window: window.clone(),
            event,
            closure,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .window
            .remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
    }
}

/// The key a `storage` event is about (`None` for `clear()`).
pub fn storage_event_key(event: &JsValue) -> Option<String> {
    event.dyn_ref::<StorageEvent>()?.key()
}

/// Asks for the flush lock `name`. `on_granted` runs when this tab gets it;
/// the lock is held until `release` is called (or the tab goes away, which
/// is what lets another tab send what this one left). Returns `None` when
/// the browser has no Web Locks.
pub fn request_lock(name: &str, on_granted: impl FnOnce() + 'static, released: Rc<Cell<bool>>) -> Option<LockHandle> {
    let navigator = web_sys::window()?.navigator();
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request = Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let resolver: Rc<Cell<Option<Function>>> = Rc::new(Cell::new(None));
    let keep = resolver.clone();
    // A one-shot closure that owns itself until the browser calls it: the
    // lock may be granted after the client closed (open and close in one
    // task, as a component that mounts and unmounts at once), and a closure
    // dropped with the client would then throw "closure invoked after being
    // dropped".
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        if released.get() {
            // Closed before the lock came: give it straight back.
            return Promise::resolve(&JsValue::UNDEFINED).into();
        }
        on_granted();
        // Held until the returned promise settles.
        Promise::new(&mut |resolve, _| keep.set(Some(resolve))).into()
    });
    request.call2(&locks, &name.into(), &callback).ok()?;
    Some(LockHandle { resolver })
}

/// A held (or awaited) Web Lock.
pub struct LockHandle {
    resolver: Rc<Cell<Option<Function>>>,
}

impl LockHandle {
    /// Releases the lock if held.
    pub fn release(&self) {
        if let Some(resolve) = self.resolver.take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}
