//! A walk through the failure modes the core settles, printed step by step:
//! a retried mutation, a stale write from another tab, rebase, and the login
//! merge. Run with `make demo` (or `cargo run -p cartsync-core --example demo`).

use cartsync_core::{
    decide_batch, merge, rebase, Cart, Command, IdempotencyLog, IdempotencyRecord, Limits, Mutation, MutationId,
    Random, Sku, SplitMix64,
};
use std::collections::BTreeMap;

/// A tiny in-memory authority: a cart and its idempotency records.
struct Authority {
    cart: Cart,
    log: BTreeMap<MutationId, IdempotencyRecord>,
}

impl Authority {
    fn send(&mut self, batch: &[Mutation], now: u64) -> bool {
        let d = decide_batch(
            &self.cart,
            &self.log as &dyn IdempotencyLog,
            batch,
            &Limits::default(),
            &(),
            now,
        )
        .expect("batch within limits");
        for r in &d.results {
            println!("    {} -> {:?} at v{}", short(&r.id), r.status, r.version);
        }
        self.log.extend(d.records.iter().cloned());
        self.cart = d.cart;
        if let Some(c) = &d.conflict {
            println!(
                "    {} -> version_conflict: built on v{}, cart is at v{}",
                short(&c.id),
                c.expected,
                c.found
            );
            return false;
        }
        true
    }
}

fn short(id: &MutationId) -> String {
    id.to_string()[..8].to_string()
}

fn show(label: &str, cart: &Cart) {
    let lines: Vec<String> = cart
        .lines
        .iter()
        .map(|l| {
            let opts: Vec<String> = l.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{}{} x{}",
                l.sku,
                if opts.is_empty() {
                    String::new()
                } else {
                    format!("[{}]", opts.join(","))
                },
                l.quantity
            )
        })
        .collect();
    let coupons: Vec<String> = cart
        .coupons
        .iter()
        .map(|c| format!("{}({:?})", c.code, c.state))
        .collect();
    println!(
        "  {label}: v{} lines [{}] coupons [{}] shipping {:?}",
        cart.version,
        lines.join(", "),
        coupons.join(", "),
        cart.shipping_option
    );
}

fn main() {
    let mut ids = SplitMix64(42);
    let mut mutation = |base: Option<u64>, command: Command| Mutation {
        id: ids.next_id(),
        base_version: base,
        command,
    };
    let mut anon = Authority {
        cart: Cart::default(),
        log: BTreeMap::new(),
    };

    println!("1. A shopper adds two items; the phone loses the response and retries the same batch.");
    let size_m: cartsync_core::Options = [("size".to_string(), "M".to_string())].into();
    let first = vec![
        mutation(
            None,
            Command::AddItem {
                sku: Sku::new("tee-black"),
                quantity: 1,
                options: size_m.clone(),
            },
        ),
        mutation(None, Command::add("mug-white", 2)),
    ];
    anon.send(&first, 1_000);
    println!("  retry of the same mutation ids:");
    anon.send(&first, 2_000);
    show("cart", &anon.cart);

    println!("\n2. Another tab removed the mug (v3); this tab, still on v2, sets its quantity to 4.");
    anon.send(&[mutation(Some(2), Command::remove("mug-white"))], 3_000);
    let stale = vec![mutation(Some(2), Command::set("mug-white", 4))];
    if !anon.send(&stale, 4_000) {
        let (view, recs) = rebase(&anon.cart, &stale, &Limits::default());
        println!(
            "  rebased on v{}: {} reconciliation(s): {:?}",
            anon.cart.version,
            recs.len(),
            recs
        );
        show("optimistic view", &view);
        let resent: Vec<Mutation> = stale
            .iter()
            .map(|m| Mutation {
                base_version: Some(anon.cart.version),
                ..m.clone()
            })
            .collect();
        anon.send(&resent, 5_000);
    }
    anon.send(
        &[mutation(
            None,
            Command::ApplyCoupon {
                code: "welcome10".into(),
            },
        )],
        6_000,
    );
    show("cart", &anon.cart);

    println!("\n3. The shopper logs in; the account already holds a black tee (M) and an L one.");
    let mut account = Cart {
        owner: Some("ada".into()),
        ..Cart::default()
    };
    let size_l: cartsync_core::Options = [("size".to_string(), "L".to_string())].into();
    for (sku, q, o) in [("tee-black", 2, size_m), ("tee-black", 1, size_l)] {
        account = cartsync_core::apply(
            &account,
            &Command::AddItem {
                sku: Sku::new(sku),
                quantity: q,
                options: o,
            },
            &Limits::default(),
        )
        .expect("valid demo command");
    }
    account.shipping_option = Some("express".into());
    show("account cart", &account);
    let (merged, report) = merge(&account, &anon.cart, &Limits::default());
    show("merged cart", &merged);
    println!(
        "  merge report: {}",
        serde_json::to_string_pretty(&report).expect("report serialises")
    );
}
