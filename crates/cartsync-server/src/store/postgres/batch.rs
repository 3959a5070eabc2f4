//! One batch commit as one SQL statement, so one round trip and, in
//! autocommit, one transaction: the conditional update of the cart row, its
//! event rows and its idempotency records. The inserts read from the
//! update's result, so nothing is inserted when the condition fails; a
//! record or event that already exists fails the whole statement (primary
//! keys), which rolls back everything it did.

use super::connect::{classify, sqlstate};
use super::rows::{to_i64, to_u64};
use crate::store::{BatchCommit, CartId, Revision, StoreError};
use deadpool_postgres::Pool;

/// The statement of one batch commit (public so the benchmark's raw limit runs
/// exactly the write the server does).
pub const COMMIT_SQL: &str = "
WITH upd AS (
    UPDATE carts SET version = $1, snapshot = $2, quotes = $3, updated_at = $4, revision = revision + 1
    WHERE id = $5 AND version = $6 AND state = 'open' AND ($7::BIGINT IS NULL OR revision = $7)
    RETURNING id, revision
), ev AS (
    INSERT INTO events (cart_id, version, kind, mutation_id, body, at)
    SELECT upd.id, e.v, 'mutation', e.m, e.b, e.a
    FROM upd, unnest($8::BIGINT[], $9::UUID[], $10::TEXT[], $11::BIGINT[]) AS e (v, m, b, a)
), rec AS (
    INSERT INTO idempotency (cart_id, mutation_id, record, created_at)
    SELECT upd.id, r.m, r.r, $4 FROM upd, unnest($12::UUID[], $13::TEXT[]) AS r (m, r)
)
SELECT (SELECT revision FROM upd), (SELECT version FROM carts WHERE id = $5)";

/// Everything the statement needs, owned (it runs on its own task).
pub(super) struct BatchRow {
    cart: CartId,
    expected_version: u64,
    expected_revision: Option<i64>,
    version: i64,
    snapshot: String,
    quotes: String,
    now: i64,
    event_versions: Vec<i64>,
    event_ids: Vec<uuid::Uuid>,
    event_bodies: Vec<String>,
    event_ats: Vec<i64>,
    record_ids: Vec<uuid::Uuid>,
    records: Vec<String>,
}

impl BatchRow {
    /// Serialises the commit (on the caller's task). `None` when it names
    /// a revision of another backend: no state this store holds.
    pub(super) fn new(c: BatchCommit<'_>) -> Result<Option<BatchRow>, StoreError> {
        let expected_revision = match c.expected_revision {
            None => None,
            Some(Revision::Counter(r)) => Some(*r),
            Some(Revision::Snapshot(_)) => return Ok(None),
        };
        let d = c.decision;
        let mut row = BatchRow {
            cart: c.cart,
            expected_version: c.expected_version,
            expected_revision,
            version: to_i64(d.cart.version),
            snapshot: json(&d.cart)?,
            quotes: json(c.quotes)?,
            now: to_i64(c.now),
            event_versions: Vec::with_capacity(d.events.len()),
            event_ids: Vec::with_capacity(d.events.len()),
            event_bodies: Vec::with_capacity(d.events.len()),
            event_ats: Vec::with_capacity(d.events.len()),
            record_ids: Vec::with_capacity(d.records.len()),
            records: Vec::with_capacity(d.records.len()),
        };
        for e in &d.events {
            row.event_versions.push(to_i64(e.version));
            row.event_ids.push(e.mutation_id.0);
            row.event_bodies.push(json(&e.command)?);
            row.event_ats.push(to_i64(e.at));
        }
        for (id, record) in &d.records {
            row.record_ids.push(id.0);
            row.records.push(json(record)?);
        }
        Ok(Some(row))
    }

    /// Runs the statement on a connection of `pool` on its own task: a
    /// request that goes away (the client disconnected) does not abandon a
    /// commit half way; it completes or fails on its own.
    pub(super) async fn commit(self, pool: Pool) -> Result<Revision, StoreError> {
        tokio::spawn(async move { self.run(&pool).await })
            .await
            .map_err(StoreError::backend)?
    }

    async fn run(self, pool: &Pool) -> Result<Revision, StoreError> {
        let client = pool.get().await.map_err(super::connect::classify_pool)?;
        let stmt = client.prepare_cached(COMMIT_SQL).await.map_err(classify)?;
        let conflict = |found| StoreError::VersionConflict {
            expected: self.expected_version,
            found,
        };
        let result = client
            .query_one(
                &stmt,
                &[
                    &self.version,
                    &self.snapshot,
                    &self.quotes,
                    &self.now,
                    &self.cart,
                    &to_i64(self.expected_version),
                    &self.expected_revision,
                    &self.event_versions,
                    &self.event_ids,
                    &self.event_bodies,
                    &self.event_ats,
                    &self.record_ids,
                    &self.records,
                ],
            )
            .await;
        let row = match result {
            Ok(row) => row,
            // A record of one of the batch's ids (or an event at one of its
            // versions) is already stored: the decision is stale (a resend,
            // or a concurrent batch recorded the id first). Decide again.
            Err(e) if sqlstate(&e) == Some("23505") => return Err(conflict(self.expected_version)),
            Err(e) => return Err(classify(e)),
        };
        let revision: Option<i64> = row.try_get(0).map_err(StoreError::backend)?;
        let found: Option<i64> = row.try_get(1).map_err(StoreError::backend)?;
        match (revision, found) {
            (Some(r), _) => Ok(Revision::Counter(r)),
            (None, Some(v)) => Err(conflict(to_u64(v))),
            (None, None) => Err(StoreError::NotFound),
        }
    }
}

/// JSON text of a value a commit stores.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(StoreError::backend)
}
