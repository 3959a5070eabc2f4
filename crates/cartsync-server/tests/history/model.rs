//! The cart as a sequential object, for the linearizability check: the
//! state is the core's cart, a mutation is decided by the core's
//! `decide_batch` (what the authority must have done, one mutation at a
//! time) with the server's own catalog checks when a catalog is given (a
//! shipping option the bag cannot take is refused), a read answers the
//! version and contents.

use super::wgl::Model;
use cartsync_core::{decide_batch, Cart, CommandCheck, Limits, Mutation, MutationStatus};
use cartsync_server::catalog::{CatalogCheck, DemoCatalog};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// A cart state, compared and hashed by its canonical JSON (without
/// `updated_at`, which the clients never check).
#[derive(Clone, Debug)]
pub struct State {
    pub cart: Cart,
    key: String,
}

impl State {
    pub fn new(mut cart: Cart) -> State {
        cart.updated_at = 0;
        let key = serde_json::to_string(&cart).unwrap_or_default();
        State { cart, key }
    }
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for State {}
impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.key.hash(h);
    }
}

/// What a client did.
#[derive(Clone, Debug)]
pub enum Input {
    Mutate(Mutation),
    Read,
}

/// What it was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Applied (first time or as a duplicate), at this version.
    Applied { version: u64 },
    /// Rejected, judged at this version, with this code.
    Rejected { version: u64, code: String },
    /// `409 version_conflict`: the cart was at `found`.
    Conflict { found: u64 },
    /// A read: the version and the contents (lines as sku, options,
    /// quantity; coupon codes; shipping option).
    Read { version: u64, contents: String },
}

/// The contents of a cart as a read compares them.
pub fn contents(cart: &Cart) -> String {
    let lines: Vec<_> = cart
        .lines
        .iter()
        .map(|l| (l.sku.0.clone(), l.options.clone(), l.quantity))
        .collect();
    let coupons: Vec<_> = cart.coupons.iter().map(|c| c.code.clone()).collect();
    serde_json::to_string(&(lines, coupons, &cart.shipping_option)).unwrap_or_default()
}

pub struct CartModel {
    pub limits: Limits,
    /// The catalog the servers run with; `None` accepts every SKU and
    /// shipping option.
    pub catalog: Option<std::sync::Arc<DemoCatalog>>,
}

impl Model for CartModel {
    type State = State;
    type Input = Input;
    type Output = Output;

    fn step(&self, state: &State, input: &Input, output: Option<&Output>) -> Option<State> {
        match input {
            Input::Read => match output {
                None => Some(state.clone()),
                Some(Output::Read { version, contents: c }) => {
                    (*version == state.cart.version && *c == contents(&state.cart)).then(|| state.clone())
                }
                Some(_) => None,
            },
            Input::Mutate(m) => {
                let check: &dyn CommandCheck = match &self.catalog {
                    Some(catalog) => &CatalogCheck(catalog.as_ref(), &self.limits),
                    None => &(),
                };
                let d = decide_batch(
                    &state.cart,
                    &BTreeMap::new(),
                    std::slice::from_ref(m),
                    &self.limits,
                    check,
                    0,
                )
                .ok()?;
                let (answer, next) = match (&d.conflict, d.results.first()) {
                    (Some(c), _) => (Output::Conflict { found: c.found }, state.clone()),
                    (None, Some(r)) if r.status == MutationStatus::Applied => {
                        (Output::Applied { version: r.version }, State::new(d.cart))
                    }
                    (None, Some(r)) => (
                        Output::Rejected {
                            version: r.version,
                            code: r.error.as_ref().map(|e| e.code.clone()).unwrap_or_default(),
                        },
                        state.clone(),
                    ),
                    (None, None) => return None,
                };
                match output {
                    None => Some(next),
                    Some(o) if *o == answer => Some(next),
                    Some(_) => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wgl::{check, Op};
    use super::*;
    use cartsync_core::{Command, MutationId};

    fn m(n: u8, base: Option<u64>, command: Command) -> Mutation {
        Mutation {
            id: MutationId::from_random_bytes([n; 16]),
            base_version: base,
            command,
        }
    }

    fn op(t: (u64, Option<u64>), input: Input, output: Output) -> Op<Input, Output> {
        Op {
            invoked: t.0,
            returned: t.1,
            input,
            output: Some(output),
        }
    }

    fn lin(h: &[Op<Input, Output>]) -> bool {
        let model = CartModel {
            limits: Limits::default(),
            catalog: None,
        };
        check(&model, State::new(Cart::default()), h, 1_000_000).linearizable
    }

    #[test]
    fn two_concurrent_adds_take_versions_one_and_two_in_either_order() {
        let a = m(1, None, Command::add("tee", 1));
        let b = m(2, None, Command::add("mug", 1));
        let h = [
            op((0, Some(10)), Input::Mutate(a.clone()), Output::Applied { version: 2 }),
            op((1, Some(9)), Input::Mutate(b.clone()), Output::Applied { version: 1 }),
        ];
        assert!(lin(&h));
        // Both answered version 1: one of them was applied twice or lost.
        let h = [
            op((0, Some(10)), Input::Mutate(a), Output::Applied { version: 1 }),
            op((1, Some(9)), Input::Mutate(b), Output::Applied { version: 1 }),
        ];
        assert!(!lin(&h));
    }

    #[test]
    fn a_lost_acknowledged_add_is_caught_by_a_later_read() {
        let a = m(1, None, Command::add("tee", 2));
        let empty = contents(&Cart::default());
        let h = [
            op((0, Some(1)), Input::Mutate(a), Output::Applied { version: 1 }),
            op(
                (2, Some(3)),
                Input::Read,
                Output::Read {
                    version: 1,
                    contents: empty,
                },
            ),
        ];
        assert!(!lin(&h));
    }

    #[test]
    fn a_stale_conditional_write_conflicts_and_an_unknown_one_may_or_may_not_apply() {
        let add = m(1, None, Command::add("tee", 1));
        let set = m(2, Some(0), Command::set("tee", 5));
        let h = [
            op((0, Some(1)), Input::Mutate(add.clone()), Output::Applied { version: 1 }),
            op((2, Some(3)), Input::Mutate(set.clone()), Output::Conflict { found: 1 }),
        ];
        assert!(lin(&h));
        // The same stale write answered "applied" is impossible.
        let h = [
            op((0, Some(1)), Input::Mutate(add.clone()), Output::Applied { version: 1 }),
            op((2, Some(3)), Input::Mutate(set), Output::Applied { version: 2 }),
        ];
        assert!(!lin(&h));
        // An unanswered set on the right base may be seen by a read, or not.
        let set = m(3, Some(1), Command::set("tee", 5));
        let after = Cart {
            lines: cartsync_core::apply(&Cart::default(), &Command::set("tee", 5), &Limits::default())
                .unwrap()
                .lines,
            ..Cart::default()
        };
        let unanswered = Op {
            invoked: 2,
            returned: None,
            input: Input::Mutate(set),
            output: None,
        };
        for seen in [contents(&after), {
            let one = Cart {
                lines: cartsync_core::apply(&Cart::default(), &Command::add("tee", 1), &Limits::default())
                    .unwrap()
                    .lines,
                ..Cart::default()
            };
            contents(&one)
        }] {
            let version = if seen == contents(&after) { 2 } else { 1 };
            let h = [
                op((0, Some(1)), Input::Mutate(add.clone()), Output::Applied { version: 1 }),
                unanswered.clone(),
                op(
                    (5, Some(6)),
                    Input::Read,
                    Output::Read {
                        version,
                        contents: seen,
                    },
                ),
            ];
            assert!(lin(&h));
        }
    }
}
