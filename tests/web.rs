//! The browser binding in real headless Chromium (wasm-bindgen-test):
//! golden vectors, persistence across a reload, outbox order, error objects,
//! and sync against a fetch stub that fails, hangs and answers 409. The stub
//! is an in-page authority running the core's own `decide_batch`.
#![cfg(target_arch = "wasm32")]

use cartsync::CartClient;
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

/// `flush()` as the package's JS wrapper does it: wait until settled.
async fn flush(client: &CartClient) -> Result<JsValue, JsValue> {
    let p = Promise::new(&mut |resolve, reject| client.wait_settled(resolve, reject));
    JsFuture::from(p).await
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
    flush(&client).await.unwrap();
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
    flush(&client).await.unwrap();
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
    flush(&client).await.unwrap();
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

#[wasm_bindgen_test]
fn pure_rules_are_exported_with_wire_shapes() {
    let parse = |s: &str| js_sys::JSON::parse(s).unwrap();
    let account = parse(r#"{"version":3,"lines":[{"sku":"tee","options":{"size":"M"},"quantity":998}]}"#);
    let anon = parse(
        r#"{"version":1,"lines":[{"sku":"tee","options":{"size":"M"},"quantity":5}],"coupons":[{"code":"A","state":"applied"}]}"#,
    );
    let merged = cartsync::rules::merge_carts(account, anon).unwrap();
    assert_eq!(get(&merged, &["cart", "lines", "0", "quantity"]).as_f64(), Some(999.0));
    assert_eq!(get(&merged, &["report", "summed", "0", "excess"]).as_f64(), Some(4.0));
    assert_eq!(
        get(&merged, &["cart", "coupons", "0", "state"]).as_string().as_deref(),
        Some("pending")
    );

    let err = cartsync::rules::validate_command(parse(r#"{"type":"add_item","sku":"a b","quantity":1}"#)).unwrap_err();
    assert_eq!(get(&err, &["code"]).as_string().as_deref(), Some("invalid_sku"));

    let batch = parse(
        r#"[{"id":"00000000-0000-4000-8000-000000000001","base_version":null,"command":{"type":"add_item","sku":"mug","quantity":2}}]"#,
    );
    let decided = cartsync::rules::apply_batch(parse(r#"{"version":0}"#), batch, JsValue::UNDEFINED).unwrap();
    assert_eq!(get(&decided, &["cart", "version"]).as_f64(), Some(1.0));
    assert_eq!(
        get(&decided, &["results", "0", "status"]).as_string().as_deref(),
        Some("applied")
    );

    let pending = parse(
        r#"[{"id":"00000000-0000-4000-8000-000000000002","base_version":1,"command":{"type":"set_quantity","sku":"cap","quantity":2}}]"#,
    );
    let rebased = cartsync::rules::rebase_pending(parse(r#"{"version":4}"#), pending).unwrap();
    assert_eq!(
        get(&rebased, &["reconciliations", "0", "kind"]).as_string().as_deref(),
        Some("restored")
    );
}

// ---- hand-written conversions against the core's serde shapes ----

mod conversions {
    use super::*;
    use cartsync::convert::{js::Read, rules, stored, wire};
    use cartsync_core::engine::{ServerCart, Settled, StoredMutation, TokenRecord};
    use cartsync_core::protocol::v1::{LineView, MutationsRequest};
    use cartsync_core::{
        merge, rebase, BatchDecision, Command, Coupon, ErrorBody, MergeReport, Money, Mutation, MutationResult,
        MutationStatus, Options, Reconciliation, Sku, Totals,
    };
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::fmt::Debug;

    /// `value` written by serde (what the server sends and what earlier
    /// SDK versions stored) reads back equal through the hand-written
    /// reader, and the hand-written writer's JSON reads back equal through
    /// serde (what the server and the native core read).
    fn agrees<T>(value: &T, read: fn(&JsValue) -> Read<T>, write: fn(&T) -> JsValue)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let by_serde = serde_json::to_string(value).unwrap();
        let parsed = js_sys::JSON::parse(&by_serde).unwrap();
        assert_eq!(read(&parsed).as_ref(), Ok(value), "read {by_serde}");
        let by_hand = stored::stringify(&write(value)).unwrap();
        let back: T = serde_json::from_str(&by_hand).unwrap_or_else(|e| panic!("{by_hand}: {e}"));
        assert_eq!(&back, value, "written {by_hand}");
        assert_eq!(
            stored::from_json(&by_hand, read).as_ref(),
            Some(value),
            "storage round trip"
        );
    }

    fn opts(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn id(n: u8) -> cartsync_core::MutationId {
        cartsync_core::MutationId::from_random_bytes([n; 16])
    }

    fn commands() -> Vec<Command> {
        vec![
            Command::AddItem {
                sku: Sku::new("tee"),
                quantity: -3,
                options: opts(&[("size", "M"), ("colour", "black")]),
            },
            Command::set("mug", 4),
            Command::remove("cap"),
            Command::ApplyCoupon { code: "SAVE10".into() },
            Command::RemoveCoupon { code: "SAVE10".into() },
            Command::SelectShipping {
                option: "express".into(),
            },
            Command::Clear {},
        ]
    }

    fn cart_view() -> CartView {
        let eur = |a| Money::new(a, "EUR");
        CartView {
            version: 7,
            owner: Some("user-1".into()),
            lines: vec![
                LineView {
                    sku: Sku::new("tee"),
                    options: opts(&[("size", "M")]),
                    quantity: 2,
                    name: Some("Tee".into()),
                    unit_price: Some(eur(1999)),
                    image: Some("/tee.png".into()),
                },
                LineView {
                    sku: Sku::new("mug"),
                    options: Options::new(),
                    quantity: 1,
                    name: None,
                    unit_price: None,
                    image: None,
                },
            ],
            coupons: vec![
                Coupon::applied("A"),
                Coupon::pending("B"),
                Coupon::rejected("C", "expired"),
            ],
            shipping_option: Some("standard".into()),
            totals: Some(Totals {
                subtotal: eur(3998),
                discount: eur(-400),
                estimated_total: eur(3598),
            }),
            updated_at: 1_700_000_000_123,
        }
    }

    #[wasm_bindgen_test]
    fn storage_records_round_trip() {
        let error = ErrorBody {
            code: "unknown_sku".into(),
            message: "no".into(),
        };
        for (i, command) in commands().into_iter().enumerate() {
            for settled in [
                None,
                Some(Settled::Expired),
                Some(Settled::Rejected { error: error.clone() }),
            ] {
                let record = StoredMutation {
                    mutation: Mutation {
                        id: id(i as u8),
                        base_version: (i % 2 == 0).then_some(i as u64),
                        command: command.clone(),
                    },
                    created_at: 1_700_000_000_000 + i as u64,
                    settled,
                };
                agrees(&record, stored::stored_mutation, stored::stored_mutation_js);
            }
        }
        for token in [None, Some("tok".to_string())] {
            let record = TokenRecord { token, generation: 3 };
            agrees(&record, stored::token_record, stored::token_record_js);
        }
        let server = ServerCart {
            token: "tok".into(),
            cart: cart_view(),
        };
        agrees(&server, stored::server_cart, stored::server_cart_js);
        let bare = CartView::bare(&Cart::default());
        agrees(&bare, wire::cart_view, wire::cart_view_js);
        assert!(stored::from_json("{\"mutation\":{}}", stored::stored_mutation).is_none());
        assert!(stored::from_json("not json", stored::token_record).is_none());
    }

    #[wasm_bindgen_test]
    fn server_bodies_round_trip() {
        let results = vec![
            MutationResult {
                id: id(1),
                status: MutationStatus::Applied,
                version: 3,
                error: None,
            },
            MutationResult {
                id: id(2),
                status: MutationStatus::Rejected,
                version: 3,
                error: Some(ErrorBody {
                    code: "invalid_sku".into(),
                    message: "bad".into(),
                }),
            },
        ];
        let ok = MutationsResponse {
            cart: cart_view(),
            results: results.clone(),
        };
        let parsed = js_sys::JSON::parse(&serde_json::to_string(&ok).unwrap()).unwrap();
        assert_eq!(wire::mutations_response(&parsed), Ok(ok));
        let conflict = ConflictResponse {
            code: "version_conflict".into(),
            message: "stale".into(),
            cart: cart_view(),
            results,
        };
        let parsed = js_sys::JSON::parse(&serde_json::to_string(&conflict).unwrap()).unwrap();
        assert_eq!(wire::conflict(&parsed), Ok(conflict));
        let created = CreateCartResponse {
            token: "tok".into(),
            cart: cart_view(),
        };
        let parsed = js_sys::JSON::parse(&serde_json::to_string(&created).unwrap()).unwrap();
        assert_eq!(wire::created(&parsed), Ok(created));
        let missing = js_sys::JSON::parse(r#"{"cart":{"version":1}}"#).unwrap();
        assert!(wire::mutations_response(&missing).is_err(), "results are required");

        let mutations: Vec<Mutation> = commands()
            .into_iter()
            .enumerate()
            .map(|(i, command)| Mutation {
                id: id(i as u8),
                base_version: (i % 2 == 1).then_some(9),
                command,
            })
            .collect();
        let body = stored::stringify(&wire::mutations_request_js(&mutations)).unwrap();
        let request: MutationsRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(request.mutations, mutations);
        let body = stored::stringify(&wire::checkout_request_js(&Money::new(1234, "EUR"))).unwrap();
        assert_eq!(body, r#"{"expected_total":{"amount":1234,"currency":"EUR"}}"#);
    }

    fn from_hand<T: DeserializeOwned>(js: JsValue) -> T {
        let text = stored::stringify(&js).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[wasm_bindgen_test]
    fn rule_shapes_match_the_core() {
        let account = CartView::bare(&Cart::default()).to_cart();
        let anonymous = cart_view().to_cart();
        agrees(&anonymous, rules::cart, rules::cart_js);
        let (merged, report) = merge(&account, &anonymous, &Limits::default());
        assert_eq!(from_hand::<Cart>(rules::cart_js(&merged)), merged);
        assert_eq!(from_hand::<MergeReport>(rules::merge_report_js(&report)), report);

        let pending: Vec<Mutation> = [Command::set("gone", 2), Command::add("bad sku", 1)]
            .into_iter()
            .enumerate()
            .map(|(i, command)| Mutation {
                id: id(i as u8),
                base_version: Some(1),
                command,
            })
            .collect();
        let (_, changes) = rebase(&anonymous, &pending, &Limits::default());
        assert!(changes.len() >= 2, "{changes:?}");
        for change in &changes {
            assert_eq!(&from_hand::<Reconciliation>(rules::reconciliation_js(change)), change);
        }

        let log = BTreeMap::new();
        let batch: Vec<Mutation> = commands()
            .into_iter()
            .enumerate()
            .map(|(i, command)| Mutation {
                id: id(i as u8),
                base_version: None,
                command,
            })
            .collect();
        let decision = decide_batch(&anonymous, &log, &batch, &Limits::default(), &(), 5).unwrap();
        assert_eq!(
            from_hand::<BatchDecision>(rules::batch_decision_js(&decision)),
            decision
        );
        let records: BTreeMap<_, _> = decision.records.iter().cloned().collect();
        let parsed = js_sys::JSON::parse(&serde_json::to_string(&records).unwrap()).unwrap();
        let read = rules::records(&parsed).unwrap();
        assert_eq!(read.0.into_iter().collect::<BTreeMap<_, _>>(), records);
        // The same batch again, with those records: every mutation is a
        // duplicate (or, reused with another command, refused).
        let again = cartsync::rules::apply_batch(
            js_sys::JSON::parse(&serde_json::to_string(&anonymous).unwrap()).unwrap(),
            js_sys::JSON::parse(&serde_json::to_string(&batch).unwrap()).unwrap(),
            parsed,
        )
        .unwrap();
        let again: BatchDecision = from_hand(again);
        assert_eq!(again.results.len(), decision.results.len());
        assert!(
            again.results.iter().all(|r| r.status == MutationStatus::Duplicate),
            "{again:?}"
        );
    }
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
    flush(&client).await.expect("flush retries now and resolves");
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
    flush(&second)
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
