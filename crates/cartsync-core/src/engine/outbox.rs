//! The pending outbox: mutations not yet acknowledged, in a total order that
//! every tab computes the same way (issue time, then id).

use super::types::StoredMutation;
use crate::command::Mutation;
use crate::model::MutationId;
use crate::prelude::*;
use alloc::collections::VecDeque;

/// How many removed ids an outbox remembers. Storage events lag by
/// seconds at most, so this bounds memory without forgetting too early.
const FORGET_AFTER: usize = 1024;

/// Pending mutations ordered by `(created_at, id)`. Ids are unique: adding
/// one that is already there replaces it (a tab may write a record again).
///
/// It also remembers the ids it removed recently: a storage event announcing
/// a mutation can reach a tab after that tab itself acknowledged and removed
/// it (no later event would then remove it again), so such a late
/// announcement must not bring it back.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    items: Vec<StoredMutation>,
    removed: VecDeque<MutationId>,
    /// Counts changes to `items`, so the engine knows when its optimistic
    /// view was computed from an outbox that has changed since.
    revision: u64,
}

/// Two outboxes are equal when they hold the same records in the same
/// order, whatever their history.
impl PartialEq for Outbox {
    fn eq(&self, other: &Outbox) -> bool {
        self.items == other.items
    }
}

impl Eq for Outbox {}

impl Outbox {
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Inserts (or replaces) a record at its place in the order, unless
    /// its id was removed before (see the type's docs). Returns whether it
    /// was inserted.
    pub fn insert(&mut self, record: StoredMutation) -> bool {
        if self.removed.contains(&record.mutation.id) {
            return false;
        }
        self.revision += 1;
        self.items.retain(|r| r.mutation.id != record.mutation.id);
        let key = (record.created_at, record.mutation.id);
        let at = self.items.partition_point(|r| (r.created_at, r.mutation.id) < key);
        self.items.insert(at, record);
        true
    }

    /// Whether `id` was removed here (and is still remembered as such).
    pub fn was_removed(&self, id: &MutationId) -> bool {
        self.removed.contains(id)
    }

    /// Removes a record for good; returns it if it was there.
    pub fn remove(&mut self, id: &MutationId) -> Option<StoredMutation> {
        if !self.removed.contains(id) {
            if self.removed.len() >= FORGET_AFTER {
                self.removed.pop_front();
            }
            self.removed.push_back(*id);
        }
        let at = self.items.iter().position(|r| r.mutation.id == *id)?;
        self.revision += 1;
        Some(self.items.remove(at))
    }

    /// Drops every record (to reload them from storage), remembering what
    /// was removed.
    pub fn clear(&mut self) {
        self.revision += 1;
        self.items.clear();
    }

    /// Changes so far (see the field).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The newest record, if it is the last in order (an issued command).
    pub fn last(&self) -> Option<&StoredMutation> {
        self.items.last()
    }

    pub fn contains(&self, id: &MutationId) -> bool {
        self.items.iter().any(|r| r.mutation.id == *id)
    }

    pub fn get(&self, id: &MutationId) -> Option<&StoredMutation> {
        self.items.iter().find(|r| r.mutation.id == *id)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredMutation> {
        self.items.iter()
    }

    /// The mutations in order (for rebasing the view).
    pub fn mutations(&self) -> Vec<Mutation> {
        self.items.iter().map(|r| r.mutation.clone()).collect()
    }

    /// Removes and returns every record created at or before `cutoff`.
    pub fn take_created_before(&mut self, cutoff: u64) -> Vec<StoredMutation> {
        let split = self.items.partition_point(|r| r.created_at <= cutoff);
        if split > 0 {
            self.revision += 1;
        }
        let taken: Vec<StoredMutation> = self.items.drain(..split).collect();
        for r in &taken {
            self.remove(&r.mutation.id);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;

    fn rec(n: u8, at: u64) -> StoredMutation {
        StoredMutation {
            mutation: Mutation {
                id: MutationId::from_random_bytes([n; 16]),
                base_version: None,
                command: Command::add("a", 1),
            },
            created_at: at,
            settled: None,
        }
    }

    #[test]
    fn orders_by_time_then_id_whatever_the_insertion_order() {
        let mut a = Outbox::new();
        let mut b = Outbox::new();
        for r in [rec(3, 10), rec(1, 20), rec(2, 10)] {
            a.insert(r);
        }
        for r in [rec(1, 20), rec(2, 10), rec(3, 10)] {
            b.insert(r);
        }
        assert_eq!(a, b);
        let times: Vec<u64> = a.iter().map(|r| r.created_at).collect();
        assert_eq!(times, vec![10, 10, 20]);
    }

    #[test]
    fn insert_replaces_and_remove_reports() {
        let mut o = Outbox::new();
        o.insert(rec(1, 10));
        o.insert(rec(1, 10));
        assert_eq!(o.len(), 1);
        assert!(o.remove(&rec(1, 10).mutation.id).is_some());
        assert!(o.remove(&rec(1, 10).mutation.id).is_none());
        assert!(o.is_empty());
    }

    #[test]
    fn a_removed_id_does_not_come_back() {
        let mut o = Outbox::new();
        o.insert(rec(1, 10));
        o.remove(&rec(1, 10).mutation.id);
        o.clear();
        assert!(!o.insert(rec(1, 10)), "a late announcement of a settled mutation");
        assert!(o.is_empty());
    }

    #[test]
    fn takes_the_old_ones() {
        let mut o = Outbox::new();
        for r in [rec(1, 10), rec(2, 20), rec(3, 30)] {
            o.insert(r);
        }
        assert_eq!(o.take_created_before(20).len(), 2);
        assert_eq!(o.len(), 1);
    }
}
