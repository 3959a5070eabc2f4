//! The laws of checkout terms (docs/merge-rules.md, section 10), checked
//! with proptest: tax is never negative, inclusive and exclusive prices
//! agree, and the optimistic view judges shipping options and totals as the
//! authority does.

use cartsync_core::engine::optimistic_view;
use cartsync_core::protocol::v1::CartView;
use cartsync_core::shipping::{ShippingRule, ShippingStatus, WeightBand};
use cartsync_core::tax::{tax_exclusive, tax_inclusive};
use cartsync_core::{
    rebase, terms, Cart, CartRules, Command, Coupon, CouponState, Destination, Limits, Line, Money, Mutation,
    MutationId, Options, Sku, TaxRate, TaxRules,
};
use proptest::prelude::*;

/// The test catalog: price (cents), unit weight (g), shipping class.
const PRODUCTS: [(&str, i64, u32, Option<&str>); 5] = [
    ("tee", 2500, 200, None),
    ("mug", 1600, 400, None),
    ("lamp", 5900, 1800, Some("fragile")),
    ("blanket", 8900, 2600, Some("bulky")),
    ("card", 5000, 0, None),
];

fn rules(prices_include_tax: bool) -> CartRules {
    let band = |up: Option<u32>, amount| WeightBand {
        up_to_grams: up,
        price: Money::new(amount, "EUR"),
    };
    let rule = |option: &str, countries: &[&str], max, excluded: &[&str], bands| ShippingRule {
        option: option.into(),
        name: option.into(),
        countries: countries.iter().map(|c| c.to_string()).collect(),
        max_weight_grams: max,
        excluded_classes: excluded.iter().map(|c| c.to_string()).collect(),
        bands,
    };
    CartRules {
        shipping: vec![
            rule(
                "standard",
                &["DE", "FR"],
                Some(10_000),
                &[],
                vec![band(Some(1_000), 490), band(None, 890)],
            ),
            rule(
                "express",
                &["DE"],
                Some(3_000),
                &["bulky", "fragile"],
                vec![band(None, 1490)],
            ),
            rule("freight", &[], None, &[], vec![band(Some(6_000), 2900)]),
        ],
        tax: TaxRules {
            prices_include_tax,
            rates: vec![
                TaxRate {
                    country: "DE".into(),
                    rate_bp: 1900,
                },
                TaxRate {
                    country: "FR".into(),
                    rate_bp: 2000,
                },
            ],
        },
    }
}

/// Pricing's coupon rule in these tests: 10 % off per applied coupon.
fn discount(subtotal: i64, coupons: &[Coupon]) -> i64 {
    let applied = coupons.iter().filter(|c| c.state == CouponState::Applied).count() as i64;
    subtotal * applied / 10
}

/// What the authority renders for `cart` (the server's `price_cart` in
/// miniature): catalog data on every line, pricing's coupon verdicts
/// (every coupon applies), the rules, and the core's terms.
fn render(cart: &Cart, prices_include_tax: bool) -> CartView {
    let mut view = CartView::bare(cart);
    for line in &mut view.lines {
        if let Some((_, price, weight, class)) = PRODUCTS.iter().find(|p| p.0 == line.sku.as_str()) {
            line.unit_price = Some(Money::new(*price, "EUR"));
            line.weight_grams = Some(*weight);
            line.shipping_class = class.map(String::from);
        }
    }
    for c in &mut view.coupons {
        *c = Coupon::applied(c.code.clone());
    }
    view.rules = Some(rules(prices_include_tax));
    let subtotal: i64 = view
        .lines
        .iter()
        .filter_map(|l| Some(l.unit_price.as_ref()?.amount * i64::from(l.quantity)))
        .sum();
    let off = Money::new(discount(subtotal, &view.coupons), "EUR");
    terms::derive(&mut view, &off);
    view
}

fn destination() -> impl Strategy<Value = Option<Destination>> {
    prop::option::of(prop::sample::select(vec![
        ("DE", "10115"),
        ("FR", "75001"),
        ("US", "94105"),
    ]))
    .prop_map(|d| d.map(|(c, p)| Destination::parse(c, p).expect("valid")))
}

fn server_cart() -> impl Strategy<Value = Cart> {
    let sku = prop::sample::select(vec!["tee", "mug", "lamp", "blanket", "card"]);
    (
        prop::collection::btree_map(sku, 1u32..6, 0..4),
        prop::option::of(prop::sample::select(vec!["standard", "express", "freight", "gone"])),
        destination(),
        prop::collection::vec(prop::sample::select(vec!["A", "B"]), 0..2),
        0u64..20,
    )
        .prop_map(|(lines, shipping, destination, coupons, version)| Cart {
            version,
            lines: lines
                .into_iter()
                .map(|(sku, quantity)| Line {
                    sku: Sku::new(sku),
                    options: Options::new(),
                    quantity,
                })
                .collect(),
            coupons: coupons.into_iter().map(Coupon::pending).collect(),
            shipping_option: shipping.map(String::from),
            destination,
            ..Cart::default()
        })
}

/// Pending commands, including skus the server's view has not priced yet
/// (`new`, and catalog skus the server cart lacks).
fn pending() -> impl Strategy<Value = Vec<Command>> {
    let sku = prop::sample::select(vec!["tee", "mug", "lamp", "blanket", "card", "new"]);
    let command = prop_oneof![
        (sku.clone(), 1i64..4).prop_map(|(s, q)| Command::add(s, q)),
        (sku.clone(), 0i64..4).prop_map(|(s, q)| Command::set(s, q)),
        sku.prop_map(Command::remove),
        prop::sample::select(vec!["standard", "express", "freight"])
            .prop_map(|o| Command::SelectShipping { option: o.into() }),
        prop::sample::select(vec![("de", "10115"), ("FR", "75001"), ("US", "94105")]).prop_map(|(c, p)| {
            Command::SetDestination {
                country: c.into(),
                postal_code: p.into(),
            }
        }),
    ];
    prop::collection::vec(command, 0..5)
}

fn mutations(commands: Vec<Command>) -> Vec<Mutation> {
    commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| Mutation {
            id: MutationId::from_random_bytes([i as u8; 16]),
            base_version: None,
            command,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn tax_is_never_negative(amount in any::<i64>(), rate in any::<u32>()) {
        prop_assert!(tax_exclusive(amount, rate) >= 0);
        prop_assert!(tax_inclusive(amount, rate) >= 0);
        prop_assert!(tax_inclusive(amount, rate) <= amount.max(0), "inclusive tax is part of the amount");
    }

    /// Goods at net `n` exclusive carry tax `t`; the same goods priced
    /// `n + t` inclusive carry exactly `t`. From the gross side the split
    /// agrees to the cent.
    #[test]
    fn inclusive_and_exclusive_totals_agree(net in 0i64..1_000_000_000_000, rate in 0u32..=10_000) {
        let t = tax_exclusive(net, rate);
        prop_assert_eq!(tax_inclusive(net + t, rate), t);
        let gross = net;
        let inside = tax_inclusive(gross, rate);
        prop_assert!((tax_exclusive(gross - inside, rate) - inside).abs() <= 1);
    }

    /// The totals of a rendered cart: tax never negative, the total is the
    /// goods after discount plus shipping (plus tax when prices exclude it).
    #[test]
    fn rendered_totals_add_up(cart in server_cart(), inclusive in any::<bool>()) {
        let view = render(&cart, inclusive);
        let t = view.totals.expect("rendered");
        let goods = t.subtotal.amount - t.discount.amount;
        prop_assert!(goods >= 0);
        let shipping = t.shipping.as_ref().map_or(0, |s| s.amount);
        let tax = t.tax.as_ref().map_or(0, |x| x.amount.amount);
        prop_assert!(tax >= 0);
        prop_assert_eq!(t.tax.is_some(), cart.destination.is_some());
        let added = if inclusive { 0 } else { tax };
        prop_assert_eq!(t.estimated_total.amount, goods + shipping + added);
    }

    /// The optimistic view judges every shipping option as the authority
    /// does for the same cart, or says `unknown` while a line's weight is
    /// not known to it; and whenever it estimates totals, they are the
    /// authority's.
    #[test]
    fn the_optimistic_view_never_contradicts_the_authority(
        cart in server_cart(),
        commands in pending(),
        inclusive in any::<bool>(),
    ) {
        let limits = Limits::default();
        let server = render(&cart, inclusive);
        let pending = mutations(commands);
        let optimistic = optimistic_view(Some(&server), &pending, &limits);
        let authority = render(&rebase(&cart, &pending, &limits).0, inclusive);
        prop_assert_eq!(optimistic.shipping_options.len(), authority.shipping_options.len());
        let all_known = optimistic.lines.iter().all(|l| l.weight_grams.is_some());
        for (mine, theirs) in optimistic.shipping_options.iter().zip(&authority.shipping_options) {
            if mine.status == ShippingStatus::Unknown {
                prop_assert!(!all_known, "unknown although every line is known: {:?}", mine);
            } else {
                prop_assert_eq!(mine, theirs);
            }
        }
        if let Some(estimate) = &optimistic.totals {
            prop_assert_eq!(Some(estimate), authority.totals.as_ref());
        }
        if pending.is_empty() {
            prop_assert_eq!(&optimistic.totals, &authority.totals);
            prop_assert_eq!(&optimistic.shipping_options, &authority.shipping_options);
        }
    }
}
