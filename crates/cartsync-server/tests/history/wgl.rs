//! A linearizability checker: Wing & Gong's search with Lowe's memoisation
//! (the algorithm of Knossos and Porcupine), over any sequential model.
//!
//! A history is a set of operations, each with the instant it was invoked
//! and the instant its answer came (`None`: no answer ever came, the
//! outcome is unknown). It is linearizable when some total order of the
//! operations respects real time (an operation that returned before
//! another was invoked comes first) and, replayed through the model from
//! its initial state, gives every answered operation the answer it got.
//! An unanswered operation may take effect at any point after its
//! invocation, or never (it is then ordered after everything, where its
//! effect is seen by nothing).

use std::collections::HashSet;
use std::hash::Hash;

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash;
    type Input;
    type Output;
    /// The state after `input` if `output` is what it answers there
    /// (`None` for an unanswered operation: any answer), else `None`.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;
}

/// One operation of a history. Times are any monotonic clock's ticks.
#[derive(Debug, Clone)]
pub struct Op<I, O> {
    pub invoked: u64,
    /// `None`: no answer came.
    pub returned: Option<u64>,
    pub input: I,
    /// Ignored when `returned` is `None`.
    pub output: Option<O>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    op: usize,
    is_call: bool,
    prev: Option<usize>,
    next: Option<usize>,
}

/// The verdict, with how many states the search visited.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub linearizable: bool,
    pub explored: usize,
    /// The search stopped at its budget: no verdict (`linearizable` is
    /// false, and means nothing).
    pub undecided: bool,
}

/// Checks `history` against `model` from `init`. `budget` bounds the
/// states explored: past it the search stops and says it could not decide
/// (a verdict would be a guess).
pub fn check<M: Model>(model: &M, init: M::State, history: &[Op<M::Input, M::Output>], budget: usize) -> Verdict {
    let n = history.len();
    if n == 0 {
        return Verdict {
            linearizable: true,
            explored: 0,
            undecided: false,
        };
    }
    // Entries in time order; at equal instants calls come first, so
    // operations that touch are treated as concurrent (never falsely
    // ordered).
    let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in history.iter().enumerate() {
        order.push((op.invoked, true, i));
        order.push((op.returned.unwrap_or(u64::MAX), false, i));
    }
    order.sort_by_key(|(t, is_call, i)| (*t, !*is_call, *i));
    let mut entries: Vec<Entry> = order
        .iter()
        .map(|(_, is_call, op)| Entry {
            op: *op,
            is_call: *is_call,
            prev: None,
            next: None,
        })
        .collect();
    let len = entries.len();
    for (i, e) in entries.iter_mut().enumerate() {
        e.prev = i.checked_sub(1);
        e.next = (i + 1 < len).then_some(i + 1);
    }
    let mut ret_of = vec![0usize; n];
    for (idx, e) in entries.iter().enumerate() {
        if !e.is_call {
            ret_of[e.op] = idx;
        }
    }
    // A sentinel head before the first entry.
    let mut head: Option<usize> = Some(0);
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, M::State)> = HashSet::new();
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = init;
    let mut cursor = head;
    let mut explored = 0usize;

    // Removes an operation's call and return entries from the list.
    fn lift(entries: &mut [Entry], head: &mut Option<usize>, call: usize, ret: usize) {
        for idx in [call, ret] {
            let (prev, next) = (entries[idx].prev, entries[idx].next);
            match prev {
                Some(p) => entries[p].next = next,
                None => *head = next,
            }
            if let Some(nx) = next {
                entries[nx].prev = prev;
            }
        }
    }
    // Puts them back (in reverse order of removal).
    fn unlift(entries: &mut [Entry], head: &mut Option<usize>, call: usize, ret: usize) {
        for idx in [ret, call] {
            let (prev, next) = (entries[idx].prev, entries[idx].next);
            match prev {
                Some(p) => entries[p].next = Some(idx),
                None => *head = Some(idx),
            }
            if let Some(nx) = next {
                entries[nx].prev = Some(idx);
            }
        }
    }

    loop {
        let Some(idx) = cursor else {
            // Every remaining entry was tried and nothing fits: only
            // possible when the list is empty (handled below) or after a
            // backtrack; treat as a return entry reached.
            unreachable!("the cursor never runs off the list while entries remain");
        };
        let e = entries[idx];
        if e.is_call {
            let op = &history[e.op];
            let output = op.returned.and(op.output.as_ref());
            let answered_but_no_output = op.returned.is_some() && op.output.is_none();
            let next_state = if answered_but_no_output {
                None
            } else {
                model.step(&state, &op.input, output)
            };
            let mut advanced = false;
            if let Some(next_state) = next_state {
                let mut bits = linearized.clone();
                bits[e.op / 64] |= 1 << (e.op % 64);
                explored += 1;
                if explored > budget {
                    return Verdict {
                        linearizable: false,
                        explored,
                        undecided: true,
                    };
                }
                if cache.insert((bits.clone(), next_state.clone())) {
                    stack.push((idx, state.clone()));
                    state = next_state;
                    linearized = bits;
                    lift(&mut entries, &mut head, idx, ret_of[e.op]);
                    advanced = true;
                }
            }
            if advanced {
                if head.is_none() {
                    return Verdict {
                        linearizable: true,
                        explored,
                        undecided: false,
                    };
                }
                cursor = head;
            } else {
                cursor = e.next;
            }
        } else {
            // A return entry whose operation is not linearized yet: the
            // current prefix cannot be extended; backtrack.
            let Some((call_idx, previous)) = stack.pop() else {
                return Verdict {
                    linearizable: false,
                    explored,
                    undecided: false,
                };
            };
            let op = entries[call_idx].op;
            state = previous;
            linearized[op / 64] &= !(1 << (op % 64));
            unlift(&mut entries, &mut head, call_idx, ret_of[op]);
            cursor = entries[call_idx].next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register: write(v) answers nothing, read answers the value.
    struct Register;

    #[derive(Clone, Debug)]
    enum RegOp {
        Write(u32),
        Read,
    }

    impl Model for Register {
        type State = u32;
        type Input = RegOp;
        type Output = u32;
        fn step(&self, state: &u32, input: &RegOp, output: Option<&u32>) -> Option<u32> {
            match input {
                RegOp::Write(v) => Some(*v),
                RegOp::Read => match output {
                    None => Some(*state),
                    Some(o) if o == state => Some(*state),
                    Some(_) => None,
                },
            }
        }
    }

    fn op(invoked: u64, returned: Option<u64>, input: RegOp, output: u32) -> Op<RegOp, u32> {
        Op {
            invoked,
            returned,
            input,
            output: Some(output),
        }
    }

    fn lin(history: &[Op<RegOp, u32>]) -> bool {
        check(&Register, 0, history, 1_000_000).linearizable
    }

    #[test]
    fn sequential_histories() {
        assert!(lin(&[]));
        assert!(lin(&[
            op(0, Some(1), RegOp::Write(1), 0),
            op(2, Some(3), RegOp::Read, 1)
        ]));
        // A read after a completed write that misses it.
        assert!(!lin(&[
            op(0, Some(1), RegOp::Write(1), 0),
            op(2, Some(3), RegOp::Read, 0)
        ]));
    }

    #[test]
    fn concurrent_operations_may_take_either_order() {
        // The read overlaps the write: 0 and 1 are both fine.
        for seen in [0, 1] {
            assert!(lin(&[
                op(0, Some(10), RegOp::Write(1), 0),
                op(5, Some(6), RegOp::Read, seen)
            ]));
        }
        assert!(!lin(&[
            op(0, Some(10), RegOp::Write(1), 0),
            op(5, Some(6), RegOp::Read, 2)
        ]));
    }

    #[test]
    fn real_time_order_is_respected() {
        // Two reads in sequence see 1 then 0 while one write of 1 is in
        // flight: once 1 was seen, a later read cannot see 0.
        let h = [
            op(0, Some(100), RegOp::Write(1), 0),
            op(10, Some(20), RegOp::Read, 1),
            op(30, Some(40), RegOp::Read, 0),
        ];
        assert!(!lin(&h));
        // In the other order it is fine.
        let h = [
            op(0, Some(100), RegOp::Write(1), 0),
            op(10, Some(20), RegOp::Read, 0),
            op(30, Some(40), RegOp::Read, 1),
        ];
        assert!(lin(&h));
    }

    #[test]
    fn unanswered_operations_may_apply_or_not() {
        // A write that never answered may explain a read...
        let h = [op(0, None, RegOp::Write(7), 0), op(5, Some(6), RegOp::Read, 7)];
        assert!(lin(&h));
        // ...or never have happened.
        let h = [op(0, None, RegOp::Write(7), 0), op(5, Some(6), RegOp::Read, 0)];
        assert!(lin(&h));
        // But it cannot act before it was invoked.
        let h = [op(10, None, RegOp::Write(7), 0), op(0, Some(5), RegOp::Read, 7)];
        assert!(!lin(&h));
    }

    #[test]
    fn the_classic_non_linearizable_register_history() {
        // Jepsen's example: w(1) completes; concurrent r → 1 and r → 0
        // where the 0 read starts after the 1 read finished.
        let h = [
            op(0, Some(5), RegOp::Write(1), 0),
            op(6, Some(20), RegOp::Write(2), 0),
            op(7, Some(8), RegOp::Read, 2),
            op(9, Some(10), RegOp::Read, 1),
        ];
        assert!(!lin(&h));
    }

    #[test]
    fn many_concurrent_writes_stay_within_budget() {
        // 12 overlapping writes and a final read of one of them: the
        // memoisation keeps this to subsets × last writer, not 12! orders.
        let mut h: Vec<_> = (0..12)
            .map(|i| op(i, Some(100 + i), RegOp::Write(i as u32 + 1), 0))
            .collect();
        h.push(op(200, Some(201), RegOp::Read, 7));
        let v = check(&Register, 0, &h, 2_000_000);
        assert!(v.linearizable);
        assert!(v.explored < 100_000, "{v:?}");
        h.push(op(300, Some(301), RegOp::Read, 99));
        assert!(!check(&Register, 0, &h, 2_000_000).linearizable);
    }

    #[test]
    fn a_search_past_its_budget_says_it_could_not_decide() {
        let h: Vec<_> = (0..12)
            .map(|i| op(i, Some(100 + i), RegOp::Write(i as u32 + 1), 0))
            .collect();
        let v = check(&Register, 0, &h, 5);
        assert!(v.undecided && !v.linearizable, "{v:?}");
        assert_eq!(v.explored, 6);
    }
}
