//! [`Inventory`] in the PostgreSQL cart database: every instance sees the
//! same stock. Orders hold stock in the store's own transaction
//! (`store/postgres/orders.rs`); this reads levels and sets stock (admin).

use super::{Inventory, InventoryError};
use crate::store::StoreError;
use cartsync_core::protocol::v1::Product;
use cartsync_core::Sku;
use deadpool_postgres::Pool;
use std::collections::BTreeMap;

pub struct PostgresInventory {
    pool: Pool,
}

fn err(e: impl Into<StoreError>) -> InventoryError {
    match e.into() {
        StoreError::Unavailable { source } => InventoryError::Unavailable(source.to_string()),
        other => InventoryError::Failed(other.to_string()),
    }
}

fn pg(e: tokio_postgres::Error) -> InventoryError {
    err(crate::store::postgres::classify(e))
}

impl PostgresInventory {
    /// The inventory on the store's database (already migrated), seeding
    /// the stock of SKUs it does not track yet from `products`.
    pub async fn open(pool: Pool, products: &[Product]) -> Result<Self, InventoryError> {
        let inv = PostgresInventory { pool };
        let skus: Vec<&str> = products.iter().map(|p| p.sku.as_str()).collect();
        let stock: Vec<i32> = products
            .iter()
            .map(|p| i32::try_from(p.stock).unwrap_or(i32::MAX))
            .collect();
        let client = inv.client().await?;
        client
            .execute(
                "INSERT INTO inventory (sku, stock) SELECT * FROM unnest($1::TEXT[], $2::INT[])
                 ON CONFLICT (sku) DO NOTHING",
                &[&skus, &stock],
            )
            .await
            .map_err(pg)?;
        Ok(inv)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, InventoryError> {
        self.pool
            .get()
            .await
            .map_err(|e| err(crate::store::postgres::classify_pool(e)))
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait::async_trait]
impl Inventory for PostgresInventory {
    async fn levels(&self) -> Result<BTreeMap<Sku, u32>, InventoryError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT sku, stock FROM inventory", &[])
            .await
            .map_err(pg)?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let sku: String = r.try_get(0).map_err(pg)?;
            let stock: i32 = r.try_get(1).map_err(pg)?;
            out.insert(Sku(sku), u32::try_from(stock).unwrap_or(0));
        }
        Ok(out)
    }

    async fn set_stock(&self, sku: &Sku, stock: u32) -> Result<(), InventoryError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO inventory (sku, stock) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock",
                &[&sku.as_str(), &count(stock)],
            )
            .await
            .map(drop)
            .map_err(pg)
    }
}
