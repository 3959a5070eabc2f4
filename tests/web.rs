//! The browser SDK in real headless Chromium (wasm-bindgen-test): golden
//! vectors, persistence across a reload, outbox order, error objects, and
//! sync against a fetch stub that fails, hangs and answers 409. The stub is
//! an in-page authority running the core's own `decide_batch`. The client
//! under test is the package's own JS class (pkg-template/client.js) over
//! this build's wasm `Core`.
#![cfg(target_arch = "wasm32")]

use cartsync::Core;
use cartsync_core::protocol::v1::{
    CartView, ConflictResponse, CreateCartResponse, MutationsRequest, MutationsResponse,
};
use cartsync_core::vectors::{run_case, VectorFile};
use cartsync_core::{decide_batch, Cart, IdempotencyRecord, Limits, MutationId};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/pkg-template/client.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineCartClient)]
    fn define_cart_client(new_core: &JsValue, ready: &JsValue) -> JsValue;
}

thread_local! {
    /// The package's `CartClient` class over this build's `Core`.
    static CLASS: Function = {
        let new_core = Closure::<dyn FnMut(f64, Uint8Array) -> JsValue>::new(|timeout: f64, seed: Uint8Array| {
            JsValue::from(Core::new(timeout, &seed.to_vec()))
        });
        let ready = Function::new_no_args("return Promise.resolve()");
        define_cart_client(&new_core.into_js_value(), &ready).unchecked_into()
    };
}

/// A `CartClient` object, its methods called by name as a page would.
struct CartClient(JsValue);

impl CartClient {
    /// `new CartClient(options)`: what `CartClient.open` does once the
    /// module is ready.
    fn open(options: JsValue) -> Result<CartClient, JsValue> {
        CLASS
            .with(|class| Reflect::construct(class, &Array::of1(&options)))
            .map(CartClient)
    }

    fn call(&self, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = Reflect::get(&self.0, &method.into())?.dyn_into()?;
        f.apply(&self.0, &args.iter().copied().collect::<Array>())
    }

    fn add_item(&self, args: JsValue) -> Result<JsValue, JsValue> {
        self.call("addItem", &[&args])
    }

    fn set_quantity(&self, args: JsValue) -> Result<JsValue, JsValue> {
        self.call("setQuantity", &[&args])
    }

    fn view(&self) -> Result<JsValue, JsValue> {
        self.call("view", &[])
    }

    fn subscribe(&self, listener: Function) -> Function {
        self.call("subscribe", &[&listener]).unwrap().unchecked_into()
    }

    async fn flush(&self) -> Result<JsValue, JsValue> {
        JsFuture::from(Promise::from(self.call("flush", &[])?)).await
    }

    fn close(&self) {
        self.call("close", &[]).unwrap();
    }
}

const VECTORS: [(&str, &str); 5] = [
    ("apply", include_str!("fixtures/v1/apply.json")),
    ("authority", include_str!("fixtures/v1/authority.json")),
    ("merge", include_str!("fixtures/v1/merge.json")),
    ("rebase", include_str!("fixtures/v1/rebase.json")),
    ("errors", include_str!("fixtures/v1/errors.json")),
];

#[wasm_bindgen_test]
fn golden_vectors_agree_in_the_browser() {
    let mut total = 0;
    for (name, text) in VECTORS {
        // serde_json here (a test-only dependency): JSON.parse would turn the
        // vectors' i64::MAX quantities into floats. What is under test is the
        // core's logic compiled to wasm, run on the very same files.
        let file: VectorFile = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for case in &file.cases {
            if let Err(e) = run_case(case) {
                panic!("{name}: {}: {e}", case.name());
            }
        }
        total += file.cases.len();
    }
    assert!(total >= 60, "only {total} vectors");
}

// ---- an in-page authority behind a scripted fetch ----

enum Fault {
    NetworkError,
    Hang,
    Status(u16),
}

#[derive(Default)]
struct Fake {
    token: Option<String>,
    cart: Cart,
    log: BTreeMap<MutationId, IdempotencyRecord>,
    faults: VecDeque<Fault>,
    batches: Vec<MutationsRequest>,
    applied: usize,
    conflicts: usize,
}

impl Fake {
    fn answer(&mut self, url: &str, body: Option<String>) -> (u16, String) {
        if url.ends_with("/carts") {
            self.token = Some("tok".into());
            let r = CreateCartResponse {
                token: "tok".into(),
                cart: CartView::bare(&self.cart),
            };
            return (201, serde_json::to_string(&r).unwrap());
        }
        let req: MutationsRequest = match body.as_deref().map(serde_json::from_str) {
            Some(Ok(r)) => r,
            _ => return (400, r#"{"code":"bad_request","message":"body"}"#.into()),
        };
        self.batches.push(req.clone());
        let d = decide_batch(&self.cart, &self.log, &req.mutations, &Limits::default(), &(), 1).unwrap();
        self.log.extend(d.records.iter().cloned());
        self.applied += d.events.len();
        self.cart = d.cart;
        let cart = CartView::bare(&self.cart);
        if d.conflict.is_some() {
            self.conflicts += 1;
            let r = ConflictResponse {
                code: "version_conflict".into(),
                message: "stale".into(),
                cart,
                results: d.results,
            };
            return (409, serde_json::to_string(&r).unwrap());
        }
        (
            200,
            serde_json::to_string(&MutationsResponse {
                cart,
                results: d.results,
            })
            .unwrap(),
        )
    }
}

fn response(status: u16, body: &str) -> JsValue {
    let make = Function::new_with_args("b, s", "return Promise.resolve(new Response(b, { status: s }))");
    make.call2(&JsValue::NULL, &body.into(), &status.into()).unwrap()
}

fn stub_fetch(fake: Rc<RefCell<Fake>>) -> Function {
    Closure::<dyn FnMut(String, JsValue) -> JsValue>::new(move |url: String, init: JsValue| {
        let fault = fake.borrow_mut().faults.pop_front();
        match fault {
            Some(Fault::NetworkError) => Promise::reject(&js_sys::TypeError::new("Failed to fetch")).into(),
            Some(Fault::Hang) => {
                // Never answers; rejects when the client aborts (its timeout).
                let signal = Reflect::get(&init, &"signal".into()).unwrap();
                Promise::new(&mut |_, reject| {
                    let on_abort = Closure::once_into_js(move || {
                        let _ = reject.call1(&JsValue::NULL, &"aborted".into());
                    });
                    let add: Function = Reflect::get(&signal, &"addEventListener".into()).unwrap().into();
                    add.call2(&signal, &"abort".into(), &on_abort).unwrap();
                })
                .into()
            }
            Some(Fault::Status(s)) => response(s, r#"{"code":"server_error","message":"boom"}"#),
            None => {
                let body = Reflect::get(&init, &"body".into()).ok().and_then(|b| b.as_string());
                let (status, text) = fake.borrow_mut().answer(&url, body);
                response(status, &text)
            }
        }
    })
    .into_js_value()
    .unchecked_into()
}

fn options(namespace: &str, fetch: Option<&Function>) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"endpoint".into(), &"/api/v1".into()).unwrap();
    Reflect::set(&o, &"namespace".into(), &namespace.into()).unwrap();
    Reflect::set(&o, &"requestTimeoutMs".into(), &300.into()).unwrap();
    if let Some(f) = fetch {
        Reflect::set(&o, &"fetch".into(), f).unwrap();
    }
    o.into()
}

fn unique(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

/// A fetch that never answers: the client stays offline-like.
fn silent_fetch() -> Function {
    Function::new_no_args("return new Promise(() => {})")
}

fn item(sku: &str, quantity: i32) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"sku".into(), &sku.into()).unwrap();
    Reflect::set(&o, &"quantity".into(), &quantity.into()).unwrap();
    o.into()
}

fn get(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter()
        .fold(v.clone(), |v, k| Reflect::get(&v, &(*k).into()).unwrap())
}

fn lines(view: &JsValue) -> Vec<(String, f64)> {
    Array::from(&get(view, &["lines"]))
        .iter()
        .map(|l| {
            (
                get(&l, &["sku"]).as_string().unwrap(),
                get(&l, &["quantity"]).as_f64().unwrap(),
            )
        })
        .collect()
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        sleep(25).await;
    }
    panic!("timed out waiting for: {what}");
}

#[wasm_bindgen_test]
async fn outbox_survives_a_reload_in_order() {
    let ns = unique("reload");
    let first = CartClient::open(options(&ns, Some(&silent_fetch()))).unwrap();
    first.add_item(item("tee", 1)).unwrap();
    first.add_item(item("mug", 2)).unwrap();
    first.add_item(item("tee", 2)).unwrap();
    first.close();
    // A new client on the same storage: what a reload does.
    let second = CartClient::open(options(&ns, Some(&silent_fetch()))).unwrap();
    let view = second.view().unwrap();
    assert_eq!(lines(&view), vec![("tee".into(), 3.0), ("mug".into(), 2.0)]);
    assert_eq!(get(&view, &["pending"]).as_f64(), Some(3.0));
    second.close();
}

#[wasm_bindgen_test]
async fn errors_are_cart_error_objects_and_change_nothing() {
    let client = CartClient::open(options(&unique("errors"), Some(&silent_fetch()))).unwrap();
    for (arg, code) in [
        (item("bad sku", 1), "invalid_sku"),
        (item("tee", 0), "quantity_out_of_range"),
        (item("tee", 5000), "quantity_out_of_range"),
        (JsValue::from_str("tee"), "bad_request"),
        (JsValue::NULL, "bad_request"),
    ] {
        let err = client.add_item(arg).unwrap_err();
        assert!(err.is_instance_of::<js_sys::Error>());
        assert_eq!(get(&err, &["name"]).as_string().as_deref(), Some("CartError"));
        assert_eq!(get(&err, &["code"]).as_string().as_deref(), Some(code));
    }
    assert_eq!(get(&client.view().unwrap(), &["pending"]).as_f64(), Some(0.0));
    client.close();
}

#[wasm_bindgen_test]
async fn sends_in_order_and_acknowledges() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let client = CartClient::open(options(&unique("order"), Some(&stub_fetch(fake.clone())))).unwrap();
    for sku in ["a", "b", "c", "d"] {
        client.add_item(item(sku, 1)).unwrap();
    }
    client.flush().await.unwrap();
    let skus: Vec<String> = fake
        .borrow()
        .batches
        .iter()
        .flat_map(|b| {
            b.mutations
                .iter()
                .filter_map(|m| m.command.line_key().map(|(s, _)| s.to_string()))
        })
        .collect();
    let mut seen = Vec::new();
    for s in skus {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    assert_eq!(seen, vec!["a", "b", "c", "d"]);
    assert_eq!(fake.borrow().applied, 4);
    let view = client.view().unwrap();
    assert_eq!(get(&view, &["status"]).as_string().as_deref(), Some("synced"));
    assert_eq!(get(&view, &["version"]).as_f64(), Some(4.0));
    client.close();
}

#[wasm_bindgen_test]
async fn retries_network_errors_timeouts_and_5xx_exactly_once() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    fake.borrow_mut().faults = VecDeque::from([Fault::NetworkError, Fault::Hang, Fault::Status(503)]);
    let client = CartClient::open(options(&unique("retry"), Some(&stub_fetch(fake.clone())))).unwrap();
    client.add_item(item("tee", 2)).unwrap();
    eventually("the add is acknowledged", || {
        get(&client.view().unwrap(), &["pending"]).as_f64() == Some(0.0)
    })
    .await;
    assert!(fake.borrow().faults.is_empty(), "every fault was hit");
    assert_eq!(fake.borrow().applied, 1);
    assert_eq!(lines(&client.view().unwrap()), vec![("tee".into(), 2.0)]);
    client.close();
}

#[wasm_bindgen_test]
async fn a_409_rebases_and_resends_with_the_new_base_version() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let client = CartClient::open(options(&unique("conflict"), Some(&stub_fetch(fake.clone())))).unwrap();
    client.add_item(item("tee", 1)).unwrap();
    client.flush().await.unwrap();
    // Another device removes the tee behind this client's back (v2).
    {
        let mut f = fake.borrow_mut();
        let cart = cartsync_core::apply(&f.cart, &cartsync_core::Command::remove("tee"), &Limits::default()).unwrap();
        f.cart = Cart {
            version: f.cart.version + 1,
            ..cart
        };
    }
    let events = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = events.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.borrow_mut()
            .push(get(&e, &["type"]).as_string().unwrap_or_default());
    });
    let _unsubscribe = client.subscribe(listener.as_ref().unchecked_ref::<Function>().clone());
    let set = item("tee", 5);
    client.set_quantity(set).unwrap();
    client.flush().await.unwrap();
    {
        let f = fake.borrow();
        assert_eq!(f.conflicts, 1);
        let last = f.batches.last().unwrap();
        assert_eq!(last.mutations[0].base_version, Some(2), "resent on the new version");
        assert_eq!(f.cart.lines[0].quantity, 5, "the shopper's intent is kept (restored)");
    }
    sleep(0).await;
    assert!(
        events.borrow().iter().any(|t| t == "reconciled"),
        "events: {:?}",
        events.borrow()
    );
    client.close();
    drop(listener);
}

/// As through serde: a missing `quantity` or `options` takes its default,
/// an explicit `null` is a `bad_request`.
#[wasm_bindgen_test]
async fn arguments_default_only_when_missing() {
    let client = CartClient::open(options(&unique("defaults"), Some(&silent_fetch()))).unwrap();
    let parse = |s: &str| js_sys::JSON::parse(s).unwrap();
    let view = client.add_item(parse(r#"{"sku":"tee"}"#)).unwrap();
    assert_eq!(lines(&view), vec![("tee".into(), 1.0)]);
    for bad in [
        r#"{"sku":"tee","quantity":null}"#,
        r#"{"sku":"tee","options":null}"#,
        r#"{"sku":"tee","quantity":1.5}"#,
    ] {
        let err = client.add_item(parse(bad)).unwrap_err();
        assert_eq!(
            get(&err, &["code"]).as_string().as_deref(),
            Some("bad_request"),
            "{bad}"
        );
    }
    let view = client
        .add_item(parse(r#"{"sku":"tee","quantity":2,"options":{"size":"M"}}"#))
        .unwrap();
    assert_eq!(
        get(&view, &["lines", "1", "options", "size"]).as_string().as_deref(),
        Some("M")
    );
    client.close();
}

/// A listener hears `change` after a command, and nothing once it has
/// called the function `subscribe` returned.
#[wasm_bindgen_test]
async fn unsubscribe_stops_events() {
    let client = CartClient::open(options(&unique("unsubscribe"), Some(&silent_fetch()))).unwrap();
    let heard = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = heard.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.borrow_mut()
            .push(get(&e, &["type"]).as_string().unwrap_or_default());
    });
    let unsubscribe = client.subscribe(listener.as_ref().unchecked_ref::<Function>().clone());
    client.add_item(item("tee", 1)).unwrap();
    sleep(0).await;
    assert!(heard.borrow().iter().any(|t| t == "change"), "{:?}", heard.borrow());
    unsubscribe.call0(&JsValue::NULL).unwrap();
    heard.borrow_mut().clear();
    client.add_item(item("mug", 1)).unwrap();
    sleep(0).await;
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());
    client.close();
    drop(listener);
}

#[wasm_bindgen_test]
async fn flush_after_a_failure_sends_at_once_instead_of_rejecting_with_the_old_error() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    fake.borrow_mut().faults = VecDeque::from([Fault::NetworkError]);
    let client = CartClient::open(options(&unique("flush-retry"), Some(&stub_fetch(fake.clone())))).unwrap();
    client.add_item(item("tee", 1)).unwrap();
    eventually("the first attempt fails", || {
        get(&client.view().unwrap(), &["status"]).as_string().as_deref() == Some("error")
    })
    .await;
    // The backoff may be up to a second away; flush skips it and succeeds.
    client.flush().await.expect("flush retries now and resolves");
    assert_eq!(fake.borrow().applied, 1);
    client.close();
}

#[wasm_bindgen_test]
async fn close_in_the_same_task_as_open_leaves_no_dangling_callbacks() {
    // Capture uncaught errors from callbacks that run after close().
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = errors.clone();
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.borrow_mut()
            .push(get(&e, &["message"]).as_string().unwrap_or_default());
    });
    let window = web_sys::window().unwrap();
    window
        .add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    let ns = unique("mount-unmount");
    let fake = Rc::new(RefCell::new(Fake::default()));
    let first = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone())))).unwrap();
    first.add_item(item("tee", 1)).unwrap();
    first.close();
    drop(first);
    sleep(100).await;
    // The lock the closed client asked for went back at once: a new client
    // on the same storage takes it and sends what the first one left.
    let second = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone())))).unwrap();
    second
        .flush()
        .await
        .expect("the second client sends the first one's add");
    assert_eq!(fake.borrow().applied, 1);
    for kind in ["error", "unhandledrejection"] {
        window
            .remove_event_listener_with_callback(kind, on_error.as_ref().unchecked_ref())
            .unwrap();
    }
    assert!(errors.borrow().is_empty(), "uncaught errors: {:?}", errors.borrow());
    second.close();
}
