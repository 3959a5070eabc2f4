//! Who sends where Web Locks are missing: a lease in storage
//! ([`super::LEASE_KEY`]), held by one tab's random id until an expiry,
//! renewed every third of its length while the tab lives, given up on
//! close, and taken by the next tab that finds it free or expired. Two tabs
//! racing for a free lease may both send for a moment; the authority's
//! idempotency keeps that harmless, and the next check leaves one holder
//! (the last write wins in storage, and each tab reads it back).

use super::types::{Action, Lease};
use super::Engine;
use crate::prelude::*;

/// This tab's part in the lease.
#[derive(Debug, Clone)]
pub(super) struct LeaseState {
    /// This tab's id, as written in the lease.
    tab: String,
    /// Whether this tab wrote the lease last time it looked.
    pub holding: bool,
    /// Until when this tab's own lease runs: past it, this tab does not act
    /// as the leader (another tab may have taken over while this one's
    /// timers were throttled), until it has renewed.
    until: u64,
}

impl Engine {
    /// Whether this tab may act as the leader now: it holds the Web Lock,
    /// or a lease that has not run out.
    pub(super) fn leads(&self, now: u64) -> bool {
        self.leader && self.lease.as_ref().is_none_or_valid(now)
    }

    /// Leads by the lease instead of a Web Lock: `tab` is this tab's random
    /// id, `stored` the lease as storage holds it now.
    pub fn use_lease(&mut self, tab: String, stored: Option<Lease>, now: u64) -> Vec<Action> {
        self.lease = Some(LeaseState {
            tab,
            holding: false,
            until: 0,
        });
        self.on_lease(stored, now)
    }

    /// The lease as storage holds it now: read when the check this engine
    /// scheduled is due, and when another tab wrote or removed it. Takes
    /// or renews it when it is free, expired or this tab's; otherwise
    /// follows. Schedules the next check.
    pub fn on_lease(&mut self, stored: Option<Lease>, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(state) = &mut self.lease else {
            return actions;
        };
        if self.faults.outdated {
            // Stepped aside for good (see `faults.rs`): no more checks.
            return actions;
        }
        let free = match &stored {
            None => true,
            Some(lease) => lease.holder == state.tab || lease.until <= now,
        };
        let lease_ms = self.config.lease_ms;
        if free {
            state.holding = true;
            state.until = now.saturating_add(lease_ms);
            actions.push(Action::PersistLease(Lease {
                holder: state.tab.clone(),
                until: state.until,
            }));
            if !self.leader {
                // The binding reads storage and calls `leadership_gained`.
                actions.push(Action::Lead);
            }
        } else {
            state.holding = false;
            if self.leader {
                actions.extend(self.leadership_lost(now));
            }
        }
        let next = match stored.filter(|_| !free) {
            // Look again when the holder's lease runs out (it renews
            // before then, which pushes this on).
            Some(lease) => lease.until.min(now.saturating_add(lease_ms / 3)),
            None => now.saturating_add(lease_ms / 3),
        };
        actions.push(Action::ScheduleLeaseCheck { at: next.max(now + 1) });
        // A renewed lease may let what waited on it go.
        self.finish(now, &mut actions);
        actions
    }
}

trait LeaseValid {
    fn is_none_or_valid(&self, now: u64) -> bool;
}

impl LeaseValid for Option<&LeaseState> {
    fn is_none_or_valid(&self, now: u64) -> bool {
        match self {
            None => true,
            Some(state) => state.holding && now < state.until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Config, Persisted};

    fn engine() -> Engine {
        Engine::restore(Config::default(), Persisted::default(), 0).0
    }

    fn wrote(actions: &[Action]) -> Option<&Lease> {
        actions.iter().find_map(|a| match a {
            Action::PersistLease(l) => Some(l),
            _ => None,
        })
    }

    #[test]
    fn a_free_lease_is_taken_and_renewed_then_followed_when_another_holds_it() {
        let mut e = engine();
        let a = e.use_lease("tab-a".into(), None, 100);
        assert_eq!(wrote(&a).map(|l| (l.holder.as_str(), l.until)), Some(("tab-a", 5_100)));
        assert!(a.contains(&Action::Lead));
        e.leadership_gained(Persisted::default(), 100);
        // Its own lease, renewed, no second Lead.
        let mine = Lease {
            holder: "tab-a".into(),
            until: 5_100,
        };
        let a = e.on_lease(Some(mine), 1_800);
        assert_eq!(wrote(&a).map(|l| l.until), Some(6_800));
        assert!(!a.contains(&Action::Lead));
        // Another tab won a race: this one follows.
        let theirs = Lease {
            holder: "tab-b".into(),
            until: 7_000,
        };
        let a = e.on_lease(Some(theirs.clone()), 2_000);
        assert!(wrote(&a).is_none());
        assert!(!e.is_leader());
        assert!(a.contains(&Action::ScheduleLeaseCheck { at: 3_666 }));
        // Expired: taken again.
        let a = e.on_lease(Some(theirs), 7_000);
        assert!(wrote(&a).is_some() && a.contains(&Action::Lead));
    }

    #[test]
    fn close_gives_the_lease_up() {
        let mut e = engine();
        e.use_lease("tab-a".into(), None, 0);
        assert!(e.close(10).contains(&Action::RemoveLease));
        let mut f = engine();
        let held = Lease {
            holder: "tab-b".into(),
            until: 5_000,
        };
        f.use_lease("tab-a".into(), Some(held), 0);
        assert!(!f.close(10).contains(&Action::RemoveLease), "not its lease to remove");
    }
}
