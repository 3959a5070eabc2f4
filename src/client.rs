//! `Core`, the wasm half of the JavaScript `CartClient`
//! (pkg-template/client.js). The JS side does the browser's IO —
//! localStorage, fetch, timers, storage events, Web Locks — and hands every
//! input to a method here; each method runs the core's sans-IO engine and
//! answers with JSON text: `{"actions": [...]}` (what to write, send,
//! schedule and tell listeners, in order) or `{"error": {code, message}}`.
//! Strings in, strings out: no per-field glue and no JS objects built from
//! Rust, which is what kept the module large.
//!
//! Storage keys here are the engine's own (`cartsync:v1:...`); the JS side
//! adds and strips the client's namespace prefix.

use crate::answer::{body_error, code_of, sort_created, sort_mutations, Answer};
use crate::convert::api::{self, arg, string_arg, view_js};
use crate::convert::json::{num, object, parse_id, string, Bad, Obj, Read};
use crate::convert::stored::{
    from_json, server_cart, server_cart_js, stored_mutation, stored_mutation_js, token_record, token_record_js,
};
use crate::convert::wire::{cart_view, checkout_request_js, created, error_body_js, mutations_request_js};
use crate::error::{bad_argument, cart_error, codes, from_core};
use crate::json::{integer, Json};
use crate::prelude::*;
use crate::random::SeededRandom;
use cartsync_core::engine::{
    mutation_key, Action, Config, Engine, Persisted, Request, RequestId, StorageChange, TokenRecord,
    MUTATION_KEY_PREFIX, SERVER_CART_KEY, TOKEN_KEY,
};
use cartsync_core::protocol::v1::CartView;
use cartsync_core::{Command, ErrorBody, IdSource};
use wasm_bindgen::prelude::*;

/// One client's engine and what the JS side handed it.
#[wasm_bindgen]
pub struct Core {
    engine: Engine,
    /// Storage entries given by [`Core::load`], taken by `open` / `lead`.
    loaded: Persisted,
    rng: SeededRandom,
    /// Requests sent and not yet answered: id and whether it created a cart.
    sent: Vec<(u64, bool)>,
    /// Requests that got no usable answer, counted (`flush()` rejects only
    /// on a failure after it started waiting).
    failures: u32,
    /// A fresh cart started: the next `out` deletes the stored server cart.
    forget_server_cart: bool,
}

#[wasm_bindgen]
impl Core {
    /// A client with the product's policy; `seed`: 32 random bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(request_timeout_ms: f64, seed: &[u8]) -> Core {
        let mut config = Config::default();
        if request_timeout_ms > 0.0 {
            config.request_timeout_ms = request_timeout_ms as u64;
        }
        let (engine, _) = Engine::restore(config, Persisted::default(), 0);
        Core {
            engine,
            loaded: Persisted::default(),
            rng: SeededRandom::new(seed),
            sent: Vec::new(),
            failures: 0,
            forget_server_cart: false,
        }
    }

    /// Every other input, by name — one export instead of one per
    /// operation (each export costs the module its own marshalling code):
    ///
    /// | `op` | arguments | answer |
    /// |---|---|---|
    /// | `load` | `a` key (no namespace), `b` stored text | `""` |
    /// | `open`, `lead`, `follow`, `timer`, `retry`, `forget` | — | actions |
    /// | `online` | `x` 1 online, 0 offline | actions |
    /// | `issue` | `a` method (`addItem`...), `b` its argument as JSON | actions or error |
    /// | `view` | — | the view |
    /// | `answer` | `x` request id, `a` `"status retryAfterMs"`, `b` body text | actions |
    /// | `storage` | `a` key, `b` value, `x` 1 if present (0: removed) | actions |
    /// | `failures` | — | a count |
    /// | `token` | — | the cart token or `""` |
    /// | `adoptCreated`, `attached` | `x` status, `b` body | `{token?, actions}` or error |
    /// | `checkoutPlan` | `b` options as JSON | the plan or error |
    /// | `checkedOut` | `a` cart token, `x` status, `b` body | `{ordered, actions}` or error |
    /// | `newId` | — | a UUID |
    ///
    /// `now` is the time in ms since the epoch (`Date.now()`).
    pub fn call(&mut self, op: &str, a: &str, b: &str, x: f64, now: f64) -> String {
        let now = now as u64;
        let status = x as u16;
        match op {
            "load" => {
                self.load(a, b);
                String::new()
            }
            "open" => self.open(now),
            "lead" => self.lead(now),
            "follow" => {
                let actions = self.engine.leadership_lost(now);
                self.out(actions, Obj::new())
            }
            "timer" => self.timer(now),
            "retry" => self.retry(now),
            "forget" => self.forget(now),
            "online" => self.online(x != 0.0, now),
            "issue" => self.issue(a, b, now),
            "view" => self.view(),
            "answer" => {
                let (code, retry) = a.split_once(' ').unwrap_or((a, ""));
                let retry_after_ms = integer(retry).and_then(|ms| u64::try_from(ms).ok());
                let status = integer(code).and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
                self.answer(x as u64, status, b, retry_after_ms, now)
            }
            "storage" => self.storage(a, (x != 0.0).then_some(b), now),
            "failures" => cartsync_core::text::decimal(self.failures as u64),
            "token" => self.engine.token().unwrap_or("").to_string(),
            "adoptCreated" => self.adopt_created(status, b, now),
            "attached" => self.attached(status, b, now),
            "checkoutPlan" => self.checkout_plan(b),
            "checkedOut" => self.checked_out(a.to_string(), status, b, now),
            "newId" => self.rng.next_id().text(),
            _ => error(&bad_argument("unknown operation")),
        }
    }
}

impl Core {
    /// Hands over one stored entry (`key` without the namespace). Corrupt
    /// entries are skipped (and left in storage for inspection) rather than
    /// failing the page; keys that are not the engine's are ignored.
    fn load(&mut self, key: &str, value: &str) {
        if key == TOKEN_KEY {
            self.loaded.token = from_json(value, token_record).unwrap_or_default();
        } else if key == SERVER_CART_KEY {
            self.loaded.server_cart = from_json(value, server_cart);
        } else if key.starts_with(MUTATION_KEY_PREFIX) {
            self.loaded.pending.extend(from_json(value, stored_mutation));
        }
    }

    /// Restores the engine from the entries loaded so far.
    fn open(&mut self, now: u64) -> String {
        let config = self.engine.config().clone();
        let (engine, actions) = Engine::restore(config, core::mem::take(&mut self.loaded), now);
        self.engine = engine;
        self.out(actions, Obj::new())
    }

    /// This tab holds the flush lock now; the entries loaded since are what
    /// storage holds at this moment.
    fn lead(&mut self, now: u64) -> String {
        let storage = core::mem::take(&mut self.loaded);
        let actions = self.engine.leadership_gained(storage, now);
        self.out(actions, Obj::new())
    }

    /// A shopper's command: `op` is the method (`addItem`, `applyCoupon`,
    /// ...), `args` its argument as JSON. The mutation is in the first
    /// `set` action, which the JS side writes before it returns the view.
    fn issue(&mut self, op: &str, args: &str, now: u64) -> String {
        let args = Json::parse(args).unwrap_or(Json::Null);
        let command = match op {
            "addItem" => arg(&args, op, api::add_item),
            "setQuantity" => arg(&args, op, api::set_quantity),
            "removeItem" => arg(&args, op, api::remove_item),
            "applyCoupon" => string_arg(&args, "applyCoupon(code)").map(|code| Command::ApplyCoupon { code }),
            "removeCoupon" => string_arg(&args, "removeCoupon(code)").map(|code| Command::RemoveCoupon { code }),
            "selectShipping" => {
                string_arg(&args, "selectShipping(option)").map(|option| Command::SelectShipping { option })
            }
            "clear" => Ok(Command::Clear {}),
            _ => Err(bad_argument("unknown command")),
        };
        let issued = command.and_then(|c| self.engine.issue(c, now, &mut self.rng).map_err(|e| from_core(&e)));
        match issued {
            Ok(actions) => self.out(actions, Obj::new()),
            Err(e) => error(&e),
        }
    }

    /// `{lines, coupons, shippingOption, totals, version, pending, status,
    /// lastError}`.
    fn view(&self) -> String {
        view_js(&self.engine.view()).text()
    }

    /// The answer to request `id`: `status` 0 when there was none, `body`
    /// the response text, `retry_after_ms` negative when absent.
    fn answer(&mut self, id: u64, status: u16, body: &str, retry_after_ms: Option<u64>, now: u64) -> String {
        let Some(at) = self.sent.iter().position(|(i, _)| *i == id) else {
            return self.out(Vec::new(), Obj::new());
        };
        let (_, create) = self.sent.swap_remove(at);
        let answer = Answer::new(status, body, retry_after_ms);
        let sorted = if create {
            sort_created(answer)
        } else {
            sort_mutations(answer)
        };
        let id = RequestId(id);
        let actions = match sorted {
            Ok(response) => self.engine.on_response(id, response, now, &mut self.rng),
            Err(failure) => {
                self.failures += 1;
                self.engine.on_failure(id, failure, now, &mut self.rng)
            }
        };
        self.out(actions, Obj::new())
    }

    /// The retry timer fired.
    fn timer(&mut self, now: u64) -> String {
        let actions = self.engine.on_timer(now, &mut self.rng);
        self.out(actions, Obj::new())
    }

    /// The browser went online or offline.
    fn online(&mut self, online: bool, now: u64) -> String {
        let actions = self.engine.set_online(online, now);
        self.out(actions, Obj::new())
    }

    /// Send now, skipping any backoff (`flush()`, new credentials).
    fn retry(&mut self, now: u64) -> String {
        let actions = self.engine.retry_now(now);
        self.out(actions, Obj::new())
    }

    /// Another tab changed `key`; `value` is what it holds now (read when
    /// the event is handled, not the event's `newValue`: events arrive
    /// late, and an old value could bring back a settled mutation).
    fn storage(&mut self, key: &str, value: Option<&str>, now: u64) -> String {
        let change = if key == TOKEN_KEY {
            value
                .and_then(|t| from_json(t, token_record))
                .map(StorageChange::TokenChanged)
        } else if key == SERVER_CART_KEY {
            value
                .and_then(|t| from_json(t, server_cart))
                .map(StorageChange::ServerCartChanged)
        } else {
            key.strip_prefix(MUTATION_KEY_PREFIX).and_then(|id| match value {
                Some(text) => from_json(text, stored_mutation).map(StorageChange::MutationAdded),
                None => parse_id(id).map(StorageChange::MutationRemoved),
            })
        };
        let actions = match change {
            Some(change) => self.engine.on_storage(change, now),
            None => Vec::new(),
        };
        self.out(actions, Obj::new())
    }

    /// Takes the answer to `POST /carts` (login before any item was added):
    /// `{token, actions}`.
    fn adopt_created(&mut self, status: u16, body: &str, now: u64) -> String {
        let answer = Answer::new(status, body, None);
        if status != 201 {
            return error(&body_error(&answer));
        }
        let created = match created(&answer.body) {
            Ok(c) => c,
            Err(bad) => return error(&bad_response(bad)),
        };
        let token = created.token.clone();
        let actions = self.engine.adopt_cart(created.token, created.cart, now);
        self.out(actions, Obj::new().set("token", token))
    }

    /// Takes the answer to `POST /carts/{token}/attach` `{token, cart,
    /// merge_report}`: switches to the account cart, pending mutations kept.
    /// (The JS side stores the user token before it carries out the
    /// actions, and hands the merge report to listeners as sent.)
    fn attached(&mut self, status: u16, body: &str, now: u64) -> String {
        let answer = Answer::new(status, body, None);
        if status != 200 {
            return error(&body_error(&answer));
        }
        let body = &answer.body;
        let read = || -> Read<(String, CartView)> {
            object(body, "merge_report")?;
            Ok((string(body, "token")?, cart_view(object(body, "cart")?)?))
        };
        let (token, cart) = match read() {
            Ok(r) => r,
            Err(bad) => return error(&bad_response(bad)),
        };
        let mut actions = self.engine.adopt_cart(token, cart, now);
        // New credentials: nothing waits for a backoff meant for the old ones.
        actions.extend(self.engine.retry_now(now));
        self.out(actions, Obj::new())
    }

    /// What to send for `checkout(options)` after a flush: `{token, version,
    /// path, body, key}` with the total the shopper sees; `key` is the
    /// caller's idempotency key or `null` (the JS side keeps one per
    /// attempt, reused across its retries).
    fn checkout_plan(&self, options: &str) -> String {
        let options = Json::parse(options).unwrap_or(Json::Null);
        let key = match arg(&options, "checkout", api::idempotency_key) {
            Ok(k) => k,
            Err(e) => return error(&e),
        };
        let (Some(token), Some(server)) = (self.engine.token(), self.engine.server_cart()) else {
            return no_cart();
        };
        let Some(totals) = &server.totals else {
            return no_cart();
        };
        Obj::new()
            .set("token", token)
            .set("version", num(server.version))
            .set("path", ["/carts/", token, "/checkout"].concat())
            .set("body", checkout_request_js(&totals.estimated_total).text())
            .set("key", key.map_or(Json::Null, Json::from))
            .done()
            .text()
    }

    /// Takes the checkout answer: `{ordered: true, actions}` for an order
    /// (the cart is closed: a fresh one starts), `{ordered: false, actions}`
    /// after `409 checkout_revalidation_failed` (the revalidated cart is
    /// adopted); other answers are errors.
    fn checked_out(&mut self, token: String, status: u16, body: &str, now: u64) -> String {
        let answer = Answer::new(status, body, None);
        let body = &answer.body;
        match status {
            200 | 201 => match object(body, "order") {
                Ok(_) => {
                    let actions = self.start_fresh_cart(now);
                    self.out(actions, Obj::new().set("ordered", true))
                }
                Err(bad) => error(&bad_response(bad)),
            },
            409 if code_of(body) == Some("checkout_revalidation_failed") => {
                let read = || -> Read<CartView> {
                    match body.get("problems") {
                        Some(Json::Arr(_)) => cart_view(object(body, "cart")?),
                        _ => Err(Bad("problems")),
                    }
                };
                match read() {
                    Ok(cart) => {
                        let actions = self.engine.adopt_cart(token, cart, now);
                        self.out(actions, Obj::new().set("ordered", false))
                    }
                    Err(bad) => error(&bad_response(bad)),
                }
            }
            _ => error(&body_error(&answer)),
        }
    }

    /// Forgets the cart (logout): a new anonymous cart starts, and what is
    /// still pending goes to it (intent is never dropped).
    fn forget(&mut self, now: u64) -> String {
        let actions = self.start_fresh_cart(now);
        self.out(actions, Obj::new())
    }
}

impl Core {
    /// Drops the token and server cart (checkout closed it, or logout) and
    /// restores the engine on what is still pending. The stored server cart
    /// is deleted first (see `out`).
    fn start_fresh_cart(&mut self, now: u64) -> Vec<Action> {
        self.forget_server_cart = true;
        let engine = &self.engine;
        let token = TokenRecord {
            token: None,
            generation: engine.persisted().token.generation + 1,
        };
        let fresh = Persisted {
            token: token.clone(),
            server_cart: None,
            pending: engine.persisted().pending,
        };
        let leader = engine.is_leader();
        let (engine, mut actions) = Engine::restore(engine.config().clone(), fresh.clone(), now);
        self.engine = engine;
        actions.insert(0, Action::PersistToken(token));
        if leader {
            actions.extend(self.engine.leadership_gained(fresh, now));
        }
        actions
    }

    /// `{actions: [...], ...extra}` as JSON text. Sends are remembered so
    /// their answers can be sorted.
    fn out(&mut self, actions: Vec<Action>, extra: Obj) -> String {
        let mut list = Vec::with_capacity(actions.len() + 1);
        if core::mem::take(&mut self.forget_server_cart) {
            list.push(Obj::new().set("t", "del").set("k", SERVER_CART_KEY).done());
        }
        for action in actions {
            list.push(match action {
                Action::PersistMutation(record) => {
                    set(mutation_key(&record.mutation.id), stored_mutation_js(&record).text())
                }
                Action::RemoveMutation(id) => Obj::new().set("t", "del").set("k", mutation_key(&id)).done(),
                Action::PersistToken(record) => set(TOKEN_KEY.into(), token_record_js(&record).text()),
                Action::PersistServerCart(cart) => set(SERVER_CART_KEY.into(), server_cart_js(&cart).text()),
                Action::Send(request) => self.send(request),
                Action::ScheduleTimer { at } => Obj::new().set("t", "timer").set("at", num(at)).done(),
                Action::ViewChanged(_) => Obj::new().set("t", "change").done(),
                Action::Emit(event) => Obj::new().set("t", "event").set("e", api::event_js(&event)).done(),
            });
        }
        extra.set("actions", Json::Arr(list)).done().text()
    }

    fn send(&mut self, request: Request) -> Json {
        let (id, create, path, body) = match request {
            Request::CreateCart { id } => (id, true, "/carts".to_string(), "{}".to_string()),
            Request::Mutations { id, token, body } => (
                id,
                false,
                ["/carts/", &token, "/mutations"].concat(),
                mutations_request_js(&body.mutations).text(),
            ),
        };
        self.sent.push((id.0, create));
        Obj::new()
            .set("t", "send")
            .set("id", num(id.0))
            .set("path", path)
            .set("body", body)
            .done()
    }
}

fn set(key: String, value: String) -> Json {
    Obj::new().set("t", "set").set("k", key).set("v", value).done()
}

/// `{"error": {code, message}}`.
fn error(e: &ErrorBody) -> String {
    Obj::new().set("error", error_body_js(e)).done().text()
}

fn no_cart() -> String {
    error(&cart_error(codes::NO_CART, "there is no synced cart to check out"))
}

/// A 2xx body that is not protocol v1, as a `bad_response` error.
fn bad_response(Bad(field): Bad) -> ErrorBody {
    cart_error(
        codes::BAD_RESPONSE,
        &["the server's answer is not protocol v1 (field `", field, "`)"].concat(),
    )
}
