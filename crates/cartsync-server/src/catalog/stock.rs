//! [`Inventory`] in the cart database's `inventory` table: every server
//! process on the database sees the same stock, and stock survives
//! restarts. Orders hold stock in the store's own transaction
//! (`store/sqlite/orders.rs`); this reads levels and sets stock (admin),
//! on its own connection (used on the blocking pool) rather than queueing
//! behind the store's writer.

use super::{Inventory, InventoryError};
use crate::store::sqlite::schema::open_connection;
use cartsync_core::protocol::v1::Product;
use cartsync_core::Sku;
use rusqlite::{params, Connection, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Stock levels in SQLite. The database must already be migrated (open the
/// [`crate::store::SqliteStore`] first).
pub struct SqliteInventory {
    conn: Arc<Mutex<Connection>>,
}

fn err(e: impl std::fmt::Display) -> InventoryError {
    InventoryError::Failed(e.to_string())
}

impl SqliteInventory {
    /// Opens the inventory and seeds the stock of SKUs it does not track
    /// yet from `products` (known SKUs keep their stored stock).
    pub fn open(path: &Path, products: &[Product]) -> Result<Self, InventoryError> {
        let mut conn = open_connection(path, false).map_err(err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        for p in products {
            tx.execute(
                "INSERT OR IGNORE INTO inventory (sku, stock) VALUES (?1, ?2)",
                params![p.sku.0, p.stock],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(SqliteInventory {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection, on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, InventoryError> + Send + 'static,
    ) -> Result<T, InventoryError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&conn)))
            .await
            .map_err(err)?
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic cannot leave a transaction open (rusqlite rolls back on
    // drop), so a poisoned connection is safe to reuse.
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait::async_trait]
impl Inventory for SqliteInventory {
    async fn levels(&self) -> Result<BTreeMap<Sku, u32>, InventoryError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached("SELECT sku, stock FROM inventory").map_err(err)?;
            let rows = stmt.query_map([], |r| Ok((Sku(r.get(0)?), r.get(1)?))).map_err(err)?;
            rows.collect::<rusqlite::Result<_>>().map_err(err)
        })
        .await
    }

    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), InventoryError> {
        let sku = sku.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO inventory (sku, stock) VALUES (?1, ?2)
                 ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock",
                params![sku.0, stock],
            )
            .map(drop)
            .map_err(err)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{DemoCatalog, Pricing};
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn stock_is_shared_and_durable_and_seeded_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.db");
        let _store = SqliteStore::open(&path).unwrap();
        let products = DemoCatalog::bundled().unwrap().products();
        let a = SqliteInventory::open(&path, &products).unwrap();
        let b = SqliteInventory::open(&path, &products).unwrap();
        let vase = Sku::new("last-one-vase");
        assert_eq!(a.levels().await.unwrap()[&vase], 1);
        a.set_stock(&vase, 0).await.unwrap();
        assert_eq!(b.levels().await.unwrap()[&vase], 0);
        // Reopening (a restart) does not reseed known SKUs.
        drop(a);
        let c = SqliteInventory::open(&path, &products).unwrap();
        assert_eq!(c.levels().await.unwrap()[&vase], 0);
        b.set_stock(&vase, 7).await.unwrap();
        assert_eq!(c.levels().await.unwrap()[&vase], 7);
    }
}
