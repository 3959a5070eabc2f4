//! `CartCore`, the wasm half of the JavaScript `CartClient`. Each method
//! converts its arguments, calls the engine once and carries out the
//! actions. Everything here is synchronous: the few awaits of `flush`,
//! `login`, `logout` and `checkout` live in the package's JS wrapper
//! (pkg-template/index.js), which calls the methods below in order — async
//! state machines in the wasm cost more bytes than the rest of the client.

use crate::clock::{now_ms, CryptoRandom};
use crate::convert::api::{self, arg, merged_event, string_arg};
use crate::convert::js::{field, object, string, string_map, Bad, Obj, Read};
use crate::convert::wire::{cart_view, checkout_request_js, created, read_answer};
use crate::error::{cart_error, codes, from_body, from_core};
use crate::runtime::{callback, queue, run, step, view_js, Inner, Shared, Waiter};
use crate::storage::{CartStorage, CHECKOUT_KEY, USER_TOKEN_KEY};
use crate::tabs::{request_lock, storage_event_key, Listener};
use crate::transport::{body_error, code_of, Answer, Transport};
use cartsync_core::engine::{Action, Config, Engine, Persisted, Status, TokenRecord, SERVER_CART_KEY};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::{Command, IdSource};
use js_sys::{Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// An offline-first cart: an optimistic local view over a durable outbox in
/// localStorage, synced with a cartsync server (protocol v1).
#[wasm_bindgen(js_name = CartCore)]
pub struct CartClient {
    shared: Shared,
}

#[wasm_bindgen(js_class = CartCore)]
impl CartClient {
    /// Restores the cart token, the last server cart and the outbox from
    /// localStorage (or starts empty; the server cart is created lazily,
    /// once, by the tab that holds the flush lock).
    pub fn open(options: JsValue) -> Result<CartClient, JsValue> {
        let fetch = Reflect::get(&options, &"fetch".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let args = arg(&options, "options", api::open_args)?;
        let storage = CartStorage::open(args.namespace.as_deref().unwrap_or(""))?;
        if let Some(t) = &args.user_token {
            storage.set(USER_TOKEN_KEY, t)?;
        }
        let mut config = Config::default();
        if let Some(ms) = args.request_timeout_ms {
            config.request_timeout_ms = ms;
        }
        let transport = Transport {
            endpoint: args.endpoint,
            fetch,
            timeout_ms: config.request_timeout_ms,
        };
        let (engine, actions) = Engine::restore(config, storage.load(), now_ms());
        let shared: Shared = Rc::new(RefCell::new(Inner {
            engine,
            storage,
            transport,
            rng: CryptoRandom::new(),
            timer: None,
            subscribers: Vec::new(),
            next_subscriber: 0,
            queued: Vec::new(),
            dispatch_scheduled: false,
            waiters: Vec::new(),
            failures: 0,
            dom: Vec::new(),
            lock: None,
            closed: Rc::new(Cell::new(false)),
        }));
        run(&shared, actions);
        let online = web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
        step(&shared, |inner, now| inner.engine.set_online(online, now));
        listen(&shared);
        take_flush_lock(&shared);
        Ok(CartClient { shared })
    }

    /// Adds units of a line (`{sku, quantity = 1, options = {}}`). Returns
    /// the optimistic view once the mutation is in localStorage.
    #[wasm_bindgen(js_name = addItem)]
    pub fn add_item(&self, args: JsValue) -> Result<JsValue, JsValue> {
        self.issue(arg(&args, "addItem", api::add_item)?)
    }

    /// Sets a line's quantity (`0` removes it).
    #[wasm_bindgen(js_name = setQuantity)]
    pub fn set_quantity(&self, args: JsValue) -> Result<JsValue, JsValue> {
        self.issue(arg(&args, "setQuantity", api::set_quantity)?)
    }

    #[wasm_bindgen(js_name = removeItem)]
    pub fn remove_item(&self, args: JsValue) -> Result<JsValue, JsValue> {
        self.issue(arg(&args, "removeItem", api::remove_item)?)
    }

    #[wasm_bindgen(js_name = applyCoupon)]
    pub fn apply_coupon(&self, code: JsValue) -> Result<JsValue, JsValue> {
        let code = string_arg(&code, "applyCoupon(code)")?;
        self.issue(Command::ApplyCoupon { code })
    }

    #[wasm_bindgen(js_name = removeCoupon)]
    pub fn remove_coupon(&self, code: JsValue) -> Result<JsValue, JsValue> {
        let code = string_arg(&code, "removeCoupon(code)")?;
        self.issue(Command::RemoveCoupon { code })
    }

    #[wasm_bindgen(js_name = selectShipping)]
    pub fn select_shipping(&self, option: JsValue) -> Result<JsValue, JsValue> {
        let option = string_arg(&option, "selectShipping(option)")?;
        self.issue(Command::SelectShipping { option })
    }

    pub fn clear(&self) -> Result<JsValue, JsValue> {
        self.issue(Command::Clear {})
    }

    /// `{lines, coupons, shippingOption, totals, version, pending, status,
    /// lastError}`.
    pub fn view(&self) -> Result<JsValue, JsValue> {
        Ok(view_js(&self.shared.borrow()))
    }

    /// Calls `listener(event)` for every event (`change`, `rejected`,
    /// `reconciled`, `merged`, `conflict`, `expired`, `cartReplaced`) and
    /// returns the function that unsubscribes it.
    pub fn subscribe(&self, listener: Function) -> Function {
        let id = {
            let mut inner = self.shared.borrow_mut();
            inner.next_subscriber += 1;
            let id = inner.next_subscriber;
            inner.subscribers.push((id, listener));
            id
        };
        let weak = Rc::downgrade(&self.shared);
        callback(move |_| {
            if let Some(shared) = weak.upgrade() {
                shared.borrow_mut().subscribers.retain(|(i, _)| *i != id);
            }
        })
        .unchecked_into()
    }

    /// `flush()`: calls `resolve` once nothing is pending, or `reject` with
    /// the `CartError` of the attempt it started if that fails, or at once
    /// when offline (nothing is lost: the outbox stays). Sends at once if
    /// this tab leads, skipping any backoff.
    #[wasm_bindgen(js_name = waitSettled)]
    pub fn wait_settled(&self, resolve: Function, reject: Function) {
        let view = self.shared.borrow().engine.view();
        if view.pending == 0 {
            let _ = resolve.call0(&JsValue::UNDEFINED);
            return;
        }
        if view.status == Status::Offline {
            let error = cart_error(
                codes::NETWORK_ERROR,
                "the browser is offline; the changes wait in the outbox",
            );
            let _ = reject.call1(&JsValue::UNDEFINED, &error);
            return;
        }
        let failures_at = self.shared.borrow().failures;
        self.shared.borrow_mut().waiters.push(Waiter {
            resolve,
            reject,
            failures_at,
        });
        // "Send now": skip whatever backoff the last failure set.
        step(&self.shared, |inner, now| inner.engine.retry_now(now));
    }

    /// POSTs `body` to `path` under the endpoint; resolves to `{status,
    /// body}` (status 0: no answer). `userToken` overrides the client's own
    /// for this request (login attaches with the new one).
    pub fn request(&self, path: &str, body: JsValue, headers: JsValue, user_token: Option<String>) -> Promise {
        // The headers come from the package's own JS class, never from a user.
        let extra = string_map(&headers, "headers").unwrap_or_default();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (transport, stored) = {
            let inner = self.shared.borrow();
            (inner.transport.clone(), inner.storage.get(USER_TOKEN_KEY))
        };
        transport.post(path, &body, &extra, user_token.or(stored).as_deref())
    }

    /// The cart token, if the server cart exists yet.
    #[wasm_bindgen(js_name = cartToken)]
    pub fn cart_token(&self) -> Option<String> {
        self.shared.borrow().engine.token().map(str::to_string)
    }

    /// Takes the answer to `POST /carts` (login before any item was added)
    /// and returns the new token.
    #[wasm_bindgen(js_name = adoptCreated)]
    pub fn adopt_created(&self, answer: JsValue) -> Result<String, JsValue> {
        let answer = read_answer(&answer);
        if answer.status != 201 {
            return Err(from_body(&body_error(answer)));
        }
        let created = created(&answer.body).map_err(bad_response)?;
        let token = created.token.clone();
        step(&self.shared, |inner, now| {
            inner.engine.adopt_cart(created.token, created.cart, now)
        });
        Ok(token)
    }

    /// Takes the answer to `POST /carts/{token}/attach`: switches to the
    /// account cart (pending mutations kept) and returns the merge report.
    pub fn attached(&self, answer: JsValue, user_token: String) -> Result<JsValue, JsValue> {
        let answer = read_answer(&answer);
        if answer.status != 200 {
            return Err(from_body(&body_error(answer)));
        }
        attached(&self.shared, &answer.body, user_token)
    }

    /// Forgets the account and starts a new anonymous cart. What is still
    /// pending stays and goes to the new cart (intent is never dropped).
    #[wasm_bindgen(js_name = forgetAccount)]
    pub fn forget_account(&self) {
        self.shared.borrow().storage.remove(USER_TOKEN_KEY);
        start_fresh_cart(&self.shared);
    }

    /// What to send for `checkout({idempotencyKey})` after a flush:
    /// `{token, path, body, headers}` with the total the shopper sees and
    /// one idempotency key per attempt (reused across retries of it).
    #[wasm_bindgen(js_name = checkoutPlan)]
    pub fn checkout_plan(&self, options: JsValue) -> Result<JsValue, JsValue> {
        let given_key = arg(&options, "checkout", api::idempotency_key)?;
        let (token, version, expected) = {
            let inner = self.shared.borrow();
            let server = inner.engine.server_cart().cloned();
            let token = inner.engine.token().map(str::to_string);
            match (
                token,
                server.and_then(|c| c.totals.map(|t| (c.version, t.estimated_total))),
            ) {
                (Some(t), Some((v, total))) => (t, v, total),
                _ => return Err(cart_error(codes::NO_CART, "there is no synced cart to check out")),
            }
        };
        let key = checkout_key(&self.shared, &token, version, given_key);
        let path = ["/carts/", &token, "/checkout"].concat();
        Ok(Obj::new()
            .set("token", JsValue::from(token))
            .set("path", JsValue::from(path))
            .set("body", checkout_request_js(&expected))
            .set("headers", Obj::new().set("Idempotency-Key", JsValue::from(key)).done())
            .done())
    }

    /// Takes the checkout answer: `{order}`, or `{problems, cart}` after
    /// `409 checkout_revalidation_failed`; other answers throw.
    #[wasm_bindgen(js_name = checkedOut)]
    pub fn checked_out(&self, token: String, answer: JsValue) -> Result<JsValue, JsValue> {
        checked_out(&self.shared, token, read_answer(&answer))
    }

    /// Stops listening, releases the flush lock (another tab takes over) and
    /// cancels the retry timer. Storage is kept.
    pub fn close(&self) {
        let mut inner = self.shared.borrow_mut();
        inner.closed.set(true);
        inner.dom.clear();
        if let Some(lock) = inner.lock.take() {
            lock.release();
        }
        if let (Some(window), Some(id)) = (web_sys::window(), inner.timer.take()) {
            window.clear_timeout_with_handle(id);
        }
    }
}

impl CartClient {
    fn issue(&self, command: Command) -> Result<JsValue, JsValue> {
        let actions = {
            let mut inner = self.shared.borrow_mut();
            let inner = &mut *inner;
            inner
                .engine
                .issue(command, now_ms(), &mut inner.rng)
                .map_err(|e| from_core(&e))?
        };
        run(&self.shared, actions);
        self.view()
    }
}

/// A 2xx body that is not protocol v1, as a `bad_response` `CartError`.
fn bad_response(Bad(field): Bad) -> JsValue {
    cart_error(
        codes::BAD_RESPONSE,
        &["the server's answer is not protocol v1 (field `", field, "`)"].concat(),
    )
}

/// The attach answer `{token, cart, merge_report}`: switches to the account
/// cart and returns the merge report as the server sent it (it is also
/// the `merged` event's `report`).
fn attached(shared: &Shared, body: &JsValue, user_token: String) -> Result<JsValue, JsValue> {
    let read = || -> Read<(String, CartView, JsValue)> {
        Ok((
            string(body, "token")?,
            cart_view(&object(body, "cart")?)?,
            object(body, "merge_report")?,
        ))
    };
    let (token, cart, report) = read().map_err(bad_response)?;
    shared.borrow().storage.set(USER_TOKEN_KEY, &user_token)?;
    step(shared, |inner, now| {
        let mut actions = inner.engine.adopt_cart(token, cart, now);
        // New credentials: nothing waits for a backoff meant for the old ones.
        actions.extend(inner.engine.retry_now(now));
        actions
    });
    {
        let mut inner = shared.borrow_mut();
        queue(shared, &mut inner, merged_event(&report));
    }
    Ok(report)
}

/// The checkout answer: `{order}` (201), or `{problems, cart}` after a
/// `409 checkout_revalidation_failed` (the order and problems pass through
/// as the server sent them; the cart is adopted and returned as the view).
fn checked_out(shared: &Shared, token: String, answer: Answer) -> Result<JsValue, JsValue> {
    match answer.status {
        200 | 201 => {
            let order = object(&answer.body, "order").map_err(bad_response)?;
            shared.borrow().storage.remove(CHECKOUT_KEY);
            start_fresh_cart(shared);
            Ok(Obj::new().set("order", order).done())
        }
        409 if code_of(&answer.body).as_deref() == Some("checkout_revalidation_failed") => {
            let body = &answer.body;
            let read = || -> Read<(JsValue, CartView)> {
                let problems = field(body, "problems")
                    .filter(js_sys::Array::is_array)
                    .ok_or(Bad("problems"))?;
                Ok((problems, cart_view(&object(body, "cart")?)?))
            };
            let (problems, cart) = read().map_err(bad_response)?;
            shared.borrow().storage.remove(CHECKOUT_KEY);
            step(shared, |inner, now| inner.engine.adopt_cart(token, cart, now));
            let view = view_js(&shared.borrow());
            Ok(Obj::new().set("problems", problems).set("cart", view).done())
        }
        _ => Err(from_body(&body_error(answer))),
    }
}

/// Drops the token and server cart (checkout closed it, or logout) and
/// restores the engine on what is still pending.
fn start_fresh_cart(shared: &Shared) {
    let actions = {
        let mut inner = shared.borrow_mut();
        let pending = inner.engine.persisted().pending;
        let leader = inner.engine.is_leader();
        let config = inner.engine.config().clone();
        let now = now_ms();
        let token = TokenRecord {
            token: None,
            generation: inner.engine.persisted().token.generation + 1,
        };
        let fresh = Persisted {
            token: token.clone(),
            server_cart: None,
            pending,
        };
        let (engine, mut actions) = Engine::restore(config, fresh.clone(), now);
        inner.engine = engine;
        inner.storage.remove(SERVER_CART_KEY);
        actions.insert(0, Action::PersistToken(token));
        if leader {
            actions.extend(inner.engine.leadership_gained(fresh, now));
        }
        actions
    };
    run(shared, actions);
}

fn checkout_key(shared: &Shared, token: &str, version: u64, given: Option<String>) -> String {
    if let Some(k) = given {
        return k;
    }
    let inner = &mut *shared.borrow_mut();
    let scope = format!("{token}@{version}:");
    if let Some(key) = inner
        .storage
        .get(CHECKOUT_KEY)
        .and_then(|s| s.strip_prefix(&scope).map(str::to_string))
    {
        return key;
    }
    let key = inner.rng.next_id().to_string();
    let _ = inner.storage.set(CHECKOUT_KEY, &[scope.as_str(), &key].concat());
    key
}

/// Storage events from other tabs, and online/offline.
fn listen(shared: &Shared) {
    let Some(window) = web_sys::window() else { return };
    let weak = Rc::downgrade(shared);
    let on_storage = Listener::new(&window, "storage", move |event| {
        let Some(shared) = weak.upgrade() else { return };
        let Some(key) = storage_event_key(&event) else {
            return;
        };
        if shared.borrow().storage.is_user_token_key(&key) {
            // New credentials (a sign-in in another tab): what waited on a
            // 401 can go now; sends read the token from storage.
            step(&shared, |inner, now| inner.engine.retry_now(now));
            return;
        }
        let change = shared.borrow().storage.change_for(&key);
        if let Some(change) = change {
            step(&shared, |inner, now| inner.engine.on_storage(change, now));
        }
    });
    let mut dom: Vec<Listener> = on_storage.into_iter().collect();
    for (name, online) in [("online", true), ("offline", false)] {
        let weak = Rc::downgrade(shared);
        dom.extend(Listener::new(&window, name, move |_| {
            if let Some(shared) = weak.upgrade() {
                step(&shared, |inner, now| inner.engine.set_online(online, now));
            }
        }));
    }
    shared.borrow_mut().dom = dom;
}

/// One tab sends at a time: the holder of the Web Lock. Without Web Locks
/// (old browsers) every tab acts as its own leader; the authority's
/// idempotency keeps duplicate sends harmless.
fn take_flush_lock(shared: &Shared) {
    let name = format!("cartsync-flush:{}", shared.borrow().storage.prefix());
    let weak = Rc::downgrade(shared);
    let closed = shared.borrow().closed.clone();
    let on_granted = move || {
        if let Some(shared) = weak.upgrade() {
            let storage = shared.borrow().storage.load();
            step(&shared, |inner, now| inner.engine.leadership_gained(storage, now));
        }
    };
    match request_lock(&name, on_granted.clone(), closed) {
        Some(lock) => shared.borrow_mut().lock = Some(lock),
        None => on_granted(),
    }
}
