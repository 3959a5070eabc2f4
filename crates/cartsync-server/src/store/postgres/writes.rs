//! The PostgreSQL store's multi-statement work: an attach (one
//! transaction) and the recovery worker's consistent read of a cart's
//! replay source.

use super::connect::{classify, sqlstate};
use super::rows::*;
use super::{json, one_row_or_conflict, parse, PostgresStore, Result};
use crate::store::{CartId, EventRow, MergeCommit, MergeTarget, ReplaySource, StoreError};
use cartsync_core::{AppliedEvent, MutationId};

/// [`CartStore::commit_merge`]: one transaction over several statements;
/// a connection lost before its COMMIT rolls all of it back.
pub(super) async fn commit_merge(store: &PostgresStore, m: &MergeCommit) -> Result<CartId> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(classify)?;
    let merged = json(&m.merged)?;
    let quotes = json(&m.quotes)?;
    let now = to_i64(m.now);
    let target = match &m.target {
        MergeTarget::Existing { id, expected_version } => {
            let changed = tx
                .execute(
                    "UPDATE carts SET version = $1, snapshot = $2, quotes = $3, base_version = $1, base = $2,
                         updated_at = $4, revision = revision + 1
                     WHERE id = $5 AND version = $6 AND state = 'open'",
                    &[
                        &to_i64(m.merged.version),
                        &merged,
                        &quotes,
                        &now,
                        id,
                        &to_i64(*expected_version),
                    ],
                )
                .await
                .map_err(classify)?;
            one_row_or_conflict(&tx, changed, *id, *expected_version).await?;
            *id
        }
        MergeTarget::New { .. } => {
            let inserted = tx
                .query_one(
                    "INSERT INTO carts (owner, version, snapshot, quotes, base_version, base, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $2, $3, $5, $5) RETURNING id",
                    &[&m.merged.owner, &to_i64(m.merged.version), &merged, &quotes, &now],
                )
                .await;
            match inserted {
                Ok(row) => row.try_get(0).map_err(StoreError::backend)?,
                // Another attach created this user's account cart
                // first: the unique index on open owners refuses a
                // second; decide again.
                Err(e) if sqlstate(&e) == Some("23505") => {
                    return Err(StoreError::VersionConflict { expected: 0, found: 0 })
                }
                Err(e) => return Err(classify(e)),
            }
        }
    };
    let changed = tx
        .execute(
            "UPDATE carts SET state = 'merged', merged_into = $1, updated_at = $2, revision = revision + 1,
                 merge_report = $5
             WHERE id = $3 AND version = $4 AND state = 'open'",
            &[
                &target,
                &now,
                &m.anonymous,
                &to_i64(m.anonymous_version),
                &json(&m.report)?,
            ],
        )
        .await
        .map_err(classify)?;
    one_row_or_conflict(&tx, changed, m.anonymous, m.anonymous_version).await?;
    // The anonymous cart's mutations live on in the account cart: a
    // client resending one whose answer it lost must get `duplicate`
    // there, not a second application.
    tx.execute(
        "INSERT INTO idempotency (cart_id, mutation_id, record, created_at)
         SELECT $1, mutation_id, record, created_at FROM idempotency WHERE cart_id = $2
         ON CONFLICT DO NOTHING",
        &[&target, &m.anonymous],
    )
    .await
    .map_err(classify)?;
    let event = EventRow {
        version: m.merged.version,
        kind: "merge".into(),
        mutation_id: None,
        command: None,
        merge_report: Some(m.report.clone()),
        at: m.now,
    };
    tx.execute(
        "INSERT INTO events (cart_id, version, kind, mutation_id, body, at) VALUES ($1, $2, 'merge', NULL, $3, $4)",
        &[&target, &to_i64(event.version), &event_body(&event)?, &now],
    )
    .await
    .map_err(classify)?;
    tx.execute(
        "INSERT INTO cart_tokens (hash, cart_id, created_at) VALUES ($1, $2, $3)",
        &[&&m.token_hash[..], &target, &now],
    )
    .await
    .map_err(classify)?;
    tx.commit().await.map_err(classify)?;
    Ok(target)
}

/// [`CartStore::replay_source`].
pub(super) async fn replay_source(store: &PostgresStore, cart: CartId) -> Result<ReplaySource> {
    let mut client = store.client().await?;
    // One snapshot for both reads: the events and the snapshot agree.
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(classify)?;
    let row = tx
        .query_opt("SELECT base_version, base, snapshot FROM carts WHERE id = $1", &[&cart])
        .await
        .map_err(classify)?
        .ok_or(StoreError::NotFound)?;
    let base_version: i64 = row.try_get(0).map_err(StoreError::backend)?;
    let rows = tx
        .query(
            "SELECT version, mutation_id, body, at FROM events
             WHERE cart_id = $1 AND version > $2 AND kind = 'mutation' ORDER BY version",
            &[&cart, &base_version],
        )
        .await
        .map_err(classify)?;
    let mut events = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: Option<uuid::Uuid> = r.try_get(1).map_err(StoreError::backend)?;
        events.push(AppliedEvent {
            version: to_u64(r.try_get(0).map_err(StoreError::backend)?),
            mutation_id: MutationId(id.ok_or(StoreError::NotFound)?),
            command: parse(r.try_get::<_, &str>(2).map_err(StoreError::backend)?)?,
            at: to_u64(r.try_get(3).map_err(StoreError::backend)?),
        });
    }
    let source = ReplaySource {
        base: parse(row.try_get::<_, &str>(1).map_err(StoreError::backend)?)?,
        events,
        snapshot: parse(row.try_get::<_, &str>(2).map_err(StoreError::backend)?)?,
    };
    tx.commit().await.map_err(classify)?;
    Ok(source)
}
