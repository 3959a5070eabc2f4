//! One-line renderings of actions and replies for the failure trace.

use super::authority::Reply;
use cartsync_core::engine::{Action, RequestKind, Response};

pub fn short(action: &Action) -> String {
    match action {
        Action::PersistMutation(r) => format!(
            "persist {} {}{}",
            &r.mutation.id.to_string()[..8],
            r.mutation.command.name(),
            if r.settled.is_some() { " (settled)" } else { "" }
        ),
        Action::RemoveMutation(id) => format!("remove {}", &id.to_string()[..8]),
        Action::PersistToken(t) => format!("token {:?} gen {}", t.token, t.generation),
        Action::PersistServerCart(c) => format!("cart {} v{}", c.token, c.cart.version),
        Action::RemoveServerCart => "remove cart".into(),
        Action::PersistUser(u) => format!("user {u:?}"),
        Action::PersistCheckoutKey(k) => format!("checkout key {k:?}"),
        Action::PersistLease(l) => format!("lease {} until {}", l.holder, l.until),
        Action::RemoveLease => "lease given up".into(),
        Action::Lead => "takes the lead".into(),
        Action::RequestBackgroundFlush => "asks for a background flush".into(),
        Action::ReadStorage => "reads storage".into(),
        Action::ReadCart => "reads the cart".into(),
        Action::ReadWorkerCopy => "reads the worker's copy".into(),
        Action::StepDown => "steps down for good".into(),
        Action::Send(r) => {
            let id = r.id.0;
            let auth = r.auth.as_deref().unwrap_or("-");
            match &r.kind {
                RequestKind::CreateCart => format!("send r{id} create"),
                RequestKind::Mutations { token, body } => format!(
                    "send r{id} {token} as {auth} [{}]",
                    body.mutations
                        .iter()
                        .map(|m| format!("{}@{:?}", &m.id.to_string()[..8], m.base_version))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                RequestKind::Attach { token } => format!("send r{id} attach {token}"),
                RequestKind::Checkout { token, key, body } => {
                    format!(
                        "send r{id} checkout {token} key {} at {}",
                        &key[..8],
                        body.expected_total.amount
                    )
                }
            }
        }
        Action::ScheduleTimer { at } => format!("timer {at}"),
        Action::ScheduleLeaseCheck { at } => format!("lease check {at}"),
        Action::Emit(e) => format!("event {e:?}").chars().take(140).collect(),
        Action::Settle { op, outcome } => format!("settle {op:?} {outcome:?}").chars().take(140).collect(),
    }
}

pub fn short_reply(reply: &Reply) -> String {
    match reply {
        Reply::Answer(r) => match r.as_ref() {
            Response::Created(c) => format!("created {}", c.token),
            Response::Mutations(m) => format!("200 v{} {:?}", m.cart.version, statuses(&m.results)),
            Response::Conflict(c) => format!("409 v{} {:?}", c.cart.version, statuses(&c.results)),
            Response::Attached(a) => format!("attached {}", a.token),
            Response::Ordered(o) => format!("ordered {}", o.order.id),
            Response::CheckoutRejected(r) => format!("409 checkout v{}", r.cart.version),
        },
        Reply::Failed(f) => format!("{f:?}"),
    }
}

fn statuses(results: &[cartsync_core::MutationResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| format!("{}:{:?}", &r.id.to_string()[..8], r.status))
        .collect()
}
