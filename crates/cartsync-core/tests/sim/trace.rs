//! One-line renderings of actions and replies for the failure trace.

use super::authority::Reply;
use cartsync_core::engine::{Action, Request, Response};

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
        Action::Send(Request::CreateCart { id }) => format!("send {id} create"),
        Action::Send(Request::Mutations { id, token, body }) => format!(
            "send {id} {token} [{}]",
            body.mutations
                .iter()
                .map(|m| format!("{}@{:?}", &m.id.to_string()[..8], m.base_version))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Action::ScheduleTimer { at } => format!("timer {at}"),
        Action::ViewChanged(v) => format!("view v{} pending {} {:?}", v.cart.version, v.pending, v.status),
        Action::Emit(e) => format!("event {e:?}").chars().take(140).collect(),
    }
}

pub fn short_reply(reply: &Reply) -> String {
    match reply {
        Reply::Answer(r) => match r.as_ref() {
            Response::Created(c) => format!("created {}", c.token),
            Response::Mutations(m) => format!("200 v{} {:?}", m.cart.version, statuses(&m.results)),
            Response::Conflict(c) => format!("409 v{} {:?}", c.cart.version, statuses(&c.results)),
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
