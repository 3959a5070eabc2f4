//! [`CartStore`] on embedded SQLite: WAL, `synchronous=FULL`, migrations
//! owned here (`migrations/sqlite/`). One writer thread owns the write
//! connection and group-commits whatever is queued (see `writer.rs`); a
//! small pool of read connections runs concurrently with it, each read on
//! the blocking pool. The async methods only hand work to those threads.

mod batch;
mod orders;
mod rows;
pub(crate) mod schema;
mod writer;

use super::{
    BatchCommit, CartHead, CartId, CartRecord, CartStore, EventApplied, EventRow, MergeCommit, NewIntent, OrderCommit,
    OrderCommitted, PassGuard, PaymentEvent, ReplaySource, Revision, StoreError, StoredOrder, TokenHash,
};
use batch::BatchJob;
use cartsync_core::protocol::v1::{Order, PaymentIntent};
use cartsync_core::{AppliedEvent, Cart, IdempotencyRecord, MergeReport, MutationId};
use rows::*;
use rusqlite::{params, Connection, OptionalExtension};
use schema::{migrate, open_connection};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use writer::Writer;

/// Idle read connections kept for reuse. Each keeps its own statement
/// cache, so a connection opened per request (the pool used to hold 8 while
/// 32 clients read at once) also pays for preparing every statement again.
const MAX_IDLE_READERS: usize = 64;

/// The SQLite backend. Cheap to share behind an `Arc`; dropping the last
/// handle stops the writer thread.
pub struct SqliteStore {
    inner: Arc<Inner>,
    /// One recovery pass at a time in this process (other processes on the
    /// same file may run theirs: every repair is conditional).
    pass: Arc<tokio::sync::Mutex<()>>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
}

type Result<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        backend(e)
    }
}

fn is_constraint(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        e.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Idle read connections hold no transaction, so a poisoned pool is safe
    // to reuse.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path, true)?;
        migrate(&mut writer)?;
        writer_pragmas(&writer)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Writer::start(writer).map_err(backend)?,
                readers: Mutex::new(Vec::new()),
            }),
            pass: Arc::default(),
        })
    }

    /// Parses `sqlite://path`, `sqlite:path` or a plain path.
    pub fn path_from_url(url: &str) -> PathBuf {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        PathBuf::from(rest)
    }

    /// Runs `f` in one read transaction on the blocking pool.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.read(f))
            .await
            .map_err(backend)?
    }

    /// Runs `f` in the writer's next group commit (see `writer.rs`); resolves
    /// once the group's COMMIT returned.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.inner.writer.write_async(f).await
    }
}

impl Inner {
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path, false)?,
        };
        // One read transaction, so the statements of `f` see one snapshot.
        // BEGIN and COMMIT as cached statements: rusqlite's `Transaction`
        // parses them anew every time.
        conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
        let out = f(&conn);
        conn.prepare_cached("COMMIT")?.execute([])?;
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// The writer commits every batch, so its page cache and checkpoints are
/// on every request's path. A group of 32 mutations rewrites ~70 pages, most
/// of them the same few (the cart rows, the index tails) again and again:
/// checkpointing every 1,000 WAL frames (SQLite's default) copied those to
/// the database file over and over (~6 % of server CPU at 32 clients);
/// every 8,000 frames (a WAL of ~32 MB) copies each once per much longer
/// stretch. A checkpoint only moves committed pages from the WAL to the
/// database file: durability does not depend on it.
fn writer_pragmas(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
    conn.pragma_update(None, "cache_size", -65_536)?; // KiB: 64 MiB
    Ok(())
}

#[async_trait::async_trait]
impl CartStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.read(|tx| Ok(tx.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(drop)?))
            .await
    }

    async fn create_cart(&self, token_hash: &TokenHash, now: u64) -> Result<CartRecord> {
        let token_hash = *token_hash;
        self.write(move |tx| {
            let cart = Cart {
                updated_at: now,
                ..Cart::default()
            };
            let id = insert_cart(tx, &cart, &[], now)?;
            insert_token(tx, &token_hash, id, now)?;
            load_in(tx, id)
        })
        .await
    }

    async fn load_by_token(&self, token_hash: &TokenHash) -> Result<CartRecord> {
        let token_hash = *token_hash;
        self.read(move |tx| {
            let id: Option<i64> = tx
                .prepare_cached("SELECT cart_id FROM cart_tokens WHERE hash = ?1")?
                .query_row([&token_hash[..]], |r| r.get(0))
                .optional()?;
            load_in(tx, id.ok_or(StoreError::NotFound)?)
        })
        .await
    }

    async fn load(&self, id: CartId) -> Result<CartRecord> {
        self.read(move |tx| load_in(tx, id)).await
    }

    async fn head(&self, token_hash: &TokenHash) -> Result<CartHead> {
        let token_hash = *token_hash;
        self.read(move |tx| {
            let row: Option<(i64, i64, String)> = tx
                .prepare_cached(
                    "SELECT c.id, c.version, c.state FROM cart_tokens t JOIN carts c ON c.id = t.cart_id
                     WHERE t.hash = ?1",
                )?
                .query_row([&token_hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let (id, version, state) = row.ok_or(StoreError::NotFound)?;
            Ok(CartHead {
                id,
                version: to_u64(version),
                merged: state == "merged",
            })
        })
        .await
    }

    async fn find_account_cart(&self, owner: &str) -> Result<Option<CartRecord>> {
        let owner = owner.to_string();
        self.read(move |tx| {
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM carts WHERE owner = ?1 AND state = 'open'",
                    [owner],
                    |r| r.get(0),
                )
                .optional()?;
            id.map(|id| load_in(tx, id)).transpose()
        })
        .await
    }

    async fn idempotency_records(
        &self,
        cart: CartId,
        ids: &[MutationId],
    ) -> Result<BTreeMap<MutationId, IdempotencyRecord>> {
        let ids = ids.to_vec();
        self.read(move |tx| {
            let mut stmt =
                tx.prepare_cached("SELECT record FROM idempotency WHERE cart_id = ?1 AND mutation_id = ?2")?;
            let mut out = BTreeMap::new();
            for id in ids {
                let record: Option<String> = stmt.query_row(params![cart, id.to_string()], |r| r.get(0)).optional()?;
                if let Some(record) = record {
                    out.insert(id, serde_json::from_str(&record)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn commit_batch(&self, commit: BatchCommit<'_>) -> Result<Revision> {
        // Serialised here, on the caller's thread: the writer thread is the
        // one thing every commit waits for, so it only runs SQL.
        let (job, written) = BatchJob::new(commit)?;
        self.write(move |tx| job.run(tx)).await?;
        Ok(written)
    }

    async fn events(&self, cart: CartId, after: u64, limit: usize) -> Result<Vec<EventRow>> {
        self.read(move |tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT version, kind, mutation_id, body, at FROM events
                 WHERE cart_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![cart, to_i64(after), to_i64(limit as u64)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (v, k, m, b, a) = row?;
                out.push(parse_event(v, k, m, b, a)?);
            }
            Ok(out)
        })
        .await
    }

    async fn commit_merge(&self, m: &MergeCommit) -> Result<CartId> {
        let m = m.clone();
        self.write(move |tx| merge_in(tx, &m)).await
    }

    async fn reattach(&self, anonymous: CartId, token_hash: &TokenHash, now: u64) -> Result<(CartRecord, MergeReport)> {
        let token_hash = *token_hash;
        self.write(move |tx| reattach_in(tx, anonymous, &token_hash, now)).await
    }

    async fn order_for_key(&self, cart: CartId, key: &str) -> Result<Option<Order>> {
        let key = key.to_string();
        self.read(move |tx| orders::order_for_key(tx, cart, &key)).await
    }

    async fn order(&self, id: &str) -> Result<Option<StoredOrder>> {
        let id = id.to_string();
        self.read(move |tx| orders::order(tx, &id)).await
    }

    async fn commit_order(&self, commit: OrderCommit<'_>) -> Result<OrderCommitted> {
        let (order, key, holds) = (commit.order.clone(), commit.key.to_string(), commit.holds.to_vec());
        let (cart, expected_version) = (commit.cart, commit.expected_version);
        self.write(move |tx| {
            let commit = OrderCommit {
                cart,
                expected_version,
                key: &key,
                order: &order,
                holds: &holds,
            };
            orders::commit_order(tx, &commit)
        })
        .await
    }

    async fn put_payment_intent(&self, n: NewIntent<'_>) -> Result<PaymentIntent> {
        let (provider, key, order_id) = (
            n.provider.to_string(),
            n.idempotency_key.to_string(),
            n.order_id.to_string(),
        );
        let (intent, reference) = (n.intent.clone(), n.reference.map(str::to_string));
        self.write(move |tx| {
            let n = NewIntent {
                provider: &provider,
                idempotency_key: &key,
                order_id: &order_id,
                intent: &intent,
                reference: reference.as_deref(),
            };
            orders::put_intent(tx, &n)
        })
        .await
    }

    async fn apply_payment_event(&self, event: &PaymentEvent) -> Result<EventApplied> {
        let event = event.clone();
        self.write(move |tx| orders::apply_event(tx, &event)).await
    }

    async fn expire_holds(&self, now: u64, limit: usize) -> Result<Vec<String>> {
        self.write(move |tx| orders::expire_holds(tx, now, limit)).await
    }

    async fn stock(&self, sku: &cartsync_core::Sku) -> Result<Option<u32>> {
        let sku = sku.clone();
        self.read(move |tx| {
            let stock: Option<i64> = tx
                .query_row("SELECT stock FROM inventory WHERE sku = ?1", [sku.as_str()], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(stock.map(|s| u32::try_from(s).unwrap_or(0)))
        })
        .await
    }

    async fn set_stock(&self, sku: &cartsync_core::Sku, stock: u32) -> Result<()> {
        let sku = sku.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO inventory (sku, stock) VALUES (?1, ?2) ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock",
                params![sku.as_str(), stock],
            )?;
            Ok(())
        })
        .await
    }

    async fn expire_anonymous_carts(&self, cutoff: u64) -> Result<usize> {
        self.write(move |tx| {
            // Tokens, events and idempotency records go with the cart
            // (ON DELETE CASCADE). Closed carts stay: orders refer to them.
            Ok(tx.execute(
                "DELETE FROM carts WHERE owner IS NULL AND state IN ('open', 'merged') AND updated_at < ?1",
                [to_i64(cutoff)],
            )?)
        })
        .await
    }

    async fn expire_idempotency_records(&self, cutoff: u64) -> Result<usize> {
        self.write(move |tx| Ok(tx.execute("DELETE FROM idempotency WHERE created_at < ?1", [to_i64(cutoff)])?))
            .await
    }

    async fn carts_updated_since(
        &self,
        since: u64,
        after: Option<(u64, CartId)>,
        limit: usize,
    ) -> Result<Vec<(u64, CartId)>> {
        self.read(move |tx| {
            let (at, id) = after.map_or((to_i64(since), 0), |(at, id)| (to_i64(at), id));
            let mut stmt = tx.prepare_cached(
                "SELECT updated_at, id FROM carts WHERE updated_at >= ?1 AND (updated_at, id) > (?2, ?3)
                 ORDER BY updated_at, id LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![to_i64(since), at, id, to_i64(limit as u64)], |r| {
                Ok((to_u64(r.get(0)?), r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn replay_source(&self, cart: CartId) -> Result<ReplaySource> {
        self.read(move |tx| {
            let row: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT base_version, base, snapshot FROM carts WHERE id = ?1",
                    [cart],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (base_version, base, snapshot) = row.ok_or(StoreError::NotFound)?;
            let mut stmt = tx.prepare_cached(
                "SELECT version, mutation_id, body, at FROM events
                 WHERE cart_id = ?1 AND version > ?2 AND kind = 'mutation' ORDER BY version",
            )?;
            let rows = stmt.query_map(params![cart, base_version], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut events = Vec::new();
            for row in rows {
                let (version, id, body, at) = row?;
                let id = id.ok_or(StoreError::NotFound)?;
                events.push(AppliedEvent {
                    version: to_u64(version),
                    mutation_id: MutationId(id.parse().map_err(backend)?),
                    command: serde_json::from_str(&body)?,
                    at: to_u64(at),
                });
            }
            Ok(ReplaySource {
                base: serde_json::from_str(&base)?,
                events,
                snapshot: serde_json::from_str(&snapshot)?,
            })
        })
        .await
    }

    async fn repair_snapshot(&self, cart: CartId, expected_version: u64, replayed: &Cart) -> Result<()> {
        let replayed = replayed.clone();
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE carts SET version = ?1, snapshot = ?2 WHERE id = ?3 AND version = ?4",
                params![
                    to_i64(replayed.version),
                    serde_json::to_string(&replayed)?,
                    cart,
                    to_i64(expected_version)
                ],
            )?;
            one_row_or_conflict(tx, changed, cart, expected_version)?;
            Ok(())
        })
        .await
    }

    async fn recovery_lock(&self) -> Result<Option<PassGuard>> {
        Ok(self.pass.clone().try_lock_owned().ok().map(PassGuard::new))
    }
}
