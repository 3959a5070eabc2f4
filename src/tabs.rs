//! The browser around one hub: `storage` events from other tabs,
//! `online`/`offline`, the flush lock (a Web Lock, or the engine's storage
//! lease where Web Locks are missing), and the two timers the engine asks
//! for. Each handler hands its input to the engine and carries out what it
//! answers; none holds a borrow while the page's code runs.

use crate::hub::{now, Hub, Shared};
use cartsync_core::engine::StorageChange;
use cartsync_core::MutationId;
use js_sys::{Function, Promise, Reflect};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

type Handler = Closure<dyn FnMut(web_sys::Event)>;

/// What the hub holds of the browser, to let go of it on close.
#[derive(Default)]
pub struct Tabs {
    timer: Timer,
    lease_timer: Timer,
    listeners: Vec<(&'static str, Handler)>,
    /// Resolves the promise that holds the Web Lock.
    release: Option<Function>,
}

/// A timeout that can be moved. Its callback is made once and kept until
/// the hub closes: it re-arms the timer from inside itself, and a closure
/// must not be dropped while it runs.
#[derive(Default)]
struct Timer {
    handle: Option<i32>,
    callback: Option<Closure<dyn FnMut()>>,
}

/// Whether the browser says it is online (true where it cannot say).
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

pub fn queue_microtask(task: &Function) {
    match web_sys::window() {
        Some(w) => w.queue_microtask(task),
        None => {
            let _ = task.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Asks the page's service worker, if one controls the page and the browser
/// has Background Sync, to flush when it can (`cartsync-flush`).
pub fn request_background_flush() {
    let Some(window) = web_sys::window() else { return };
    let container =
        Reflect::get(&window.navigator(), &JsValue::from_str("serviceWorker")).unwrap_or(JsValue::UNDEFINED);
    let controlled = Reflect::get(&container, &JsValue::from_str("controller")).is_ok_and(|c| c.is_object());
    let ready = Reflect::get(&container, &JsValue::from_str("ready")).ok();
    let (true, Some(ready)) = (controlled, ready.and_then(|r| r.dyn_into::<Promise>().ok())) else {
        return;
    };
    let register = Closure::<dyn FnMut(JsValue)>::once(|registration: JsValue| {
        let sync = Reflect::get(&registration, &JsValue::from_str("sync")).unwrap_or(JsValue::UNDEFINED);
        if let Some(f) = Reflect::get(&sync, &JsValue::from_str("register"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
        {
            // Rejected where the permission is off: nothing else to do.
            if let Ok(p) = f.call1(&sync, &JsValue::from_str("cartsync-flush")) {
                if let Ok(p) = p.dyn_into::<Promise>() {
                    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
                    let _ = p.catch(&ignore);
                    // Rare (once per stretch of pending mutations): kept.
                    ignore.forget();
                }
            }
        }
    });
    let _ = ready.then(&register);
    register.forget();
}

/// Reports a listener's exception the way the browser reports uncaught
/// ones (`reportError`), without stopping the other listeners.
pub fn report_error(error: &JsValue) {
    let global = js_sys::global();
    let report = Reflect::get(&global, &JsValue::from_str("reportError")).ok();
    match report.and_then(|f| f.dyn_into::<Function>().ok()) {
        Some(f) => {
            let _ = f.call1(&global, error);
        }
        None => {
            let console = Reflect::get(&global, &JsValue::from_str("console")).unwrap_or(JsValue::UNDEFINED);
            if let Some(f) = Reflect::get(&console, &JsValue::from_str("error"))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
            {
                let _ = f.call1(&console, error);
            }
        }
    }
}

/// Starts listening and asks for the flush lock (or runs the lease).
pub fn start(hub: &Shared) {
    let Some(window) = web_sys::window() else { return };
    let this = Rc::downgrade(hub);
    let mut listeners: Vec<(&'static str, Handler)> = Vec::new();
    let w = this.clone();
    listeners.push((
        "storage",
        Closure::new(move |event: web_sys::Event| {
            let Ok(event) = event.dyn_into::<web_sys::StorageEvent>() else {
                return;
            };
            with_hub(&w, |h| {
                if !h.storage.is_area(&event) {
                    return;
                }
                match event.key() {
                    Some(key) => {
                        if let Some(own) = h.storage.own_key(&key).map(str::to_string) {
                            h.storage_changed(&own);
                        }
                    }
                    // `localStorage.clear()` in another tab: storage as it is now.
                    None => {
                        let change = StorageChange::Cleared(Box::new(h.storage.read_all()));
                        let actions = h.engine.on_storage(change, now());
                        h.run(actions);
                    }
                }
            });
        }),
    ));
    for (name, online) in [("online", true), ("offline", false)] {
        let w = this.clone();
        listeners.push((
            name,
            Closure::new(move |_: web_sys::Event| {
                with_hub(&w, |h| {
                    let actions = h.engine.set_online(online, now());
                    h.run(actions);
                })
            }),
        ));
    }
    for (name, handler) in &listeners {
        let _ = window.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
    }
    hub.borrow_mut().tabs.listeners = listeners;
    let navigator = window.navigator();
    let has_locks = Reflect::get(&navigator, &JsValue::from_str("locks")).is_ok_and(|l| l.is_object());
    if has_locks {
        request_lock(hub, &navigator);
    } else {
        with_hub(&this, |h| {
            let tab = MutationId(uuid::Uuid::new_v4()).text();
            let lease = h.storage.lease();
            let actions = h.engine.use_lease(tab, lease, now());
            h.run(actions);
        });
    }
}

/// Runs `f` on the hub if it is still open.
fn with_hub(this: &Weak<RefCell<Hub>>, f: impl FnOnce(&mut Hub)) {
    if let Some(hub) = this.upgrade() {
        let mut h = hub.borrow_mut();
        if !h.closed {
            f(&mut h);
        }
    }
}

/// One tab per namespace holds `cartsync-flush:{prefix}` and sends; when it
/// closes the browser passes the lock on, and the next holder reads storage
/// and sends what is left.
fn request_lock(hub: &Shared, navigator: &web_sys::Navigator) {
    let name = ["cartsync-flush:", hub.borrow().storage.prefix()].concat();
    let this = Rc::downgrade(hub);
    let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let Some(hub) = this.upgrade() else {
            return Promise::resolve(&JsValue::UNDEFINED).into();
        };
        let mut h = hub.borrow_mut();
        // Closed before the lock came (open and close in one task): give it back.
        if h.closed {
            return Promise::resolve(&JsValue::UNDEFINED).into();
        }
        let held = Promise::new(&mut |resolve, _| h.tabs.release = Some(resolve));
        // The engine leads once what a service worker did is taken in.
        let actions = h.engine.lock_granted();
        h.run(actions);
        held.into()
    });
    let request = navigator.locks().request(&name, granted.unchecked_ref());
    // A document that goes away while waiting rejects the request: nothing to do.
    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let _ = request.catch(&ignore);
    ignore.forget();
}

impl Tabs {
    /// (Re)arms the engine's timer for `at` (ms since the epoch).
    pub fn schedule_timer(&mut self, this: &Weak<RefCell<Hub>>, at: u64) {
        let w = this.clone();
        self.timer.arm(at, move || {
            with_hub(&w, |h| {
                h.tabs.timer.handle = None;
                let actions = h.engine.on_timer(now(), &mut h.rng);
                h.run(actions);
            })
        });
    }

    /// (Re)arms the lease check for `at`: the lease is read then.
    pub fn schedule_lease_check(&mut self, this: &Weak<RefCell<Hub>>, at: u64) {
        let w = this.clone();
        self.lease_timer.arm(at, move || {
            with_hub(&w, |h| {
                h.tabs.lease_timer.handle = None;
                let lease = h.storage.lease();
                let actions = h.engine.on_lease(lease, now());
                h.run(actions);
            })
        });
    }

    /// Gives the Web Lock up for good (the engine stepped aside); a lock
    /// not granted yet is given back when it comes (the engine answers it
    /// with another step-down).
    pub fn step_down(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }

    /// Lets go of everything: listeners, timers, the lock.
    pub fn stop(&mut self) {
        let Some(window) = web_sys::window() else { return };
        for (name, handler) in self.listeners.drain(..) {
            let _ = window.remove_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
        }
        for timer in [&mut self.timer, &mut self.lease_timer] {
            if let Some(handle) = timer.handle.take() {
                window.clear_timeout_with_handle(handle);
            }
        }
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

impl Timer {
    /// Sets the timeout for `at`, replacing the one pending.
    fn arm(&mut self, at: u64, fire: impl FnMut() + 'static) {
        let Some(window) = web_sys::window() else { return };
        if let Some(handle) = self.handle.take() {
            window.clear_timeout_with_handle(handle);
        }
        let callback = self.callback.get_or_insert_with(|| Closure::new(fire));
        // setTimeout takes an i32 delay; later wake-ups are clamped (the
        // engine is woken early, which it tolerates).
        let delay = i32::try_from(at.saturating_sub(now())).unwrap_or(i32::MAX);
        self.handle = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay)
            .ok();
    }
}
