//! [`CartStore`] on PostgreSQL (tokio-postgres + deadpool-postgres), for
//! any number of server instances on one database: every write is
//! conditional (`WHERE id AND version AND state = 'open'`, and the row's
//! `revision` for commits decided on a cached copy), idempotency records
//! have a primary key, and each batch is one statement (`batch.rs`), so
//! READ COMMITTED suffices: a concurrent commit to the same row makes the
//! condition fail, never a lost update. Migrations are refinery's
//! (`migrations/postgres/`), run at start under an advisory lock.
//!
//! Group commit is PostgreSQL's own: concurrent transactions on a modest
//! pool are flushed together by whichever backend flushes the WAL first,
//! so there is no writer thread here coupling unrelated carts.

mod batch;
mod connect;
mod orders;
mod rows;
mod writes;

pub use batch::COMMIT_SQL as BATCH_SQL;
pub use connect::{classify, classify_pool, is_postgres_url, is_unreplicated_commit, PgOptions};

use super::{
    BatchCommit, CartHead, CartId, CartRecord, CartStore, EventApplied, EventRow, MergeCommit, NewIntent, OrderCommit,
    OrderCommitted, PassGuard, PaymentEvent, ReplaySource, Revision, StoreError, StoredOrder, TokenHash,
};
use batch::BatchRow;
use cartsync_core::protocol::v1::{Order, PaymentIntent};
use cartsync_core::{Cart, IdempotencyRecord, MergeReport, MutationId};
use deadpool_postgres::{Object, Pool};
use rows::*;
use std::collections::BTreeMap;

refinery::embed_migrations!("migrations/postgres");

type Result<T> = std::result::Result<T, StoreError>;

/// Advisory lock keys (one namespace for this application).
const MIGRATION_LOCK: i64 = 0x6361_7274_0001;
const RECOVERY_LOCK: i64 = 0x6361_7274_0002;

/// The PostgreSQL backend. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(StoreError::backend)
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(StoreError::backend)
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations not applied yet.
    pub async fn connect(url: &str, options: &PgOptions) -> Result<Self> {
        let store = PostgresStore {
            pool: connect::pool(url, options)?,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        // Instances starting together: one migrates, the others wait and
        // then find nothing left to do. The lock is the session's: it goes
        // with the connection, which is closed afterwards.
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(classify)?;
        let report = migrations::runner().run_async(&mut **client).await;
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        report.map_err(StoreError::backend)?;
        Ok(())
    }

    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(classify_pool)
    }

    /// Runs one cached statement returning rows.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(classify)?;
        client.query(&stmt, params).await.map_err(classify)
    }

    async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(classify)?;
        client.execute(&stmt, params).await.map_err(classify)
    }

    async fn cart_where(
        &self,
        condition: &str,
        param: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<Option<CartRecord>> {
        let sql = format!("SELECT {CART_COLUMNS} FROM {condition}");
        let rows = self.query(&sql, &[param]).await?;
        rows.first().map(cart_record).transpose()
    }

    /// The pool, for this backend's inventory (same database).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// `Ok` when a conditional update touched its row; otherwise the cart
/// moved on, was closed or merged: a `VersionConflict` with its version.
async fn one_row_or_conflict(
    tx: &deadpool_postgres::Transaction<'_>,
    changed: u64,
    id: CartId,
    expected: u64,
) -> Result<()> {
    if changed == 1 {
        return Ok(());
    }
    let row = tx
        .query_opt("SELECT version FROM carts WHERE id = $1", &[&id])
        .await
        .map_err(classify)?;
    match row {
        Some(row) => Err(StoreError::VersionConflict {
            expected,
            found: to_u64(row.try_get(0).map_err(StoreError::backend)?),
        }),
        None => Err(StoreError::NotFound),
    }
}

#[async_trait::async_trait]
impl CartStore for PostgresStore {
    async fn ping(&self) -> Result<()> {
        self.query("SELECT 1", &[]).await.map(drop)
    }

    async fn create_cart(&self, token_hash: &TokenHash, now: u64) -> Result<CartRecord> {
        let cart = Cart {
            updated_at: now,
            ..Cart::default()
        };
        let snapshot = json(&cart)?;
        let sql = format!(
            "WITH c AS (
                INSERT INTO carts (version, snapshot, quotes, base_version, base, created_at, updated_at)
                VALUES (0, $1, '[]', 0, $1, $2, $2) RETURNING *
            ), t AS (
                INSERT INTO cart_tokens (hash, cart_id, created_at) SELECT $3, id, $2 FROM c
            )
            SELECT {CART_COLUMNS} FROM c"
        );
        let rows = self.query(&sql, &[&snapshot, &to_i64(now), &&token_hash[..]]).await?;
        rows.first().map(cart_record).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn load_by_token(&self, token_hash: &TokenHash) -> Result<CartRecord> {
        self.cart_where(
            "cart_tokens t JOIN carts c ON c.id = t.cart_id WHERE t.hash = $1",
            &&token_hash[..],
        )
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn load(&self, id: CartId) -> Result<CartRecord> {
        self.cart_where("carts c WHERE c.id = $1", &id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn head(&self, token_hash: &TokenHash) -> Result<CartHead> {
        let rows = self
            .query(
                "SELECT c.id, c.version, c.state FROM cart_tokens t JOIN carts c ON c.id = t.cart_id WHERE t.hash = $1",
                &[&&token_hash[..]],
            )
            .await?;
        let row = rows.first().ok_or(StoreError::NotFound)?;
        let state: &str = row.try_get(2).map_err(StoreError::backend)?;
        Ok(CartHead {
            id: row.try_get(0).map_err(StoreError::backend)?,
            version: to_u64(row.try_get(1).map_err(StoreError::backend)?),
            merged: state == "merged",
        })
    }

    async fn find_account_cart(&self, owner: &str) -> Result<Option<CartRecord>> {
        self.cart_where("carts c WHERE c.owner = $1 AND c.state = 'open'", &owner)
            .await
    }

    async fn idempotency_records(
        &self,
        cart: CartId,
        ids: &[MutationId],
    ) -> Result<BTreeMap<MutationId, IdempotencyRecord>> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|m| m.0).collect();
        let rows = self
            .query(
                "SELECT mutation_id, record FROM idempotency WHERE cart_id = $1 AND mutation_id = ANY($2)",
                &[&cart, &ids],
            )
            .await?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let id: uuid::Uuid = row.try_get(0).map_err(StoreError::backend)?;
            let record: &str = row.try_get(1).map_err(StoreError::backend)?;
            out.insert(MutationId(id), parse(record)?);
        }
        Ok(out)
    }

    async fn commit_batch(&self, commit: BatchCommit<'_>) -> Result<Revision> {
        let expected = commit.expected_version;
        match BatchRow::new(commit)? {
            Some(row) => row.commit(self.pool.clone()).await,
            None => Err(StoreError::VersionConflict {
                expected,
                found: expected,
            }),
        }
    }

    async fn events(&self, cart: CartId, after: u64, limit: usize) -> Result<Vec<EventRow>> {
        let rows = self
            .query(
                "SELECT version, kind, mutation_id, body, at FROM events
                 WHERE cart_id = $1 AND version > $2 ORDER BY version LIMIT $3",
                &[&cart, &to_i64(after), &to_i64(limit as u64)],
            )
            .await?;
        rows.iter().map(event_row).collect()
    }

    async fn commit_merge(&self, m: &MergeCommit) -> Result<CartId> {
        writes::commit_merge(self, m).await
    }

    async fn reattach(&self, anonymous: CartId, token_hash: &TokenHash, now: u64) -> Result<(CartRecord, MergeReport)> {
        // One statement: the token goes in only if the cart was merged.
        let sql = format!(
            "WITH m AS (
                SELECT merged_into, merge_report FROM carts WHERE id = $1 AND state = 'merged'
            ), t AS (
                INSERT INTO cart_tokens (hash, cart_id, created_at) SELECT $2, merged_into, $3 FROM m
            )
            SELECT {CART_COLUMNS}, m.merge_report FROM m JOIN carts c ON c.id = m.merged_into"
        );
        let rows = self.query(&sql, &[&anonymous, &&token_hash[..], &to_i64(now)]).await?;
        let row = rows.first().ok_or(StoreError::NotFound)?;
        let report: Option<&str> = row.try_get(8).map_err(StoreError::backend)?;
        // Carts merged before the report was kept get an empty one.
        let report = match report {
            Some(text) => serde_json::from_str(text).map_err(StoreError::backend)?,
            None => MergeReport::default(),
        };
        Ok((cart_record(row)?, report))
    }

    async fn order_for_key(&self, cart: CartId, key: &str) -> Result<Option<Order>> {
        orders::order_for_key(self, cart, key).await
    }

    async fn order(&self, id: &str) -> Result<Option<StoredOrder>> {
        orders::order(self, id).await
    }

    async fn commit_order(&self, commit: OrderCommit<'_>) -> Result<OrderCommitted> {
        orders::commit_order(self, &commit).await
    }

    async fn put_payment_intent(&self, intent: NewIntent<'_>) -> Result<PaymentIntent> {
        orders::put_intent(self, &intent).await
    }

    async fn apply_payment_event(&self, event: &PaymentEvent) -> Result<EventApplied> {
        orders::apply_event(self, event).await
    }

    async fn expire_holds(&self, now: u64, limit: usize) -> Result<Vec<String>> {
        orders::expire_holds(self, now, limit).await
    }

    async fn stock(&self, sku: &cartsync_core::Sku) -> Result<Option<u32>> {
        let rows = self
            .query("SELECT stock FROM inventory WHERE sku = $1", &[&sku.as_str()])
            .await?;
        match rows.first() {
            Some(r) => Ok(Some(
                u32::try_from(r.try_get::<_, i32>(0).map_err(StoreError::backend)?).unwrap_or(0),
            )),
            None => Ok(None),
        }
    }

    async fn set_stock(&self, sku: &cartsync_core::Sku, stock: u32) -> Result<()> {
        self.execute(
            "INSERT INTO inventory (sku, stock) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock",
            &[&sku.as_str(), &i32::try_from(stock).unwrap_or(i32::MAX)],
        )
        .await
        .map(drop)
    }

    async fn expire_anonymous_carts(&self, cutoff: u64) -> Result<usize> {
        // Tokens, events and idempotency records go with the cart (ON
        // DELETE CASCADE). Closed carts stay: orders refer to them.
        let n = self
            .execute(
                "DELETE FROM carts WHERE owner IS NULL AND state IN ('open', 'merged') AND updated_at < $1",
                &[&to_i64(cutoff)],
            )
            .await?;
        Ok(n as usize)
    }

    async fn expire_idempotency_records(&self, cutoff: u64) -> Result<usize> {
        let n = self
            .execute("DELETE FROM idempotency WHERE created_at < $1", &[&to_i64(cutoff)])
            .await?;
        Ok(n as usize)
    }

    async fn carts_updated_since(
        &self,
        since: u64,
        after: Option<(u64, CartId)>,
        limit: usize,
    ) -> Result<Vec<(u64, CartId)>> {
        let (at, id) = after.map_or((to_i64(since), 0), |(at, id)| (to_i64(at), id));
        let rows = self
            .query(
                "SELECT updated_at, id FROM carts WHERE updated_at >= $1 AND (updated_at, id) > ($2, $3)
                 ORDER BY updated_at, id LIMIT $4",
                &[&to_i64(since), &at, &id, &to_i64(limit as u64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    to_u64(r.try_get(0).map_err(StoreError::backend)?),
                    r.try_get(1).map_err(StoreError::backend)?,
                ))
            })
            .collect()
    }

    async fn replay_source(&self, cart: CartId) -> Result<ReplaySource> {
        writes::replay_source(self, cart).await
    }

    async fn repair_snapshot(&self, cart: CartId, expected_version: u64, replayed: &Cart) -> Result<()> {
        let snapshot = json(replayed)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(classify)?;
        let changed = tx
            .execute(
                "UPDATE carts SET version = $1, snapshot = $2, revision = revision + 1 WHERE id = $3 AND version = $4",
                &[&to_i64(replayed.version), &snapshot, &cart, &to_i64(expected_version)],
            )
            .await
            .map_err(classify)?;
        one_row_or_conflict(&tx, changed, cart, expected_version).await?;
        tx.commit().await.map_err(classify)
    }

    async fn recovery_lock(&self) -> Result<Option<PassGuard>> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&RECOVERY_LOCK])
            .await
            .map_err(classify)?;
        let held: bool = row.try_get(0).map_err(StoreError::backend)?;
        if !held {
            return Ok(None);
        }
        // The lock belongs to this connection's session: the guard keeps
        // the connection out of the pool and closes it when dropped, which
        // releases the lock (as does this process dying).
        Ok(Some(PassGuard::new(SessionLock(Some(client)))))
    }
}

/// A connection holding a session-level advisory lock.
struct SessionLock(Option<Object>);

impl Drop for SessionLock {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            // Detached from the pool and dropped: the connection closes.
            drop(Object::take(client));
        }
    }
}
