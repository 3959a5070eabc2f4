//! The hand-written JSON conversions of the binding against the core's
//! serde shapes: what the server sends and what earlier SDK versions stored
//! reads back equal, and what the binding writes reads back equal through
//! serde (what the server and the native core read). Plain Rust: the
//! conversions and the JSON codec have no browser in them. Needs the
//! `rules` feature (`make unit` runs with all features).
#![cfg(feature = "rules")]

use cartsync::convert::{json::Read, rules, stored, wire};
use cartsync::json::Json;
use cartsync_core::engine::{ServerCart, Settled, StoredMutation, TokenRecord};
use cartsync_core::protocol::v1::{CartView, ConflictResponse, CreateCartResponse, MutationsResponse};
use cartsync_core::protocol::v1::{LineView, MutationsRequest};
use cartsync_core::{decide_batch, Cart, Limits};
use cartsync_core::{
    merge, rebase, BatchDecision, Command, Coupon, ErrorBody, MergeReport, Money, Mutation, MutationResult,
    MutationStatus, Options, Reconciliation, Sku, Totals,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// `value` written by serde (what the server sends and what earlier
/// SDK versions stored) reads back equal through the hand-written
/// reader, and the hand-written writer's JSON reads back equal through
/// serde (what the server and the native core read).
fn agrees<T>(value: &T, read: fn(&Json) -> Read<T>, write: fn(&T) -> Json)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let by_serde = serde_json::to_string(value).unwrap();
    let parsed = Json::parse(&by_serde).unwrap();
    assert_eq!(read(&parsed).as_ref(), Ok(value), "read {by_serde}");
    let by_hand = write(value).text();
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

#[test]
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

#[test]
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
    let parsed = Json::parse(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(wire::mutations_response(&parsed), Ok(ok));
    let conflict = ConflictResponse {
        code: "version_conflict".into(),
        message: "stale".into(),
        cart: cart_view(),
        results,
    };
    let parsed = Json::parse(&serde_json::to_string(&conflict).unwrap()).unwrap();
    assert_eq!(wire::conflict(&parsed), Ok(conflict));
    let created = CreateCartResponse {
        token: "tok".into(),
        cart: cart_view(),
    };
    let parsed = Json::parse(&serde_json::to_string(&created).unwrap()).unwrap();
    assert_eq!(wire::created(&parsed), Ok(created));
    let missing = Json::parse(r#"{"cart":{"version":1}}"#).unwrap();
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
    let body = wire::mutations_request_js(&mutations).text();
    let request: MutationsRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(request.mutations, mutations);
    let body = wire::checkout_request_js(&Money::new(1234, "EUR")).text();
    assert_eq!(body, r#"{"expected_total":{"amount":1234,"currency":"EUR"}}"#);
}

fn from_hand<T: DeserializeOwned>(json: Json) -> T {
    let text = json.text();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
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
    let parsed = Json::parse(&serde_json::to_string(&records).unwrap()).unwrap();
    let read = rules::records(&parsed).unwrap();
    let _ = &parsed;
    assert_eq!(read.0.into_iter().collect::<BTreeMap<_, _>>(), records);
    // The same batch again, with those records: every mutation is a
    // duplicate (or, reused with another command, refused).
    let again = cartsync::rules::apply_batch(
        &serde_json::to_string(&anonymous).unwrap(),
        &serde_json::to_string(&batch).unwrap(),
        &serde_json::to_string(&records).unwrap(),
        5.0,
    );
    let again = Json::parse(&again)
        .unwrap()
        .get("ok")
        .cloned()
        .unwrap_or_else(|| panic!("{again}"));
    let again: BatchDecision = from_hand(again);
    assert_eq!(again.results.len(), decision.results.len());
    assert!(
        again.results.iter().all(|r| r.status == MutationStatus::Duplicate),
        "{again:?}"
    );
}

#[test]
fn pure_rules_are_exported_with_wire_shapes() {
    use cartsync::rules::{apply_batch, merge_carts, rebase_pending, validate_command};
    use serde_json::{json, Value};
    // Each rule takes JSON text and answers `{"ok": value}` or `{"error": ...}`.
    let answer = |text: String| -> Value { serde_json::from_str(&text).unwrap() };
    let account = r#"{"version":3,"lines":[{"sku":"tee","options":{"size":"M"},"quantity":998}]}"#;
    let anon = r#"{"version":1,"lines":[{"sku":"tee","options":{"size":"M"},"quantity":5}],"coupons":[{"code":"A","state":"applied"}]}"#;
    let merged = answer(merge_carts(account, anon));
    assert_eq!(merged["ok"]["cart"]["lines"][0]["quantity"], json!(999));
    assert_eq!(merged["ok"]["report"]["summed"][0]["excess"], json!(4));
    assert_eq!(merged["ok"]["cart"]["coupons"][0]["state"], json!("pending"));

    let err = answer(validate_command(r#"{"type":"add_item","sku":"a b","quantity":1}"#));
    assert_eq!(err["error"]["code"], json!("invalid_sku"));
    assert_eq!(answer(validate_command(r#"{"type":"clear"}"#)), json!({"ok": null}));
    let err = answer(validate_command("[]"));
    assert_eq!(err["error"]["code"], json!("bad_request"));

    let batch = r#"[{"id":"00000000-0000-4000-8000-000000000001","base_version":null,"command":{"type":"add_item","sku":"mug","quantity":2}}]"#;
    let decided = answer(apply_batch(r#"{"version":0}"#, batch, "null", 7.0));
    assert_eq!(decided["ok"]["cart"]["version"], json!(1));
    assert_eq!(decided["ok"]["results"][0]["status"], json!("applied"));
    assert_eq!(decided["ok"]["events"][0]["at"], json!(7));
    let err = answer(apply_batch(r#"{"lines":[]}"#, batch, "null", 7.0));
    assert_eq!(err["error"]["code"], json!("bad_request"));
    assert!(err["error"]["message"].as_str().unwrap().contains("`version`"), "{err}");

    let pending = r#"[{"id":"00000000-0000-4000-8000-000000000002","base_version":1,"command":{"type":"set_quantity","sku":"cap","quantity":2}}]"#;
    let rebased = answer(rebase_pending(r#"{"version":4}"#, pending));
    assert_eq!(rebased["ok"]["reconciliations"][0]["kind"], json!("restored"));
}

/// `view()` is the API's camelCase shape from the same writer as the wire
/// cart: no `owner` or `updated_at`, renamed fields, the sync state beside.
#[test]
fn the_view_is_camel_case() {
    use cartsync_core::engine::{Status, SyncError, View};
    let view = View {
        cart: cart_view(),
        pending: 2,
        status: Status::Error,
        last_error: Some(SyncError::Unreachable { attempts: 3 }),
    };
    let text = cartsync::convert::api::view_js(&view).text();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "coupons",
            "lastError",
            "lines",
            "pending",
            "shippingOption",
            "status",
            "totals",
            "version"
        ]
    );
    assert_eq!(v["lines"][0]["unitPrice"]["amount"], 1999);
    assert!(v["lines"][0].get("unit_price").is_none());
    assert_eq!(v["totals"]["estimatedTotal"]["amount"], 3598);
    assert_eq!(v["shippingOption"], "standard");
    assert_eq!(v["status"], "error");
    assert_eq!(v["lastError"]["code"], "network_error");
    // The wire cart from the same writer keeps its snake_case and all fields.
    let wire: CartView = serde_json::from_str(&wire::cart_view_js(&cart_view()).text()).unwrap();
    assert_eq!(wire, cart_view());
}
