//! `CartClient`, the browser SDK's class. Each method converts its
//! arguments, makes one call into the namespace's engine (through the hub
//! every client of that namespace shares) and converts what comes back.
//! Commands return the optimistic view once their record is in
//! localStorage; a record storage refuses makes the command throw
//! `CartError` `storage_full` and it does not count.

use crate::convert::{arg, function_arg, string_arg};
use crate::error::{self, from_core};
use crate::hub::{self, now, Shared, Wants};
use crate::storage::Storage;
use crate::transport::Transport;
use cartsync_core::api::{
    AddItemArgs, CheckoutOptions, OpenOptions, RemoveItemArgs, SetDestinationArgs, SetQuantityArgs,
};
use cartsync_core::engine::{Config, OpId};
use cartsync_core::{Command, ErrorBody};
use js_sys::{Function, Promise, Reflect};
use std::cell::Cell;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_IMPORTS: &'static str = r#"
import type { AddItemArgs, CartEvent, CartView, CheckoutOptions, CheckoutResult, MergeReport, OpenOptions, RemoveItemArgs, SetDestinationArgs, SetQuantityArgs } from "../types.js";
"#;

thread_local! {
    static NEXT_CLIENT: Cell<u64> = const { Cell::new(1) };
}

/// An optimistic cart that never loses a shopper's intent: commands are
/// stored in localStorage before they return, sent to the server exactly
/// once, and reconciled with the core's merge and rebase rules.
#[wasm_bindgen]
pub struct CartClient {
    hub: Option<Shared>,
    id: u64,
}

type Js<T = JsValue> = Result<T, JsValue>;

fn throw(e: ErrorBody) -> JsValue {
    error::to_js(&e)
}

#[wasm_bindgen]
impl CartClient {
    /// Restores the token, the last server cart and the outbox from
    /// localStorage; clients of one namespace in a document share one
    /// engine. Rejects with `CartError` `unsupported_environment` outside a
    /// browser.
    #[wasm_bindgen(unchecked_return_type = "Promise<CartClient>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
        match CartClient::connect(options) {
            Ok(client) => Promise::resolve(&JsValue::from(client)),
            Err(e) => Promise::reject(&throw(e)),
        }
    }

    fn connect(options: JsValue) -> Result<CartClient, ErrorBody> {
        if !options.is_object() {
            return Err(error::bad_request("options: expected an object"));
        }
        let fetch = Reflect::get(&options, &JsValue::from_str("fetch")).unwrap_or(JsValue::UNDEFINED);
        let fetch = match fetch.is_undefined() || fetch.is_null() {
            true => None,
            false => Some(function_arg("options.fetch", fetch)?),
        };
        let options: OpenOptions = arg("options", options)?;
        let namespace = options.namespace.unwrap_or_default();
        let endpoint = options.endpoint.trim_end_matches('/').to_string();
        let hub = match hub::find(&namespace) {
            Some(hub) => {
                if hub.borrow().transport.endpoint != endpoint {
                    return Err(error::bad_request(
                        "options: another client of this namespace talks to another endpoint",
                    ));
                }
                if let Some(user) = options.user_token {
                    let mut h = hub.borrow_mut();
                    let actions = h.engine.set_user(Some(user), now());
                    h.run(actions);
                }
                hub
            }
            None => {
                let storage = Storage::open(&namespace)?;
                let mut config = Config::default();
                if let Some(ms) = options.request_timeout_ms.filter(|ms| *ms > 0) {
                    config.request_timeout_ms = ms;
                }
                let transport = Transport {
                    endpoint,
                    fetch,
                    timeout_ms: config.request_timeout_ms,
                };
                hub::open(namespace, storage, transport, config, options.user_token)
            }
        };
        let id = NEXT_CLIENT.with(|n| n.replace(n.get() + 1));
        hub.borrow_mut().clients.push(id);
        Ok(CartClient { hub: Some(hub), id })
    }

    fn hub(&self) -> Js<&Shared> {
        self.hub.as_ref().ok_or_else(|| {
            throw(error::client(
                cartsync_core::engine::codes::CLIENT_CLOSED,
                "the cart client is closed",
            ))
        })
    }

    /// Issues a command: stored, then counted, then the view.
    fn issue(&self, command: Command) -> Js {
        let mut h = self.hub()?.borrow_mut();
        let h = &mut *h;
        let t = now();
        let record = h
            .engine
            .issue(command, t, &mut h.rng)
            .map_err(|e| throw(from_core(&e)))?;
        let id = record.mutation.id;
        if let Err(e) = h.storage.put_mutation(&record) {
            h.engine.not_stored(id);
            return Err(throw(e));
        }
        h.mirror.touch(&cartsync_core::engine::mutation_key(&id), &h.this);
        let actions = h.engine.stored(id, t);
        h.run(actions);
        h.view.get(&mut h.engine).map_err(throw)
    }

    #[wasm_bindgen(js_name = addItem, unchecked_return_type = "CartView")]
    pub fn add_item(&self, #[wasm_bindgen(unchecked_param_type = "AddItemArgs")] args: JsValue) -> Js {
        let args: AddItemArgs = arg("addItem", args).map_err(throw)?;
        self.issue(args.into())
    }

    #[wasm_bindgen(js_name = setQuantity, unchecked_return_type = "CartView")]
    pub fn set_quantity(&self, #[wasm_bindgen(unchecked_param_type = "SetQuantityArgs")] args: JsValue) -> Js {
        let args: SetQuantityArgs = arg("setQuantity", args).map_err(throw)?;
        self.issue(args.into())
    }

    #[wasm_bindgen(js_name = removeItem, unchecked_return_type = "CartView")]
    pub fn remove_item(&self, #[wasm_bindgen(unchecked_param_type = "RemoveItemArgs")] args: JsValue) -> Js {
        let args: RemoveItemArgs = arg("removeItem", args).map_err(throw)?;
        self.issue(args.into())
    }

    #[wasm_bindgen(js_name = applyCoupon, unchecked_return_type = "CartView")]
    pub fn apply_coupon(&self, #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue) -> Js {
        let code = string_arg("applyCoupon(code)", &code).map_err(throw)?;
        self.issue(Command::ApplyCoupon { code })
    }

    #[wasm_bindgen(js_name = removeCoupon, unchecked_return_type = "CartView")]
    pub fn remove_coupon(&self, #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue) -> Js {
        let code = string_arg("removeCoupon(code)", &code).map_err(throw)?;
        self.issue(Command::RemoveCoupon { code })
    }

    #[wasm_bindgen(js_name = selectShipping, unchecked_return_type = "CartView")]
    pub fn select_shipping(&self, #[wasm_bindgen(unchecked_param_type = "string")] option: JsValue) -> Js {
        let option = string_arg("selectShipping(option)", &option).map_err(throw)?;
        self.issue(Command::SelectShipping { option })
    }

    /// Where the order goes: `{country, postalCode}` (ISO 3166-1 alpha-2 and
    /// a postal code of that country); refused with `invalid_destination`.
    #[wasm_bindgen(js_name = setDestination, unchecked_return_type = "CartView")]
    pub fn set_destination(&self, #[wasm_bindgen(unchecked_param_type = "SetDestinationArgs")] args: JsValue) -> Js {
        let args: SetDestinationArgs = arg("setDestination", args).map_err(throw)?;
        self.issue(args.into())
    }

    #[wasm_bindgen(unchecked_return_type = "CartView")]
    pub fn clear(&self) -> Js {
        self.issue(Command::Clear {})
    }

    /// The optimistic cart and the sync state: the same (frozen) object
    /// until something changes; a change reuses unchanged lines' objects.
    #[wasm_bindgen(unchecked_return_type = "CartView")]
    pub fn view(&self) -> Js {
        let mut h = self.hub()?.borrow_mut();
        let h = &mut *h;
        h.view.get(&mut h.engine).map_err(throw)
    }

    /// The cart token (for support and server-side calls), or `null` before
    /// the cart exists on the server.
    pub fn token(&self) -> Js<Option<String>> {
        Ok(self.hub()?.borrow().engine.token().map(str::to_string))
    }

    /// Calls `listener(event)` for every event, in a microtask after the
    /// change; returns the function that unsubscribes it.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: CartEvent) => void")] listener: JsValue,
    ) -> Js {
        let listener = function_arg("subscribe(listener)", listener).map_err(throw)?;
        let hub = self.hub()?.clone();
        let id = hub.borrow_mut().subscribe(self.id, listener);
        let weak = std::rc::Rc::downgrade(&hub);
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(hub) = weak.upgrade() {
                hub.borrow_mut().unsubscribe(id);
            }
        });
        Ok(unsubscribe.into_js_value())
    }

    /// Resolves once nothing is pending; rejects with the `CartError` of an
    /// attempt that failed after it started, or at once when offline
    /// (nothing is lost: the outbox stays). Skips any backoff.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn flush(&self) -> Js<Promise> {
        self.await_op(Wants::Nothing, |h| h.engine.flush(now()))
    }

    /// Attaches this cart to the account of `userToken` (the server merges
    /// them) and signs every tab in; resolves to the merge report.
    #[wasm_bindgen(unchecked_return_type = "Promise<MergeReport>")]
    pub fn login(
        &self,
        #[wasm_bindgen(js_name = userToken, unchecked_param_type = "string")] user_token: JsValue,
    ) -> Js<Promise> {
        let user = string_arg("login(userToken)", &user_token).map_err(throw)?;
        self.await_op(Wants::Report, |h| h.engine.login(user, now()))
    }

    /// Signs out and starts a new anonymous cart (what is pending goes to it).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Js<Promise> {
        self.await_op(Wants::Nothing, |h| h.engine.logout(now()))
    }

    /// Revalidates and orders the cart at the total (and tax) the shopper
    /// sees: `{order}` with its payment intent (`order.payment.nextAction`
    /// says what the shopper must do), or `{problems, cart}` to confirm. One
    /// idempotency key per attempt, kept across retries and reloads.
    #[wasm_bindgen(unchecked_return_type = "Promise<CheckoutResult>")]
    pub fn checkout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CheckoutOptions | undefined")] options: JsValue,
    ) -> Js<Promise> {
        let options: CheckoutOptions = match options.is_undefined() || options.is_null() {
            true => CheckoutOptions::default(),
            false => arg("checkout", options).map_err(throw)?,
        };
        self.await_op(Wants::Checkout, |h| {
            let t = now();
            h.engine.checkout(options.idempotency_key, t, &mut h.rng)
        })
    }

    /// Stops this client: its listeners go; the last client of a namespace
    /// also stops listening, releases the flush lock (another tab takes
    /// over) and cancels its timers. Storage is kept.
    pub fn close(&mut self) {
        if let Some(hub) = self.hub.take() {
            hub.borrow_mut().detach(self.id);
        }
    }

    /// Starts an engine operation and the promise its `Settle` resolves.
    fn await_op(
        &self,
        wants: Wants,
        start: impl FnOnce(&mut hub::Hub) -> (OpId, Vec<cartsync_core::engine::Action>),
    ) -> Js<Promise> {
        let hub = self.hub()?;
        let mut settle: Option<(Function, Function)> = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let Some((resolve, reject)) = settle else {
            return Ok(promise);
        };
        let mut h = hub.borrow_mut();
        let (op, actions) = start(&mut h);
        // Registered before the actions run: an operation may settle at once.
        h.wait(op, wants, resolve, reject);
        h.run(actions);
        Ok(promise)
    }
}

impl Drop for CartClient {
    /// `free()` without `close()` still lets go of the hub.
    fn drop(&mut self) {
        self.close();
    }
}
