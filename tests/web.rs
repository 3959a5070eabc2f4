//! The browser SDK in real headless Chromium (wasm-bindgen-test): golden
//! vectors, persistence across a reload, outbox order, error objects, sync
//! against a fetch stub that fails, hangs and answers 409 (an in-page
//! authority running the core's own `decide_batch`), clients sharing one
//! namespace, stable view snapshots, a full localStorage, and how events
//! reach listeners. The client under test is the exported `CartClient`,
//! driven through its JavaScript surface (methods called by name, as a page
//! calls them).
#![cfg(target_arch = "wasm32")]

use cartsync_core::protocol::v1::{
    CartView, ConflictResponse, CreateCartResponse, MutationsRequest, MutationsResponse,
};
use cartsync_core::vectors::{run_case, VectorFile};
use cartsync_core::{decide_batch, Cart, IdempotencyRecord, Limits, MutationId};
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A `CartClient` object, its methods called by name as a page would.
struct CartClient(JsValue);

impl CartClient {
    /// `await CartClient.open(options)`.
    async fn open(options: JsValue) -> Result<CartClient, JsValue> {
        JsFuture::from(cartsync::CartClient::open(options))
            .await
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

    fn token(&self) -> Option<String> {
        self.call("token", &[]).unwrap().as_string()
    }

    fn subscribe(&self, listener: &Function) -> Function {
        self.call("subscribe", &[listener]).unwrap().unchecked_into()
    }

    async fn await_call(&self, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        JsFuture::from(Promise::from(self.call(method, args)?)).await
    }

    async fn flush(&self) -> Result<JsValue, JsValue> {
        self.await_call("flush", &[]).await
    }

    fn close(&self) {
        self.call("close", &[]).unwrap();
    }
}

const VECTORS: [(&str, &str); 7] = [
    ("apply", include_str!("fixtures/v1/apply.json")),
    ("authority", include_str!("fixtures/v1/authority.json")),
    ("merge", include_str!("fixtures/v1/merge.json")),
    ("rebase", include_str!("fixtures/v1/rebase.json")),
    ("errors", include_str!("fixtures/v1/errors.json")),
    ("shipping", include_str!("fixtures/v1/shipping.json")),
    ("tax", include_str!("fixtures/v1/tax.json")),
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
    let first = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    first.add_item(item("tee", 1)).unwrap();
    first.add_item(item("mug", 2)).unwrap();
    first.add_item(item("tee", 2)).unwrap();
    first.close();
    // A new client on the same storage: what a reload does.
    let second = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    let view = second.view().unwrap();
    assert_eq!(lines(&view), vec![("tee".into(), 3.0), ("mug".into(), 2.0)]);
    assert_eq!(get(&view, &["pending"]).as_f64(), Some(3.0));
    second.close();
}

#[wasm_bindgen_test]
async fn errors_are_cart_error_objects_and_change_nothing() {
    let client = CartClient::open(options(&unique("errors"), Some(&silent_fetch())))
        .await
        .unwrap();
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

/// `setDestination` through the JS surface: the core's rules refuse a
/// malformed address with a `CartError` and store nothing; a valid one is
/// stored canonical and shown camelCase in the view.
#[wasm_bindgen_test]
async fn set_destination_is_validated_and_shown_camel_case() {
    let client = CartClient::open(options(&unique("destination"), Some(&silent_fetch())))
        .await
        .unwrap();
    let destination = |country: &str, postal: &str| {
        let o = Object::new();
        Reflect::set(&o, &"country".into(), &country.into()).unwrap();
        Reflect::set(&o, &"postalCode".into(), &postal.into()).unwrap();
        JsValue::from(o)
    };
    for (arg, code) in [
        (destination("DE", "1011"), "invalid_destination"),
        (destination("Germany", "10115"), "invalid_destination"),
        (item("tee", 1), "bad_request"),
    ] {
        let err = client.call("setDestination", &[&arg]).unwrap_err();
        assert_eq!(get(&err, &["name"]).as_string().as_deref(), Some("CartError"));
        assert_eq!(get(&err, &["code"]).as_string().as_deref(), Some(code));
    }
    assert_eq!(get(&client.view().unwrap(), &["pending"]).as_f64(), Some(0.0));
    let view = client.call("setDestination", &[&destination("nl", "1234ab")]).unwrap();
    assert_eq!(
        get(&view, &["destination", "country"]).as_string().as_deref(),
        Some("NL")
    );
    assert_eq!(
        get(&view, &["destination", "postalCode"]).as_string().as_deref(),
        Some("1234 AB")
    );
    assert_eq!(get(&view, &["pending"]).as_f64(), Some(1.0));
    assert!(Array::is_array(&get(&view, &["shippingOptions"])));
    client.close();
}

#[wasm_bindgen_test]
async fn sends_in_order_and_acknowledges() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let client = CartClient::open(options(&unique("order"), Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
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
    let client = CartClient::open(options(&unique("retry"), Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
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
    let client = CartClient::open(options(&unique("conflict"), Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
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
    let _unsubscribe = client.subscribe(listener.as_ref().unchecked_ref::<Function>());
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
    let client = CartClient::open(options(&unique("defaults"), Some(&silent_fetch())))
        .await
        .unwrap();
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
    let client = CartClient::open(options(&unique("unsubscribe"), Some(&silent_fetch())))
        .await
        .unwrap();
    let heard = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = heard.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.borrow_mut()
            .push(get(&e, &["type"]).as_string().unwrap_or_default());
    });
    let unsubscribe = client.subscribe(listener.as_ref().unchecked_ref::<Function>());
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
    let client = CartClient::open(options(&unique("flush-retry"), Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    client.add_item(item("tee", 1)).unwrap();
    // The failure is consumed (the status may already have left "error":
    // the backoff's full jitter can retry within milliseconds).
    eventually("the first attempt fails", || fake.borrow().faults.is_empty()).await;
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
    let first = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    first.add_item(item("tee", 1)).unwrap();
    first.close();
    sleep(100).await;
    // The lock the closed client asked for went back at once: a new client
    // on the same storage takes it and sends what the first one left.
    let second = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
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

/// Bug: a second `CartClient` in one page (a header mini-cart and a product
/// page) never synced. Clients of one namespace share one engine: both see
/// every change, either's add is sent, and closing one leaves the other
/// working (React StrictMode's open → close → open).
#[wasm_bindgen_test]
async fn clients_of_one_namespace_share_one_cart_and_one_flusher() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let ns = unique("two-clients");
    let header = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    let page = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    page.add_item(item("tee", 1)).unwrap();
    assert_eq!(
        lines(&header.view().unwrap()),
        vec![("tee".into(), 1.0)],
        "the other client sees it at once"
    );
    page.flush().await.expect("the second client's add is sent");
    assert_eq!(fake.borrow().applied, 1);
    // StrictMode: the first effect's cleanup closes, the second opens again.
    header.close();
    let again = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    again.add_item(item("mug", 2)).unwrap();
    page.add_item(item("tee", 1)).unwrap();
    again.flush().await.expect("still one working engine");
    assert_eq!(fake.borrow().applied, 3);
    assert_eq!(page.token(), again.token());
    assert!(page.token().is_some(), "the cart token is readable");
    // Open and close in any order leaves a working client.
    page.close();
    again.add_item(item("cap", 1)).unwrap();
    again.flush().await.unwrap();
    assert_eq!(fake.borrow().applied, 4);
    again.close();
    let closed = header.add_item(item("tee", 1)).unwrap_err();
    assert_eq!(get(&closed, &["code"]).as_string().as_deref(), Some("client_closed"));
    // Another endpoint on the same namespace is refused, not silently shared.
    let a = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    let other = Object::new();
    Reflect::set(&other, &"endpoint".into(), &"/elsewhere".into()).unwrap();
    Reflect::set(&other, &"namespace".into(), &ns.as_str().into()).unwrap();
    let err = CartClient::open(other.into()).await.err().expect("refused");
    assert_eq!(get(&err, &["code"]).as_string().as_deref(), Some("bad_request"));
    a.close();
}

/// Bug: `view()` returned a new object on every call, so
/// `useSyncExternalStore(cart.subscribe, () => cart.view())` looped. The
/// snapshot stays the same object until something changes, a change
/// reuses the unchanged lines' objects, and snapshots are frozen.
#[wasm_bindgen_test]
async fn view_is_a_stable_frozen_snapshot_that_reuses_unchanged_lines() {
    let client = CartClient::open(options(&unique("snapshot"), Some(&silent_fetch())))
        .await
        .unwrap();
    for sku in ["a", "b", "c"] {
        client.add_item(item(sku, 1)).unwrap();
    }
    let first = client.view().unwrap();
    assert!(
        Object::is(&first, &client.view().unwrap()),
        "nothing changed: the same object"
    );
    assert!(Object::<JsValue>::is_frozen(first.unchecked_ref::<Object>()));
    let line = |v: &JsValue, i: u32| Array::from(&get(v, &["lines"])).get(i);
    assert!(Object::<JsValue>::is_frozen(line(&first, 0).unchecked_ref::<Object>()));
    let returned = client.set_quantity(item("b", 4)).unwrap();
    let second = client.view().unwrap();
    assert!(
        Object::is(&returned, &second),
        "the command returns the snapshot view() gives"
    );
    assert!(!Object::is(&first, &second), "a change is a new snapshot");
    assert!(
        Object::is(&line(&first, 0), &line(&second, 0)),
        "line a kept its object"
    );
    assert!(
        Object::is(&line(&first, 2), &line(&second, 2)),
        "line c kept its object"
    );
    assert!(!Object::is(&line(&first, 1), &line(&second, 1)), "line b is new");
    assert_eq!(
        get(&line(&first, 1), &["quantity"]).as_f64(),
        Some(1.0),
        "the old snapshot is unchanged"
    );
    // camelCase everywhere.
    assert!(Reflect::has(&second, &"shippingOption".into()).unwrap());
    assert!(Reflect::has(&second, &"lastError".into()).unwrap());
    assert!(Reflect::has(&line(&second, 0), &"unitPrice".into()).unwrap());
    client.close();
}

/// A command whose record localStorage refuses (the quota) throws
/// `storage_full` and does not count: nothing pending, nothing sent, the
/// view as it was.
#[wasm_bindgen_test]
async fn a_command_that_cannot_be_stored_throws_storage_full_and_does_not_count() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let client = CartClient::open(options(&unique("quota"), Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    client.add_item(item("tee", 1)).unwrap();
    client.flush().await.unwrap();
    let before = client.view().unwrap();
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    // Fill localStorage to its quota.
    let mut chunk = "x".repeat(1 << 20);
    let mut filled = Vec::new();
    while chunk.len() > 8 {
        let key = format!("filler-{}", filled.len());
        if storage.set_item(&key, &chunk).is_ok() {
            filled.push(key);
        } else {
            chunk.truncate(chunk.len() / 2);
        }
    }
    let err = client.add_item(item("mug", 1)).unwrap_err();
    for key in &filled {
        storage.remove_item(key).unwrap();
    }
    assert_eq!(get(&err, &["code"]).as_string().as_deref(), Some("storage_full"));
    let after = client.view().unwrap();
    assert!(Object::is(&before, &after), "the view is as it was");
    assert_eq!(get(&after, &["pending"]).as_f64(), Some(0.0));
    sleep(50).await;
    assert_eq!(fake.borrow().applied, 1, "nothing was sent");
    client.add_item(item("mug", 1)).unwrap();
    client.flush().await.unwrap();
    assert_eq!(fake.borrow().applied, 2, "with room again, commands count");
    client.close();
}

/// Listeners hear events in a microtask after the change, never in the
/// middle of it; a listener may call back into the client; one that
/// throws is reported and the others still hear the event.
#[wasm_bindgen_test]
async fn events_come_in_a_microtask_reentrant_and_a_throwing_listener_is_reported() {
    let client = Rc::new(
        CartClient::open(options(&unique("events"), Some(&silent_fetch())))
            .await
            .unwrap(),
    );
    let heard = Rc::new(RefCell::new(Vec::<(String, f64)>::new()));
    let thrower = Function::new_with_args("e", "throw new Error('listener failed')");
    let _u1 = client.subscribe(&thrower);
    let (sink, inner) = (heard.clone(), client.clone());
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        // Calling back into the client from a listener works.
        let pending = get(&inner.view().unwrap(), &["pending"]).as_f64().unwrap_or(-1.0);
        sink.borrow_mut()
            .push((get(&e, &["type"]).as_string().unwrap_or_default(), pending));
    });
    let _u2 = client.subscribe(listener.as_ref().unchecked_ref());
    // reportError reaches window's "error" event.
    let reported = Rc::new(RefCell::new(0));
    let count = reported.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        e.prevent_default();
        *count.borrow_mut() += 1;
    });
    let window = web_sys::window().unwrap();
    window
        .add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    client.add_item(item("tee", 1)).unwrap();
    assert!(heard.borrow().is_empty(), "nothing is heard during the call");
    sleep(0).await;
    window
        .remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        .unwrap();
    assert_eq!(
        heard.borrow().first(),
        Some(&("change".to_string(), 1.0)),
        "{:?}",
        heard.borrow()
    );
    assert!(*reported.borrow() >= 1, "the throwing listener was reported");
    client.close();
}

/// Mutation ids are UUID v4 (from `crypto.getRandomValues`), one storage
/// key per mutation.
#[wasm_bindgen_test]
async fn mutation_ids_are_uuid_v4_in_their_own_storage_keys() {
    let ns = unique("ids");
    let client = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    client.add_item(item("tee", 1)).unwrap();
    client.add_item(item("mug", 1)).unwrap();
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let prefix = format!("{ns}/cartsync:v1:m:");
    let ids: Vec<String> = (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2);
    for id in ids {
        let parsed = MutationId::parse(&id).expect("a hyphenated UUID");
        assert_eq!(parsed.0.get_version_num(), 4, "{id}");
    }
    client.close();
}

// ---- storage faults ----

/// Events heard, as `(type, code, key)`.
type Heard = Rc<RefCell<Vec<(String, String, String)>>>;

/// Every event a client emits.
fn record_events(client: &CartClient) -> (Heard, Function) {
    let heard = Rc::new(RefCell::new(Vec::new()));
    let sink = heard.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        let field = |k: &str| get(&e, &[k]).as_string().unwrap_or_default();
        sink.borrow_mut().push((field("type"), field("code"), field("key")));
    });
    let unsubscribe = client.subscribe(listener.as_ref().unchecked_ref());
    listener.forget();
    (heard, unsubscribe)
}

fn storage_errors(heard: &RefCell<Vec<(String, String, String)>>) -> Vec<(String, String)> {
    heard
        .borrow()
        .iter()
        .filter(|(t, _, _)| t == "storageError")
        .map(|(_, code, key)| (code.clone(), key.clone()))
        .collect()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// The namespace's keys, as a clear would leave them: gone (other
/// namespaces, and other tests, keep theirs).
fn clear_namespace(ns: &str) {
    let storage = local_storage();
    let keys: Vec<String> = (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter(|k| k.starts_with(&format!("{ns}/")))
        .collect();
    for k in keys {
        storage.remove_item(&k).unwrap();
    }
}

fn namespace_keys(ns: &str, prefix: &str) -> Vec<String> {
    let storage = local_storage();
    let prefix = format!("{ns}/{prefix}");
    (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

/// What another tab's write (`key`), or `localStorage.clear()` (`None`),
/// sends this one: a `storage` event on localStorage.
fn storage_event(key: Option<&str>) {
    let dispatch = Function::new_with_args(
        "key",
        "window.dispatchEvent(new StorageEvent('storage', { key, storageArea: localStorage }))",
    );
    let key = key.map_or(JsValue::NULL, JsValue::from_str);
    dispatch.call1(&JsValue::NULL, &key).unwrap();
}

/// Storage cleared under the page, by another tab (`localStorage.clear()`:
/// a `storage` event without a key) or in this tab with no event ("Clear
/// site data", found after the next send): what the page holds is written
/// back, nothing is lost, and the shop hears `storage_cleared` once.
#[wasm_bindgen_test]
async fn storage_cleared_under_the_page_is_written_back_and_told() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    fake.borrow_mut().faults.extend([Fault::Hang, Fault::Hang]);
    let ns = unique("cleared");
    let client = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    let (heard, _unsubscribe) = record_events(&client);
    client.add_item(item("tee", 1)).unwrap();
    assert_eq!(namespace_keys(&ns, "cartsync:v1:m:").len(), 1);
    // Another tab clears localStorage.
    clear_namespace(&ns);
    // (The tab listens once it has joined the others: shortly after open.)
    eventually("written back when the event comes", || {
        storage_event(None);
        namespace_keys(&ns, "cartsync:v1:m:").len() == 1
    })
    .await;
    sleep(0).await;
    assert_eq!(
        storage_errors(&heard),
        vec![("storage_cleared".to_string(), String::new())]
    );
    // One more event finds storage whole again: nothing is written or
    // told, and the next clear is a new one (without it, whether a send's
    // re-read came in between decides that).
    storage_event(None);
    sleep(0).await;
    assert_eq!(storage_errors(&heard).len(), 1, "a whole storage is not a clear");
    // This tab's storage cleared with no event: found when the next
    // attempt (after the hanging one times out) goes.
    clear_namespace(&ns);
    eventually("written back after the next send", || {
        namespace_keys(&ns, "cartsync:v1:m:").len() == 1
    })
    .await;
    // (A flush rejects when an attempt fails after it started: the hang.)
    let mut flushed = client.flush().await;
    for _ in 0..5 {
        if flushed.is_ok() {
            break;
        }
        flushed = client.flush().await;
    }
    flushed.unwrap();
    assert_eq!(fake.borrow().applied, 1, "the command reached the server once");
    assert_eq!(get(&client.view().unwrap(), &["pending"]).as_f64(), Some(0.0));
    assert_eq!(
        storage_errors(&heard).len(),
        2,
        "each clear told once: {:?}",
        heard.borrow()
    );
    assert!(
        local_storage()
            .get_item(&format!("{ns}/cartsync:v1:token"))
            .unwrap()
            .is_some(),
        "the cart token is back in storage"
    );
    client.close();
}

/// A record edited by hand into garbage is told once by key
/// (`storage_corrupt`), left in place, and everything else loads.
#[wasm_bindgen_test]
async fn an_unreadable_record_is_told_once_and_the_rest_loads() {
    let ns = unique("corrupt");
    let first = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    first.add_item(item("tee", 2)).unwrap();
    first.close();
    let storage = local_storage();
    let garbage = "cartsync:v1:m:0b3c1a7e-9d5f-4c1e-8a55-3f0f6a0e2b11";
    storage.set_item(&format!("{ns}/{garbage}"), "{not json").unwrap();
    let second = CartClient::open(options(&ns, Some(&silent_fetch()))).await.unwrap();
    let (heard, _unsubscribe) = record_events(&second);
    sleep(0).await;
    assert_eq!(
        lines(&second.view().unwrap()),
        vec![("tee".into(), 2.0)],
        "the rest loads"
    );
    assert_eq!(
        storage_errors(&heard),
        vec![("storage_corrupt".to_string(), garbage.to_string())],
        "told at open, with the key"
    );
    assert_eq!(
        storage.get_item(&format!("{ns}/{garbage}")).unwrap().as_deref(),
        Some("{not json"),
        "left in place"
    );
    // Another tab writes garbage: told once, however often it comes.
    let shaped = "cartsync:v1:m:5d2c6a10-2f4b-4b8e-9c3a-7e1d0f9a4c22";
    storage
        .set_item(&format!("{ns}/{shaped}"), r#"{"mutation": 7}"#)
        .unwrap();
    // (The tab listens once it has joined the others: shortly after open.)
    eventually("garbage from another tab told", || {
        storage_event(Some(&format!("{ns}/{shaped}")));
        storage_errors(&heard).len() == 2
    })
    .await;
    storage_event(Some(&format!("{ns}/{shaped}")));
    sleep(0).await;
    assert_eq!(storage_errors(&heard).len(), 2, "told once: {:?}", heard.borrow());
    assert_eq!(storage_errors(&heard)[1].1, shaped);
    second.add_item(item("mug", 1)).unwrap();
    assert_eq!(get(&second.view().unwrap(), &["pending"]).as_f64(), Some(2.0));
    second.close();
    storage.remove_item(&format!("{ns}/{garbage}")).unwrap();
    storage.remove_item(&format!("{ns}/{shaped}")).unwrap();
}

/// Another tab runs a newer cartsync (a record with a higher `format`):
/// this page says so once (`storage_newer_format`), never writes over the
/// record, stops sending and gives the flush lock up; its operations fail
/// with that code; its commands still count.
#[wasm_bindgen_test]
async fn another_tab_in_a_newer_format_makes_this_page_step_aside() {
    let fake = Rc::new(RefCell::new(Fake::default()));
    let ns = unique("newer");
    let client = CartClient::open(options(&ns, Some(&stub_fetch(fake.clone()))))
        .await
        .unwrap();
    let (heard, _unsubscribe) = record_events(&client);
    client.add_item(item("tee", 1)).unwrap();
    client.flush().await.unwrap();
    let cart_key = format!("{ns}/cartsync:v1:cart");
    let newer = r#"{"format":2,"carts":{}}"#;
    local_storage().set_item(&cart_key, newer).unwrap();
    storage_event(Some(&cart_key));
    sleep(0).await;
    assert_eq!(
        storage_errors(&heard),
        vec![("storage_newer_format".to_string(), "cartsync:v1:cart".to_string())]
    );
    let err = client.flush().await.unwrap_err();
    assert_eq!(
        get(&err, &["code"]).as_string().as_deref(),
        Some("storage_newer_format")
    );
    client.add_item(item("mug", 1)).unwrap();
    assert_eq!(get(&client.view().unwrap(), &["pending"]).as_f64(), Some(1.0));
    assert_eq!(
        namespace_keys(&ns, "cartsync:v1:m:").len(),
        1,
        "its own record is stored"
    );
    sleep(50).await;
    assert_eq!(fake.borrow().applied, 1, "nothing more was sent");
    assert_eq!(local_storage().get_item(&cart_key).unwrap().as_deref(), Some(newer));
    // The flush lock is free for the newer tab.
    let free = Function::new_with_args(
        "name",
        "return navigator.locks.request(name, { ifAvailable: true }, (lock) => lock !== null)",
    );
    let got = free
        .call1(&JsValue::NULL, &format!("cartsync-flush:{ns}/").into())
        .unwrap();
    assert_eq!(JsFuture::from(Promise::from(got)).await.unwrap().as_bool(), Some(true));
    client.close();
}
