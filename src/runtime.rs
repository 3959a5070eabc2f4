//! Carries out the engine's actions in the browser: storage writes, fetches,
//! the retry timer and event dispatch. The engine decides; this only does.

use crate::clock::{now_ms, CryptoRandom};
use crate::convert::api::{event_js, view_js as view_to_js};
use crate::error::from_body;
use crate::storage::{CartStorage, USER_TOKEN_KEY};
use crate::tabs::{Listener, LockHandle};
use crate::transport::Transport;
use cartsync_core::engine::{Action, Engine, SyncError};
use js_sys::{Function, Promise};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

pub type Shared = Rc<RefCell<Inner>>;

/// A `flush()` caller waiting for the outbox to drain.
pub struct Waiter {
    pub resolve: Function,
    pub reject: Function,
    /// `Inner::failures` when the caller started waiting: only a failure
    /// after that (of the attempt the flush asked for) rejects it.
    pub failures_at: u64,
}

pub struct Inner {
    pub engine: Engine,
    pub storage: CartStorage,
    pub transport: Transport,
    pub rng: CryptoRandom,
    pub timer: Option<i32>,
    pub subscribers: Vec<(u32, Function)>,
    pub next_subscriber: u32,
    /// Events waiting for the next dispatch (a microtask after the state
    /// change that produced them: never in the middle of one).
    pub queued: Vec<JsValue>,
    pub dispatch_scheduled: bool,
    pub waiters: Vec<Waiter>,
    /// Requests of this tab that got no usable answer, counted.
    pub failures: u64,
    pub dom: Vec<Listener>,
    pub lock: Option<LockHandle>,
    pub closed: Rc<Cell<bool>>,
}

/// Carries out `actions` in order. Storage writes happen synchronously, so
/// a command's mutation is on disk before the command returns.
pub fn run(shared: &Shared, actions: Vec<Action>) {
    let mut sends = Vec::new();
    {
        let mut inner = shared.borrow_mut();
        for action in &actions {
            match action {
                Action::Send(request) => sends.push(request.clone()),
                Action::ScheduleTimer { at } => schedule_timer(shared, &mut inner, *at),
                Action::ViewChanged(_) => queue(shared, &mut inner, change_event()),
                Action::Emit(event) => queue(shared, &mut inner, event_js(event)),
                storage_action => {
                    if let Err(e) = inner.storage.apply(storage_action) {
                        queue(shared, &mut inner, storage_error_event(&e));
                    }
                }
            }
        }
        settle_waiters(&mut inner);
    }
    for request in sends {
        let weak = Rc::downgrade(shared);
        // The user token is read from storage at each send: a sign-in in
        // another tab must reach whichever tab sends (it writes the token
        // before it switches the cart token, so the order is safe).
        let (transport, user_token) = {
            let inner = shared.borrow();
            (inner.transport.clone(), inner.storage.get(USER_TOKEN_KEY))
        };
        let id = request.id();
        transport.send(&request, user_token.as_deref(), move |outcome| {
            let Some(shared) = weak.upgrade() else { return };
            if shared.borrow().closed.get() {
                return;
            }
            step(&shared, |inner, now| match outcome {
                Ok(response) => inner.engine.on_response(id, response, now, &mut inner.rng),
                Err(failure) => {
                    inner.failures += 1;
                    inner.engine.on_failure(id, failure, now, &mut inner.rng)
                }
            });
        });
    }
}

/// A JS function that runs `f` once (later calls do nothing). Every
/// one-shot callback goes through this one boxed type, so wasm-bindgen's
/// closure glue is compiled once rather than once per closure.
pub fn callback(f: impl FnOnce(JsValue) + 'static) -> JsValue {
    once(Box::new(f))
}

#[inline(never)]
fn once(f: Box<dyn FnOnce(JsValue)>) -> JsValue {
    Closure::once_into_js(f)
}

/// Runs `f` on the engine and carries out what it returns.
pub fn step(shared: &Shared, f: impl FnOnce(&mut Inner, u64) -> Vec<Action>) {
    let actions = {
        let mut inner = shared.borrow_mut();
        f(&mut inner, now_ms())
    };
    run(shared, actions);
}

/// Resolves `flush()` callers once nothing is pending; rejects them when the
/// last attempt failed (they may call `flush()` again).
fn settle_waiters(inner: &mut Inner) {
    if inner.waiters.is_empty() {
        return;
    }
    let view = inner.engine.view();
    if view.pending == 0 {
        for w in inner.waiters.drain(..) {
            let _ = w.resolve.call0(&JsValue::UNDEFINED);
        }
        return;
    }
    let error = match &view.last_error {
        Some(SyncError::Refused { error }) => from_body(error),
        Some(SyncError::Unreachable { .. }) => {
            crate::error::cart_error(crate::error::codes::NETWORK_ERROR, "the server could not be reached")
        }
        None => return,
    };
    let failures = inner.failures;
    let (failed, waiting): (Vec<Waiter>, Vec<Waiter>) = inner.waiters.drain(..).partition(|w| failures > w.failures_at);
    inner.waiters = waiting;
    for w in failed {
        let _ = w.reject.call1(&JsValue::UNDEFINED, &error);
    }
}

fn schedule_timer(shared: &Shared, inner: &mut Inner, at: u64) {
    let Some(window) = web_sys::window() else { return };
    if let Some(id) = inner.timer.take() {
        window.clear_timeout_with_handle(id);
    }
    let delay = at.saturating_sub(now_ms()).min(i32::MAX as u64) as i32;
    let weak = Rc::downgrade(shared);
    let fire = callback(move |_| {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().timer = None;
            step(&shared, |inner, now| inner.engine.on_timer(now, &mut inner.rng));
        }
    });
    inner.timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(fire.unchecked_ref(), delay)
        .ok();
}

/// Queues an event for subscribers and schedules one dispatch microtask.
pub fn queue(shared: &Shared, inner: &mut Inner, event: JsValue) {
    inner.queued.push(event);
    if inner.dispatch_scheduled {
        return;
    }
    inner.dispatch_scheduled = true;
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(shared);
    let dispatch = callback(move |_| {
        if let Some(shared) = weak.upgrade() {
            dispatch(&shared);
        }
    });
    // A microtask: after the current state change, before the next task.
    then(&Promise::resolve(&JsValue::UNDEFINED), &dispatch);
}

/// `promise.then(f)` for a one-shot [`callback`].
pub fn then(promise: &Promise, f: &JsValue) {
    if let Some(then) = js_sys::Reflect::get(promise, &"then".into())
        .ok()
        .and_then(|t| t.dyn_into::<Function>().ok())
    {
        let _ = then.call1(promise, f);
    }
}

/// Hands queued events to subscribers. The engine is not borrowed while
/// user code runs, so a listener may call back into the client.
fn dispatch(shared: &Shared) {
    let (events, subscribers) = {
        let mut inner = shared.borrow_mut();
        inner.dispatch_scheduled = false;
        let events = std::mem::take(&mut inner.queued);
        let subs: Vec<Function> = inner.subscribers.iter().map(|(_, f)| f.clone()).collect();
        (events, subs)
    };
    for event in events {
        for f in &subscribers {
            // A throwing listener must not stop the others.
            let _ = f.call1(&JsValue::UNDEFINED, &event);
        }
    }
}

/// `{type: "change", view}` after the view changed.
fn change_event() -> JsValue {
    let event = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&event, &"type".into(), &"change".into());
    event.into()
}

fn storage_error_event(error: &JsValue) -> JsValue {
    let event = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&event, &"type".into(), &"storageError".into());
    let _ = js_sys::Reflect::set(&event, &"error".into(), error);
    event.into()
}

/// The current view as a JS value (`view()` and command results).
pub fn view_js(inner: &Inner) -> JsValue {
    view_to_js(&inner.engine.view())
}
