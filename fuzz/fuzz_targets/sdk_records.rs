//! The SDK's readers of what it finds in storage and what servers answer,
//! through the same serde types the browser build reads (the binding parses
//! with the browser's JSON; here serde_json drives the same Deserialize
//! impls), then the engine restored from them and handed every answer.
//!
//! Input: lines. Line 1 is the token record, 2 the stored server cart, 3 the
//! user, 4 the checkout key, 5 the lease, every further line a stored
//! mutation — or, after a line `--`, server answers as `<status> <body>`.
//! Nothing here may panic: a record that is garbage reads as absent, an
//! answer that is not protocol v1 is a failure the engine retries or
//! reports.
#![no_main]

use cartsync_core::engine::AnswerBody;
use cartsync_core::engine::{
    CheckoutKey, Config, Engine, Lease, Persisted, RequestKind, ServerCart, StorageChange, StoredMutation, TokenRecord,
};
use cartsync_core::protocol::v1::{CheckoutRequest, MutationsRequest};
use cartsync_core::{Money, SplitMix64};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

struct Json<'a>(&'a [u8]);

impl AnswerBody for Json<'_> {
    fn read<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(self.0).ok()
    }
}

fn parse<T: DeserializeOwned>(line: &[u8]) -> Option<T> {
    serde_json::from_slice(line).ok()
}

fuzz_target!(|data: &[u8]| {
    let (records, answers) = match data.windows(4).position(|w| w == b"\n--\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => (data, &[][..]),
    };
    let lines: Vec<&[u8]> = records.split(|b| *b == b'\n').collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or(b"");
    let persisted = Persisted {
        token: parse::<TokenRecord>(line(0)).unwrap_or_default(),
        server_cart: parse::<ServerCart>(line(1)),
        user: (!line(2).is_empty()).then(|| String::from_utf8_lossy(line(2)).into_owned()),
        checkout: parse::<CheckoutKey>(line(3)),
        pending: lines
            .iter()
            .skip(5)
            .filter_map(|l| parse::<StoredMutation>(l))
            .collect(),
        // What did not parse reads as absent here; the binding's own reader
        // (src/storage.rs) also reports it.
        unreadable: Vec::new(),
    };
    let lease = Lease::parse(&String::from_utf8_lossy(line(4)));
    let now = 1_800_000_000_000;
    let mut rng = SplitMix64(7);
    let (mut engine, _) = Engine::restore(Config::default(), persisted.clone(), now);
    let _ = engine.view();
    let _ = engine.use_lease("fuzz-tab".into(), lease, now);
    // Another tab wrote the same records.
    for m in &persisted.pending {
        let _ = engine.on_storage(StorageChange::MutationAdded(m.clone()), now);
    }
    if let Some(cart) = persisted.server_cart.clone() {
        let _ = engine.on_storage(StorageChange::ServerCartChanged(cart), now);
    }
    let _ = engine.leadership_gained(persisted, now);
    let _ = engine.flush(now);
    let _ = engine.on_timer(now + 60_000, &mut rng);
    let token = engine.token().unwrap_or("t").to_string();
    let kinds = [
        RequestKind::CreateCart,
        RequestKind::Mutations {
            token: token.clone(),
            body: MutationsRequest {
                mutations: engine.pending().mutations(),
            },
        },
        RequestKind::Attach { token: token.clone() },
        RequestKind::Checkout {
            token,
            key: "k".into(),
            body: CheckoutRequest {
                expected_total: Money {
                    amount: 0,
                    currency: "EUR".into(),
                },
                expected_tax: None,
            },
        },
    ];
    for answer in answers.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(answer);
        let (status, body) = text.split_once(' ').unwrap_or((&text, ""));
        let status: u16 = status.parse().unwrap_or(200);
        for kind in &kinds {
            let _ = kind.sort(status, Some(1_000), &Json(body.as_bytes()));
        }
    }
    let _ = engine.view();
});
