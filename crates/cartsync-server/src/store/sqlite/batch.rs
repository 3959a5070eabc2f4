//! One batch commit as the writer runs it: everything serialised up front
//! on the caller's thread (the writer thread is the one thing every commit
//! waits for, so it only runs SQL), then the conditional update, the event
//! rows and the idempotency records on the writer's connection.

use super::rows::{one_row_or_conflict, to_i64};
use super::{is_constraint, Result};
use crate::store::{BatchCommit, CartId, Revision, StoreError};
use rusqlite::{params, Connection};

/// The text a SQLite revision compares; a revision of another backend
/// names no state this store holds (so the conditional update fails).
fn snapshot_text(r: &Revision) -> &str {
    match r {
        Revision::Snapshot(text) => text,
        Revision::Counter(_) => "\u{0}not a sqlite revision",
    }
}

pub(super) struct BatchJob {
    cart: CartId,
    expected_version: u64,
    expected_revision: Option<Revision>,
    version: i64,
    snapshot: Revision,
    quotes: String,
    /// version, mutation id, command, at
    events: Vec<(i64, String, String, i64)>,
    /// mutation id, record
    records: Vec<(String, String)>,
    now: i64,
}

impl BatchJob {
    /// The job and the revision it writes.
    pub(super) fn new(commit: BatchCommit<'_>) -> Result<(BatchJob, Revision)> {
        let BatchCommit {
            cart,
            expected_version,
            expected_revision,
            decision,
            quotes,
            now,
        } = commit;
        let snapshot = Revision::new(serde_json::to_string(&decision.cart)?);
        let events = decision
            .events
            .iter()
            .map(|e| {
                let body = serde_json::to_string(&e.command)?;
                Ok((to_i64(e.version), e.mutation_id.to_string(), body, to_i64(e.at)))
            })
            .collect::<Result<Vec<_>>>()?;
        let records = decision
            .records
            .iter()
            .map(|(id, record)| Ok((id.to_string(), serde_json::to_string(record)?)))
            .collect::<Result<Vec<_>>>()?;
        let job = BatchJob {
            cart,
            expected_version,
            expected_revision: expected_revision.cloned(),
            version: to_i64(decision.cart.version),
            snapshot: snapshot.clone(),
            quotes: serde_json::to_string(quotes)?,
            events,
            records,
            now: to_i64(now),
        };
        Ok((job, snapshot))
    }

    /// Runs on the writer's connection, inside the group's transaction.
    pub(super) fn run(self, tx: &Connection) -> Result<()> {
        let BatchJob {
            cart,
            expected_version,
            expected_revision,
            version,
            snapshot,
            quotes,
            events,
            records,
            now,
        } = self;
        let expected = to_i64(expected_version);
        let changed = match &expected_revision {
            None => tx
                .prepare_cached(
                    "UPDATE carts SET version = ?1, snapshot = ?2, quotes = ?3, updated_at = ?4
                     WHERE id = ?5 AND version = ?6 AND state = 'open'",
                )?
                .execute(params![version, snapshot_text(&snapshot), quotes, now, cart, expected])?,
            // Comparing the old snapshot text is a memcmp next to the
            // row's rewrite, and makes the condition exact.
            Some(old) => tx
                .prepare_cached(
                    "UPDATE carts SET version = ?1, snapshot = ?2, quotes = ?3, updated_at = ?4
                     WHERE id = ?5 AND version = ?6 AND state = 'open' AND snapshot = ?7",
                )?
                .execute(params![
                    version,
                    snapshot_text(&snapshot),
                    quotes,
                    now,
                    cart,
                    expected,
                    snapshot_text(old)
                ])?,
        };
        one_row_or_conflict(tx, changed, cart, expected_version)?;
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (cart_id, version, kind, mutation_id, body, at)
             VALUES (?1, ?2, 'mutation', ?3, ?4, ?5)",
        )?;
        for (version, id, body, at) in &events {
            stmt.execute(params![cart, version, id, body, at])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO idempotency (cart_id, mutation_id, record, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (id, record) in &records {
            match stmt.execute(params![cart, id, record, now]) {
                Ok(_) => {}
                // The id is already recorded: a concurrent batch
                // recorded it first without changing the version (all
                // its mutations were rejected), or the caller decided
                // without reading the records (service.rs, on its hot
                // copy) and this is a resend. Either way the decision
                // is stale: decide again on what is stored.
                Err(e) if is_constraint(&e) => {
                    return Err(StoreError::VersionConflict {
                        expected: expected_version,
                        found: expected_version,
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
