//! One engine per storage namespace in a document, shared by every
//! `CartClient` opened on it: a header mini-cart and a product page, or
//! React StrictMode's open → close → open, all see one cart and one flusher.
//! (Two engines on one namespace in one document would never hear of each
//! other: `storage` events reach only other documents.)
//!
//! The hub carries out the engine's actions in order — storage writes,
//! requests, timers, events, settling what callers await — and hands every
//! outcome back to the engine. It decides nothing itself.

use crate::convert::api;
use crate::error::{self, client};
use crate::storage::{Changed, Storage};
use crate::tabs::Tabs;
use crate::transport::Transport;
use crate::view::ViewCache;
use cartsync_core::engine::codes::CLIENT_CLOSED;
use cartsync_core::engine::{Action, Config, Engine, Event, OpId, Outcome, Request};
use cartsync_core::{MutationId, Random};
use js_sys::{Function, Object, Reflect};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

pub type Shared = Rc<RefCell<Hub>>;

/// Randomness from `crypto.getRandomValues`, through uuid: mutation ids are
/// UUID v4s, and backoff jitter is the first half of one.
pub struct Entropy;

impl Random for Entropy {
    fn next_u64(&mut self) -> u64 {
        uuid::Uuid::new_v4().as_u64_pair().0
    }
    fn next_id(&mut self) -> MutationId {
        MutationId(uuid::Uuid::new_v4())
    }
}

/// Milliseconds since the epoch.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// What a settled operation resolves to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    /// `flush()`, `logout()`: nothing.
    Nothing,
    /// `login()`: the merge report.
    Report,
    /// `checkout()`: `{order}` or `{problems, cart}`.
    Checkout,
}

struct Waiter {
    op: OpId,
    resolve: Function,
    reject: Function,
    wants: Wants,
}

struct Listener {
    id: u64,
    client: u64,
    f: Function,
}

pub struct Hub {
    pub namespace: String,
    pub engine: Engine,
    pub storage: Storage,
    pub transport: Transport,
    pub rng: Entropy,
    /// Clients open on this hub; at zero it shuts down.
    pub clients: Vec<u64>,
    listeners: Vec<Listener>,
    next_listener: u64,
    queued: Vec<JsValue>,
    dispatch_scheduled: bool,
    /// `{type: "change"}`, made once: it carries nothing else.
    change: Option<JsValue>,
    waiters: Vec<Waiter>,
    pub view: ViewCache,
    pub tabs: Tabs,
    /// The IndexedDB copy for the service worker, and its listeners.
    pub mirror: crate::handoff::Mirror,
    pub closed: bool,
    /// This hub, for what runs later (answers, timers, events).
    pub this: Weak<RefCell<Hub>>,
}

thread_local! {
    /// The live hubs of this document, by namespace.
    static HUBS: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
    /// Hubs with events queued for the next microtask.
    static DUE: RefCell<Vec<Weak<RefCell<Hub>>>> = const { RefCell::new(Vec::new()) };
    /// The microtask that dispatches them: made once and kept for the life
    /// of the page (a hub may be gone by the time it runs; a closure per
    /// event would cost an allocation and a finalizer each).
    static DISPATCH: Closure<dyn FnMut()> = Closure::new(|| {
        for hub in DUE.with(|due| std::mem::take(&mut *due.borrow_mut())) {
            dispatch(&hub);
        }
    });
}

fn schedule_dispatch(hub: Weak<RefCell<Hub>>) {
    let first = DUE.with(|due| {
        let mut due = due.borrow_mut();
        due.push(hub);
        due.len() == 1
    });
    if first {
        DISPATCH.with(|task| crate::tabs::queue_microtask(task.as_ref().unchecked_ref()));
    }
}

/// The live hub of `namespace`, if there is one.
pub fn find(namespace: &str) -> Option<Shared> {
    HUBS.with(|hubs| {
        hubs.borrow()
            .iter()
            .find(|h| h.borrow().namespace == namespace)
            .cloned()
    })
}

/// Opens the namespace's hub: restores the engine from storage, starts
/// listening and asks for the flush lock (or the lease).
pub fn open(namespace: String, storage: Storage, transport: Transport, config: Config, user: Option<String>) -> Shared {
    let t = now();
    let (engine, mut actions) = Engine::restore(config, storage.read_all(), t);
    let hub = Rc::new_cyclic(|this| {
        RefCell::new(Hub {
            namespace,
            engine,
            storage,
            transport,
            rng: Entropy,
            clients: Vec::new(),
            listeners: Vec::new(),
            next_listener: 1,
            queued: Vec::new(),
            dispatch_scheduled: false,
            change: None,
            waiters: Vec::new(),
            view: ViewCache::default(),
            tabs: Tabs::default(),
            mirror: Default::default(),
            closed: false,
            this: this.clone(),
        })
    });
    {
        let mut h = hub.borrow_mut();
        if user.is_some() {
            actions.extend(h.engine.set_user(user, t));
        }
        let online = crate::tabs::online();
        actions.extend(h.engine.set_online(online, t));
        h.run(actions);
    }
    // Joins the other tabs (tabs::start) once what a service worker settled
    // is taken in.
    crate::handoff::start(&hub);
    HUBS.with(|hubs| hubs.borrow_mut().push(hub.clone()));
    hub
}

impl Hub {
    /// Carries out `actions` in order, and those their outcomes lead to.
    pub fn run(&mut self, actions: Vec<Action>) {
        let mut work: VecDeque<Action> = actions.into();
        while let Some(action) = work.pop_front() {
            let more = self.carry_out(action);
            work.extend(more);
        }
    }

    fn carry_out(&mut self, action: Action) -> Vec<Action> {
        if let Some(key) = copied_key(&action) {
            self.mirror.touch(&key, &self.this);
        }
        let written = match action {
            Action::PersistMutation(record) => self.storage.put_mutation(&record),
            Action::RemoveMutation(id) => {
                self.storage.remove(&cartsync_core::engine::mutation_key(&id));
                Ok(())
            }
            Action::PersistToken(record) => self.storage.put(cartsync_core::engine::TOKEN_KEY, &record),
            Action::PersistServerCart(cart) => self.storage.put(cartsync_core::engine::SERVER_CART_KEY, &cart),
            Action::RemoveServerCart => {
                self.storage.remove(cartsync_core::engine::SERVER_CART_KEY);
                Ok(())
            }
            Action::PersistUser(Some(user)) => self.storage.set(cartsync_core::engine::USER_KEY, &user),
            Action::PersistUser(None) => {
                self.storage.remove(cartsync_core::engine::USER_KEY);
                Ok(())
            }
            Action::PersistCheckoutKey(Some(key)) => self.storage.put(cartsync_core::engine::CHECKOUT_KEY, &key),
            Action::PersistCheckoutKey(None) => {
                self.storage.remove(cartsync_core::engine::CHECKOUT_KEY);
                Ok(())
            }
            Action::PersistLease(lease) => self.storage.set(cartsync_core::engine::LEASE_KEY, &lease.text()),
            Action::RemoveLease => {
                self.storage.remove(cartsync_core::engine::LEASE_KEY);
                Ok(())
            }
            Action::Lead => {
                let storage = self.storage.read_all();
                return self.engine.leadership_gained(storage, now());
            }
            Action::ReadWorkerCopy => {
                let Some(db) = self.mirror.db() else {
                    // No copy (no IndexedDB, or not open yet): nothing to take in.
                    return self.engine.absorb_worker(Default::default(), Vec::new(), now());
                };
                let this = self.this.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(hub) = this.upgrade() {
                        crate::handoff::absorb(&hub, &db).await;
                    }
                });
                Ok(())
            }
            Action::ReadCart => {
                let stored = self.storage.read_all();
                return self.engine.cart_read(stored, now());
            }
            Action::ReadStorage => {
                let storage = self.storage.read_all();
                return self.engine.storage_read(storage, now());
            }
            Action::StepDown => {
                self.tabs.step_down();
                Ok(())
            }
            Action::Send(request) => {
                self.send(request);
                Ok(())
            }
            Action::ScheduleTimer { at } => {
                self.tabs.schedule_timer(&self.this, at);
                Ok(())
            }
            Action::ScheduleLeaseCheck { at } => {
                self.tabs.schedule_lease_check(&self.this, at);
                Ok(())
            }
            Action::RequestBackgroundFlush => {
                crate::tabs::request_background_flush();
                Ok(())
            }
            Action::Emit(event) => {
                self.emit(&event);
                Ok(())
            }
            Action::Settle { op, outcome } => {
                self.settle(op, outcome);
                Ok(())
            }
        };
        match written {
            Ok(()) => Vec::new(),
            Err(e) => self.engine.write_failed(e),
        }
    }

    /// Sends a request; its answer goes back to the engine (unless the hub
    /// closed meanwhile: the next page resends what is pending).
    fn send(&self, request: Request) {
        let answer = self.transport.send(&request);
        let this = self.this.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = answer.await;
            let Some(hub) = this.upgrade() else { return };
            let mut h = hub.borrow_mut();
            if h.closed {
                return;
            }
            let sorted = request.kind.sort(answer.status, answer.retry_after_ms, &answer.body);
            let t = now();
            let h = &mut *h;
            let actions = match sorted {
                Ok(response) => h.engine.on_response(request.id, response, t, &mut h.rng),
                Err(failure) => h.engine.on_failure(request.id, failure, t, &mut h.rng),
            };
            h.run(actions);
        });
    }

    /// Another tab wrote `key` (without the namespace prefix).
    pub fn storage_changed(&mut self, key: &str) {
        let t = now();
        let actions = match self.storage.changed(key) {
            Some(Changed::Engine(change)) => self.engine.on_storage(change, t),
            Some(Changed::Lease(lease)) => self.engine.on_lease(lease, t),
            None => return,
        };
        self.run(actions);
    }

    /// Queues an event for listeners: they hear it in a microtask, after the
    /// state change that produced it, never in the middle of one.
    fn emit(&mut self, event: &Event) {
        let value = match (event, &self.change) {
            (Event::Change, Some(change)) => change.clone(),
            _ => match api(event) {
                Ok(v) => v,
                Err(_) => return,
            },
        };
        if let (Event::Change, None) = (event, &self.change) {
            js_sys::Object::<JsValue>::freeze(value.unchecked_ref::<Object>());
            self.change = Some(value.clone());
        }
        self.queued.push(value);
        if !self.dispatch_scheduled {
            self.dispatch_scheduled = true;
            schedule_dispatch(self.this.clone());
        }
    }

    pub fn subscribe(&mut self, client: u64, f: Function) -> u64 {
        let id = self.next_listener;
        self.next_listener += 1;
        self.listeners.push(Listener { id, client, f });
        if id == 1 && !self.queued.is_empty() && !self.dispatch_scheduled {
            self.dispatch_scheduled = true;
            schedule_dispatch(self.this.clone());
        }
        id
    }

    pub fn unsubscribe(&mut self, id: u64) {
        self.listeners.retain(|l| l.id != id);
    }

    /// Registers a caller awaiting `op`; `Settle` resolves it.
    pub fn wait(&mut self, op: OpId, wants: Wants, resolve: Function, reject: Function) {
        self.waiters.push(Waiter {
            op,
            resolve,
            reject,
            wants,
        });
    }

    fn settle(&mut self, op: OpId, outcome: Outcome) {
        let Some(at) = self.waiters.iter().position(|w| w.op == op) else {
            return;
        };
        let waiter = self.waiters.remove(at);
        let value = match (outcome, waiter.wants) {
            (Outcome::Failed(error), _) => {
                let _ = waiter.reject.call1(&JsValue::UNDEFINED, &error::to_js(&error));
                return;
            }
            (Outcome::LoggedIn(report), Wants::Report) => api(&report),
            (Outcome::Ordered(order), Wants::Checkout) => api(&order).map(|order| object(&[("order", order)])),
            (Outcome::Problems(problems), Wants::Checkout) => api(&problems).and_then(|problems| {
                let cart = self.view.get(&mut self.engine)?;
                Ok(object(&[("problems", problems), ("cart", cart)]))
            }),
            _ => Ok(JsValue::UNDEFINED),
        };
        let _ = match value {
            Ok(v) => waiter.resolve.call1(&JsValue::UNDEFINED, &v),
            Err(e) => waiter.reject.call1(&JsValue::UNDEFINED, &error::to_js(&e)),
        };
    }

    /// A client closed: its listeners go; the last one shuts the hub down
    /// (operations still awaited fail, the lease is given up, the lock
    /// released, listeners removed). Storage is kept.
    pub fn detach(&mut self, client: u64) {
        self.clients.retain(|c| *c != client);
        self.listeners.retain(|l| l.client != client);
        if !self.clients.is_empty() || self.closed {
            return;
        }
        let actions = self.engine.close(now());
        self.run(actions);
        // Anything still awaited without an operation behind it.
        for w in self.waiters.drain(..) {
            let e = client_error(CLIENT_CLOSED, "the cart client was closed");
            let _ = w.reject.call1(&JsValue::UNDEFINED, &e);
        }
        self.closed = true;
        self.tabs.stop();
        self.mirror.stop();
        let me: *const Hub = self;
        HUBS.with(|hubs| hubs.borrow_mut().retain(|h| !std::ptr::eq(h.as_ptr(), me)));
    }
}

/// The storage key (without the prefix) an action writes, when the service
/// worker's copy should follow it (everything but the lease).
fn copied_key(action: &Action) -> Option<String> {
    use cartsync_core::engine::{mutation_key, CHECKOUT_KEY, SERVER_CART_KEY, TOKEN_KEY, USER_KEY};
    Some(match action {
        Action::PersistMutation(record) => mutation_key(&record.mutation.id),
        Action::RemoveMutation(id) => mutation_key(id),
        Action::PersistToken(_) => TOKEN_KEY.into(),
        Action::PersistServerCart(_) | Action::RemoveServerCart => SERVER_CART_KEY.into(),
        Action::PersistUser(_) => USER_KEY.into(),
        Action::PersistCheckoutKey(_) => CHECKOUT_KEY.into(),
        _ => return None,
    })
}

fn client_error(code: &str, message: &str) -> JsValue {
    error::to_js(&client(code, message))
}

/// `{key: value, ...}`.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// Hands the queued events to every listener, outside any borrow: a
/// listener may call back into the client. One that throws is reported
/// (`reportError`) and the others still hear the event.
fn dispatch(this: &Weak<RefCell<Hub>>) {
    let Some(hub) = this.upgrade() else { return };
    let (events, listeners) = {
        let mut h = hub.borrow_mut();
        h.dispatch_scheduled = false;
        if h.next_listener == 1 {
            // Nobody subscribed yet: the events of `open` itself (a record
            // it could not read, a settlement) wait for the first listener.
            h.queued.truncate(32);
            return;
        }
        let events = std::mem::take(&mut h.queued);
        let listeners: Vec<Function> = h.listeners.iter().map(|l| l.f.clone()).collect();
        (events, listeners)
    };
    for event in &events {
        for listener in &listeners {
            if let Err(e) = listener.call1(&JsValue::UNDEFINED, event) {
                crate::tabs::report_error(&e);
            }
        }
    }
}
