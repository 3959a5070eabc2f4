//! Checkout terms in the engine: the view judges shipping options and
//! estimates totals with the rules the server sent, refuses what the
//! authority would refuse, tells the shopper once when the selected option
//! can no longer take the bag, and a checkout answered to a tab that does
//! not send leaves moving carts to the tab that does.

use super::*;
use crate::money::Money;
use crate::protocol::v1::{CheckoutResponse, Order, OrderStatus};
use crate::shipping::{ShippingReason, ShippingRule, ShippingStatus, WeightBand};
use crate::tax::{TaxRate, TaxRules};
use crate::terms::CartRules;

fn rules() -> CartRules {
    CartRules {
        shipping: vec![
            ShippingRule {
                option: "standard".into(),
                name: "Standard".into(),
                countries: vec!["DE".into()],
                max_weight_grams: None,
                excluded_classes: vec![],
                bands: vec![WeightBand {
                    up_to_grams: None,
                    price: Money::new(490, "EUR"),
                }],
            },
            ShippingRule {
                option: "express".into(),
                name: "Express".into(),
                countries: vec!["DE".into()],
                max_weight_grams: Some(1_000),
                excluded_classes: vec![],
                bands: vec![WeightBand {
                    up_to_grams: None,
                    price: Money::new(990, "EUR"),
                }],
            },
        ],
        tax: TaxRules {
            prices_include_tax: true,
            rates: vec![TaxRate {
                country: "DE".into(),
                rate_bp: 1900,
            }],
        },
    }
}

/// The server's rendering: every line 10.00 and 400 g, the rules, terms.
fn rendered(version: u64, lines: &[(&str, u32)], shipping: Option<&str>) -> CartView {
    let mut view = cart_at(version, lines);
    for l in &mut view.lines {
        l.unit_price = Some(Money::new(1000, "EUR"));
        l.weight_grams = Some(400);
    }
    view.shipping_option = shipping.map(String::from);
    view.destination = Some(crate::Destination::parse("DE", "10115").unwrap());
    view.rules = Some(rules());
    crate::terms::derive(&mut view, &Money::zero("EUR"));
    view
}

/// A leader whose server cart is `rendered(...)`.
fn priced_leader(lines: &[(&str, u32)], shipping: Option<&str>) -> (Engine, SplitMix64) {
    let (mut e, mut rng) = leader(1, &[]);
    if let Some((req, _)) = batch(&e.refresh(1)) {
        e.on_response(req, ok_response(rendered(1, lines, shipping), vec![]), 1, &mut rng);
    }
    (e, rng)
}

fn status(e: &Engine, option: &str) -> ShippingStatus {
    let head = e.view_head();
    head.shipping_options
        .iter()
        .find(|q| q.option == option)
        .map(|q| q.status)
        .expect("judged")
}

#[test]
fn the_view_judges_options_and_estimates_totals_as_the_bag_changes() {
    let (mut e, mut rng) = priced_leader(&[("a", 1)], Some("standard"));
    assert_eq!(status(&e, "express"), ShippingStatus::Available);
    // Two more units of a known line: 1200 g, over express's 1 kg.
    issue(&mut e, Command::add("a", 2), 2, &mut rng).unwrap();
    assert_eq!(status(&e, "express"), ShippingStatus::Unavailable);
    let totals = e.view_head().totals.cloned().expect("every line is known");
    assert_eq!(totals.subtotal.amount, 3000);
    assert_eq!(totals.estimated_total.amount, 3490);
    assert_eq!(
        totals.tax.map(|t| t.amount.amount),
        Some(557),
        "34.90 holds 5.5722 at 19 %"
    );
    // A line the server has not priced yet: nothing is guessed.
    issue(&mut e, Command::add("b", 1), 3, &mut rng).unwrap();
    assert_eq!(e.view_head().totals, None);
    assert_eq!(status(&e, "standard"), ShippingStatus::Unknown);
}

#[test]
fn selecting_an_option_that_cannot_take_the_bag_is_refused_locally() {
    let (mut e, mut rng) = priced_leader(&[("a", 3)], None);
    let refused = issue(
        &mut e,
        Command::SelectShipping {
            option: "express".into(),
        },
        2,
        &mut rng,
    );
    match refused {
        Err(CartError::ShippingOptionUnavailable {
            reason:
                ShippingReason::TooHeavy {
                    weight_grams: 1200,
                    max_grams: 1000,
                },
            ..
        }) => {}
        other => panic!("expected shipping_option_unavailable, got {other:?}"),
    }
    let unknown = issue(&mut e, Command::SelectShipping { option: "drone".into() }, 2, &mut rng);
    assert_eq!(unknown.unwrap_err().code(), "unknown_shipping_option");
    assert_eq!(e.pending().len(), 0, "nothing refused was stored");
    issue(
        &mut e,
        Command::SelectShipping {
            option: "standard".into(),
        },
        3,
        &mut rng,
    )
    .unwrap();
}

#[test]
fn a_bag_that_outgrows_the_selected_option_is_told_once() {
    let (mut e, mut rng) = priced_leader(&[("a", 1)], Some("express"));
    let a = issue(&mut e, Command::add("a", 2), 2, &mut rng).unwrap();
    let told: Vec<_> = events(&a)
        .into_iter()
        .filter_map(|ev| match ev {
            Event::Reconciled { changes } => Some(changes.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        told,
        vec![vec![Reconciliation::ShippingUnavailable {
            option: "express".into(),
            cause: ShippingReason::TooHeavy {
                weight_grams: 1200,
                max_grams: 1000
            },
        }]]
    );
    assert_eq!(
        e.view_head().shipping_option,
        Some("express"),
        "never switched silently"
    );
    // The same state again says nothing new; back under the limit, then
    // over it once more, is news again.
    let a = issue(&mut e, Command::add("a", 1), 3, &mut rng).unwrap();
    assert!(!events(&a)
        .iter()
        .any(|ev| matches!(ev, Event::Reconciled { changes } if changes.iter().any(|c| matches!(c, Reconciliation::ShippingUnavailable { cause: ShippingReason::TooHeavy { weight_grams: 1200, .. }, .. })))));
    issue(&mut e, Command::set("a", 1), 4, &mut rng).unwrap();
    let a = issue(&mut e, Command::set("a", 5), 5, &mut rng).unwrap();
    assert!(events(&a).iter().any(|ev| matches!(ev, Event::Reconciled { .. })));
}

#[test]
fn a_restored_tab_does_not_announce_what_it_already_shows() {
    let server = rendered(1, &[("a", 3)], Some("express"));
    let (_, a) = Engine::restore(Config::default(), stored(T, server, vec![]), 0);
    assert!(events(&a).is_empty(), "{a:?}");
}

#[test]
fn checkout_sends_the_tax_the_shopper_saw() {
    let (mut e, mut rng) = priced_leader(&[("a", 1)], Some("standard"));
    let (_, a) = e.checkout(None, 2, &mut rng);
    let [Request {
        kind: RequestKind::Checkout { body, .. },
        ..
    }] = sends(&a)[..]
    else {
        panic!("checkout sent: {a:?}")
    };
    assert_eq!(body.expected_total, Money::new(1490, "EUR"));
    let tax = body.expected_tax.as_ref().expect("the tax the shopper saw");
    assert_eq!(
        (tax.country.as_str(), tax.rate_bp, tax.amount.amount),
        ("DE", 1900, 238)
    );
}

#[test]
fn an_order_answered_to_a_tab_that_does_not_send_is_left_to_the_sender() {
    let (mut sender, mut rng) = priced_leader(&[("a", 1)], Some("standard"));
    let (mut other, _) = Engine::restore(Config::default(), sender.persisted(), 2);
    let (op, a) = other.checkout(None, 3, &mut rng);
    let id = sends(&a)[0].id;
    let order = Order {
        id: "ord_1".into(),
        status: OrderStatus::PendingPayment,
        lines: vec![],
        coupons: vec![],
        shipping_option: Some("standard".into()),
        destination: None,
        totals: *rendered(1, &[("a", 1)], Some("standard")).totals.unwrap(),
        created_at: 3,
        hold_until: 10,
        payment: None,
    };
    let a = other.on_response(id, Response::Ordered(CheckoutResponse { order }), 4, &mut rng);
    assert!(matches!(settled(&a)[..], [(o, Outcome::Ordered(_))] if o == op));
    assert!(
        !a.iter().any(|x| matches!(x, Action::PersistToken(_))),
        "only the sender writes the token"
    );
    let marked = a
        .iter()
        .find_map(|x| match x {
            Action::PersistCheckoutKey(Some(k)) if k.ordered => Some(k.clone()),
            _ => None,
        })
        .expect("the order is marked for the sender");
    // The sender hears of it through storage and moves every tab on.
    let a = sender.on_storage(StorageChange::CheckoutKeyChanged(Some(marked)), 5);
    assert!(a.contains(&Action::PersistCheckoutKey(None)));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::PersistToken(TokenRecord { token: None, .. }))));
    assert_eq!(sender.token(), None);
}
