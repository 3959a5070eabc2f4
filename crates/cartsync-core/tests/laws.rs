//! The laws the merge rules promise (docs/merge-rules.md), checked with
//! proptest over generated carts and commands.

use cartsync_core::{
    apply, apply_in_place, decide_batch, merge, rebase, Cart, CartError, Command, Coupon, CouponState,
    IdempotencyRecord, Limits, Line, Mutation, MutationId, MutationStatus, Options, Sku,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------- inputs

/// Anything a hostile or buggy client might send as a string.
fn wild_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9._-]{0,70}",
        Just(String::new()),
        Just("x".repeat(200)),
        Just("a\u{0}b\nc".to_string()),
        Just("é".repeat(70)),
        prop::sample::select(vec!["tee", "mug", "SAVE10", "save10", "express"]).prop_map(String::from),
    ]
}

fn wild_quantity() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -5i64..1005,
        Just(i64::MAX),
        Just(i64::MIN),
        Just(i64::from(u32::MAX) + 1),
    ]
}

fn wild_options() -> impl Strategy<Value = Options> {
    prop::collection::btree_map(wild_string(), wild_string(), 0..13).prop_map(|m| m.into_iter().collect())
}

fn wild_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (wild_string(), wild_quantity(), wild_options()).prop_map(|(s, quantity, options)| Command::AddItem {
            sku: Sku(s),
            quantity,
            options
        }),
        (wild_string(), wild_quantity(), wild_options()).prop_map(|(s, quantity, options)| Command::SetQuantity {
            sku: Sku(s),
            quantity,
            options
        }),
        (wild_string(), wild_options()).prop_map(|(s, options)| Command::RemoveItem { sku: Sku(s), options }),
        wild_string().prop_map(|code| Command::ApplyCoupon { code }),
        wild_string().prop_map(|code| Command::RemoveCoupon { code }),
        wild_string().prop_map(|option| Command::SelectShipping { option }),
        (wild_string(), wild_string())
            .prop_map(|(country, postal_code)| Command::SetDestination { country, postal_code }),
        Just(Command::Clear {}),
    ]
}

/// A cart that need not respect any limit (duplicate keys, huge quantities).
fn wild_cart() -> impl Strategy<Value = Cart> {
    let line = (wild_string(), wild_options(), any::<u32>()).prop_map(|(s, options, quantity)| Line {
        sku: Sku(s),
        options,
        quantity,
    });
    let coupon =
        (wild_string(), any::<bool>()).prop_map(|(c, a)| if a { Coupon::applied(c) } else { Coupon::pending(c) });
    (
        prop::collection::vec(line, 0..6),
        prop::collection::vec(coupon, 0..12),
        prop::option::of(wild_string()),
        any::<u64>(),
    )
        .prop_map(|(lines, coupons, shipping_option, version)| Cart {
            version,
            lines,
            coupons,
            shipping_option,
            ..Cart::default()
        })
}

/// Small limits sometimes, so the line and coupon limits are reached.
fn some_limits() -> impl Strategy<Value = Limits> {
    (1usize..6, prop::sample::select(vec![5u32, 999]), 1usize..4).prop_map(|(max_lines, max_quantity, max_coupons)| {
        Limits {
            max_lines,
            max_quantity,
            max_coupons,
            ..Limits::default()
        }
    })
}

/// Line keys from a small pool, so carts share keys and differ by options.
fn key() -> impl Strategy<Value = (Sku, Options)> {
    let sku = prop::sample::select(vec!["tee", "mug", "hat"]).prop_map(Sku::new);
    let size = prop::option::of(prop::sample::select(vec!["M", "L"]));
    (sku, size).prop_map(|(sku, size)| {
        let options = size.map(|s| ("size".to_string(), s.to_string())).into_iter().collect();
        (sku, options)
    })
}

/// A cart valid under `limits`: unique keys, quantities in range, within the
/// line and coupon limits.
fn valid_cart(limits: &Limits) -> impl Strategy<Value = Cart> {
    let (max_lines, max_q, max_coupons) = (limits.max_lines, limits.max_quantity, limits.max_coupons);
    let coupon_states = prop::sample::select(vec![0u8, 1, 2]);
    (
        prop::collection::vec((key(), 1..=max_q), 0..=max_lines),
        prop::collection::btree_map(
            prop::sample::select(vec!["A", "B", "C", "D"]),
            coupon_states,
            0..=max_coupons,
        ),
        prop::option::of(prop::sample::select(vec!["standard", "express"])),
        0u64..50,
    )
        .prop_map(|(lines, coupons, shipping, version)| {
            let mut cart = Cart {
                version,
                shipping_option: shipping.map(String::from),
                ..Cart::default()
            };
            for ((sku, options), quantity) in lines {
                if cart.line(&sku, &options).is_none() {
                    cart.lines.push(Line { sku, options, quantity });
                }
            }
            cart.coupons = coupons
                .into_iter()
                .map(|(code, state)| match state {
                    0 => Coupon::pending(code),
                    1 => Coupon::applied(code),
                    _ => Coupon::rejected(code, "expired"),
                })
                .collect();
            cart
        })
}

/// Mostly valid commands over the small key pool, some invalid.
fn cart_command() -> impl Strategy<Value = Command> {
    let coupon = prop::sample::select(vec!["save10", "A", "bad code"]).prop_map(String::from);
    prop_oneof![
        4 => (key(), 1i64..400).prop_map(|((sku, options), quantity)| Command::AddItem { sku, quantity, options }),
        3 => (key(), -1i64..1001).prop_map(|((sku, options), quantity)| Command::SetQuantity { sku, quantity, options }),
        2 => key().prop_map(|(sku, options)| Command::RemoveItem { sku, options }),
        1 => coupon.clone().prop_map(|code| Command::ApplyCoupon { code }),
        1 => coupon.prop_map(|code| Command::RemoveCoupon { code }),
        1 => prop::sample::select(vec!["standard", "express", "next day"])
            .prop_map(|o| Command::SelectShipping { option: o.into() }),
        1 => Just(Command::Clear {}),
    ]
}

fn id(n: usize) -> MutationId {
    MutationId::from_random_bytes((n as u128 + 1).to_be_bytes())
}

fn mutations(commands: Vec<Command>) -> Vec<Mutation> {
    commands
        .into_iter()
        .enumerate()
        .map(|(n, command)| Mutation {
            id: id(n),
            base_version: None,
            command,
        })
        .collect()
}

/// Applies commands one by one, skipping the ones that fail: what a single
/// authority receiving them in order ends up with.
fn sequential(start: &Cart, commands: &[Command], limits: &Limits) -> Cart {
    let mut cart = start.clone();
    for c in commands {
        let _ = apply_in_place(&mut cart, c, limits);
    }
    cart
}

fn quantity_of(cart: &Cart, sku: &Sku, options: &Options) -> u64 {
    cart.line(sku, options).map_or(0, |l| u64::from(l.quantity))
}

fn pending_copy(coupons: &[Coupon]) -> Vec<Coupon> {
    coupons.iter().map(|c| Coupon::pending(c.code.clone())).collect()
}

// ------------------------------------------------------------------ laws

proptest! {
    /// apply never panics, and a failed apply leaves the cart as it was.
    #[test]
    fn apply_never_panics(cart in wild_cart(), command in wild_command(), limits in some_limits()) {
        let mut after = cart.clone();
        match apply_in_place(&mut after, &command, &limits) {
            Ok(_) => prop_assert_eq!(apply(&cart, &command, &limits), Ok(after)),
            Err(e) => {
                prop_assert_eq!(&after, &cart);
                prop_assert!(CartError::CODES.contains(&e.code()));
            }
        }
    }

    /// Merge and rebase never panic either, whatever the carts hold.
    #[test]
    fn merge_and_rebase_never_panic(
        a in wild_cart(), b in wild_cart(), commands in prop::collection::vec(wild_command(), 0..6),
        limits in some_limits(),
    ) {
        let _ = merge(&a, &b, &limits);
        let _ = rebase(&a, &mutations(commands), &limits);
    }

    /// apply keeps a valid cart valid.
    #[test]
    fn apply_keeps_valid_carts_valid(
        (limits, cart) in some_limits().prop_flat_map(|l| (Just(l.clone()), valid_cart(&l))),
        commands in prop::collection::vec(cart_command(), 0..12),
    ) {
        let cart = sequential(&cart, &commands, &limits);
        prop_assert!(cart.lines.len() <= limits.max_lines);
        prop_assert!(cart.coupons.len() <= limits.max_coupons);
        let keys: BTreeSet<_> = cart.lines.iter().map(|l| (&l.sku, &l.options)).collect();
        prop_assert_eq!(keys.len(), cart.lines.len());
        for l in &cart.lines {
            prop_assert!((limits.min_quantity..=limits.max_quantity).contains(&l.quantity));
        }
    }

    /// For each line key: merged quantity = min(sum, cap), the rest is
    /// reported as excess; with the line limit reached, whole anonymous
    /// lines are reported as dropped. No unit disappears unreported.
    #[test]
    fn merge_keeps_every_unit_of_intent_up_to_the_cap(
        (limits, account, anonymous) in some_limits()
            .prop_flat_map(|l| (Just(l.clone()), valid_cart(&l), valid_cart(&l))),
    ) {
        let (cart, report) = merge(&account, &anonymous, &limits);
        let cap = u64::from(limits.max_quantity);
        let keys: BTreeSet<_> = account.lines.iter().chain(&anonymous.lines).map(|l| (&l.sku, &l.options)).collect();
        for (sku, options) in keys {
            let sum = quantity_of(&account, sku, options) + quantity_of(&anonymous, sku, options);
            let merged = quantity_of(&cart, sku, options);
            let excess: u64 = report.summed.iter()
                .filter(|s| &s.sku == sku && &s.options == options).map(|s| u64::from(s.excess)).sum();
            let dropped: u64 = report.dropped.iter()
                .filter(|d| &d.sku == sku && &d.options == options).map(|d| u64::from(d.quantity)).sum();
            prop_assert!(merged <= cap);
            prop_assert_eq!(merged + excess + dropped, sum, "key {} {:?}", sku, options);
            if dropped == 0 {
                prop_assert_eq!(merged, sum.min(cap));
            }
        }
        if report.dropped.is_empty() {
            prop_assert!(cart.lines.len() <= limits.max_lines.max(account.lines.len()));
        } else {
            prop_assert_eq!(cart.lines.len(), limits.max_lines);
        }
        prop_assert!(cart.coupons.iter().all(|c| c.state == CouponState::Pending));
    }

    /// Merging with an empty cart changes nothing but coupon states, in
    /// both directions.
    #[test]
    fn merging_with_an_empty_cart_changes_nothing(
        (limits, cart) in some_limits().prop_flat_map(|l| (Just(l.clone()), valid_cart(&l))),
        empty_version in 0u64..50, owner in prop::option::of("user-[0-9]{1,3}"),
    ) {
        let empty = Cart { version: empty_version, owner: owner.clone(), ..Cart::default() };
        let expected = Cart { coupons: pending_copy(&cart.coupons), ..cart.clone() };

        let (into_account, report) = merge(&cart, &empty, &limits);
        prop_assert_eq!(&into_account, &expected);
        prop_assert!(report.summed.is_empty() && report.added.is_empty() && !report.lost_anything());

        let (from_anonymous, report) = merge(&empty, &cart, &limits);
        prop_assert_eq!(&from_anonymous.lines, &cart.lines);
        prop_assert_eq!(&from_anonymous.coupons, &expected.coupons);
        prop_assert_eq!(&from_anonymous.shipping_option, &cart.shipping_option);
        prop_assert_eq!((from_anonymous.version, &from_anonymous.owner), (empty_version, &owner));
        prop_assert!(!report.lost_anything());
    }

    /// The same carts built with option pairs inserted in different orders
    /// merge to the same cart and report, byte for byte.
    #[test]
    fn merge_is_deterministic_regardless_of_map_order(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec!["tee", "mug"]),
                prop::collection::btree_map(
                    prop::sample::select(vec!["size", "colour", "engraving", "gift"]),
                    prop::sample::select(vec!["M", "x", "navy"]),
                    0..4,
                )
                .prop_map(|m| m.into_iter().collect::<Vec<_>>())
                .prop_flat_map(|pairs| (Just(pairs.clone()), Just(pairs).prop_shuffle())),
                1u32..600,
                any::<bool>(),
            ),
            0..8,
        ),
    ) {
        let build = |shuffled: bool| {
            let (mut account, mut anonymous) = (Cart::default(), Cart::default());
            for (sku, (pairs, shuffled_pairs), quantity, to_account) in &lines {
                let source = if shuffled { shuffled_pairs } else { pairs };
                let mut options = Options::new();
                for (k, v) in source {
                    options.insert(k.to_string(), v.to_string());
                }
                let cart = if *to_account { &mut account } else { &mut anonymous };
                let command = Command::SetQuantity { sku: Sku::new(*sku), options, quantity: i64::from(*quantity) };
                apply_in_place(cart, &command, &Limits::default()).unwrap();
            }
            (account, anonymous)
        };
        let (a1, n1) = build(false);
        let (a2, n2) = build(true);
        let l = Limits::default();
        let (m1, r1) = merge(&a1, &n1, &l);
        let (m2, r2) = merge(&a2, &n2, &l);
        prop_assert_eq!(serde_json::to_string(&(&m1, &r1)).unwrap(), serde_json::to_string(&(&m2, &r2)).unwrap());
        prop_assert_eq!((m1, r1), (m2, r2));
    }

    /// Rebasing the not-yet-acknowledged suffix onto a server cart that
    /// applied the prefix gives what sequential application of all gives.
    #[test]
    fn rebase_onto_an_applied_prefix_equals_sequential_application(
        setup in prop::collection::vec(cart_command(), 0..8),
        commands in prop::collection::vec(cart_command(), 0..12),
        split in any::<prop::sample::Index>(),
    ) {
        let l = Limits { max_lines: 4, ..Limits::default() };
        let start = sequential(&Cart::default(), &setup, &l);
        let all = mutations(commands.clone());
        let k = split.index(all.len() + 1);
        let server = decide_batch(&start, &BTreeMap::new(), &all[..k], &l, &(), 77).unwrap().cart;
        let (rebased, _) = rebase(&server, &all[k..], &l);
        let expected = sequential(&start, &commands, &l);
        prop_assert!(rebased.same_content(&expected), "rebased {:?}\nsequential {:?}", rebased, expected);
        prop_assert_eq!(rebased.version, server.version);
    }

    /// Deciding a batch again, with the first decision's records as the log,
    /// gives only duplicates of the first results and the same cart.
    #[test]
    fn deciding_a_batch_twice_only_yields_duplicates(
        (limits, cart) in some_limits().prop_flat_map(|l| (Just(l.clone()), valid_cart(&l))),
        commands in prop::collection::vec((cart_command(), prop::option::of(0u64..3)), 0..10),
    ) {
        let batch: Vec<Mutation> = commands.into_iter().enumerate().map(|(n, (command, stale))| Mutation {
            id: id(n),
            base_version: stale.map(|s| cart.version.saturating_sub(s)),
            command,
        }).collect();
        let first = decide_batch(&cart, &BTreeMap::new(), &batch, &limits, &(), 10).unwrap();
        let log: BTreeMap<MutationId, IdempotencyRecord> = first.records.iter().cloned().collect();
        let decided = &batch[..first.results.len()];
        let second = decide_batch(&first.cart, &log, decided, &limits, &(), 20).unwrap();
        prop_assert_eq!(&second.cart, &first.cart);
        prop_assert!(second.records.is_empty() && second.events.is_empty() && second.conflict.is_none());
        prop_assert_eq!(second.results.len(), first.results.len());
        for (again, once) in second.results.iter().zip(&first.results) {
            prop_assert_eq!(again.status, MutationStatus::Duplicate);
            prop_assert_eq!((again.id, again.version, &again.error), (once.id, once.version, &once.error));
        }
    }
}
